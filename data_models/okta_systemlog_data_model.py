"""Methods of the Okta System Log data model (``PytestPanther.Okta.SystemLog``).

Plain-path fields (actor, source IP, country) are mapped with JSONPath in the
YAML; the fields below need a little logic.  Only the standard library is used.
"""

from collections.abc import Mapping


def get_target_user(event):
    """The login of the first ``User`` target, or None when no user is targeted."""
    for target in event.get("target") or []:
        if isinstance(target, Mapping) and target.get("type") == "User":
            return target.get("alternateId") or target.get("displayName")
    return None


def get_outcome(event):
    """The outcome in upper case (``SUCCESS``, ``FAILURE``, ``DENY`` ...), or ``UNKNOWN``."""
    outcome = event.get("outcome") or {}
    return str(outcome.get("result") or "UNKNOWN").upper()
