"""Someone signed in with a break-glass (emergency) Okta account.

The accounts come from ``break_glass_accounts()``: a comma-separated string read
from the ``OKTA_BREAK_GLASS_ACCOUNTS`` environment variable, with this
repository's default. Tests mock the function to use other accounts. Uses the
``PytestPanther.Okta.SystemLog`` data model (``event.udm``).
"""

import os

from detection_helpers import okta_context

DEFAULT_ACCOUNTS = "breakglass-1@acme.example,breakglass-2@acme.example"


def break_glass_accounts():
    return os.environ.get("OKTA_BREAK_GLASS_ACCOUNTS", DEFAULT_ACCOUNTS)


def _watched():
    return {
        account.strip().lower()
        for account in break_glass_accounts().split(",")
        if account.strip()
    }


def rule(event):
    if (
        event.get("eventType") != "user.session.start"
        or event.udm("outcome") != "SUCCESS"
    ):
        return False
    # Okta logins are case-insensitive, so compare lower-cased
    return str(event.udm("actor_user", default="")).lower() in _watched()


def title(event):
    return (
        f"Break-glass account [{event.udm('actor_user')}] signed in to Okta "
        f"from [{event.udm('source_ip', default='?')}, {event.udm('source_country', default='?')}]"
    )


def dedup(event):
    return str(event.udm("actor_user", default="")).lower()


def alert_context(event):
    context = okta_context(event)
    context["session_id"] = event.deep_get(
        "authenticationContext", "externalSessionId", default=""
    )
    return context
