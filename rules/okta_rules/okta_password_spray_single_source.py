"""Scheduled rule: one IP failed to sign in to many Okta accounts with few tries each.

Each event is one row of the ``Okta Failed Sign-Ins By Source IP`` scheduled query:
``source_ip``, ``distinct_users``, ``failed_attempts``, ``countries``,
``first_seen``, ``last_seen``. Scheduled rules get no data model.
"""

MIN_DISTINCT_USERS = 5
# a spray tries each account a few times; brute force hammers one account
MAX_ATTEMPTS_PER_USER = 3
LARGE_SPRAY_USERS = 25


def _users(event):
    return int(event.get("distinct_users") or 0)


def _attempts_per_user(event):
    users = _users(event)
    return int(event.get("failed_attempts") or 0) / users if users else 0.0


def rule(event):
    return (
        _users(event) >= MIN_DISTINCT_USERS
        and _attempts_per_user(event) <= MAX_ATTEMPTS_PER_USER
    )


def title(event):
    return (
        f"Possible Okta password spray from [{event.get('source_ip', '<unknown ip>')}]: "
        f"{_users(event)} accounts, {event.get('failed_attempts', 0)} failed sign-ins in one hour"
    )


def severity(event):
    return "HIGH" if _users(event) >= LARGE_SPRAY_USERS else "MEDIUM"


def dedup(event):
    return str(event.get("source_ip", ""))


def alert_context(event):
    return {
        "source_ip": event.get("source_ip", ""),
        "distinct_users": _users(event),
        "failed_attempts": event.get("failed_attempts", 0),
        "attempts_per_user": round(_attempts_per_user(event), 2),
        "countries": list(event.get("countries") or []),
        "first_seen": event.get("first_seen", ""),
        "last_seen": event.get("last_seen", ""),
    }
