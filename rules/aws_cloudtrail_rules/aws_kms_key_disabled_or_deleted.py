"""A customer KMS key was disabled or scheduled for deletion (data can become unreadable)."""

from detection_helpers import cloudtrail_actor, cloudtrail_context, cloudtrail_succeeded

WATCHED_CALLS = {"DisableKey", "ScheduleKeyDeletion"}
SHORTEST_WINDOW_DAYS = 7


def rule(event):
    return (
        event.get("eventSource") == "kms.amazonaws.com"
        and event.get("eventName") in WATCHED_CALLS
        and cloudtrail_succeeded(event)
    )


def _key(event):
    key = event.deep_get("requestParameters", "keyId", default="<unknown key>")
    return str(key).rsplit("/", 1)[-1]


def _window_days(event):
    return event.deep_get("responseElements", "pendingWindowInDays") or event.deep_get(
        "requestParameters", "pendingWindowInDays"
    )


def title(event):
    if event.get("eventName") == "ScheduleKeyDeletion":
        return f"KMS key [{_key(event)}] scheduled for deletion in {_window_days(event)} days by [{cloudtrail_actor(event)}]"
    return f"KMS key [{_key(event)}] disabled by [{cloudtrail_actor(event)}]"


def severity(event):
    window = _window_days(event)
    if (
        event.get("eventName") == "ScheduleKeyDeletion"
        and window is not None
        and window <= SHORTEST_WINDOW_DAYS
    ):
        return "HIGH"
    return "MEDIUM"


def dedup(event):
    return _key(event)


def alert_context(event):
    context = cloudtrail_context(event)
    context["key_id"] = _key(event)
    context["pending_window_days"] = _window_days(event)
    context["deletion_date"] = event.deep_get(
        "responseElements", "deletionDate", default=""
    )
    return context
