"""An Okta administrator role was granted to a user or a group."""

from detection_helpers import dig, okta_context, okta_targets

GRANT_EVENTS = {"user.account.privilege.grant", "group.privilege.grant"}
TOP_ROLES = {"super administrator", "organization administrator"}


def _roles(event):
    granted = event.deep_get(
        "debugContext", "debugData", "privilegeGranted", default=""
    )
    return [role.strip() for role in str(granted).split(",") if role.strip()]


def _grantee(event):
    for target in okta_targets(event):
        if target.get("type") in ("User", "UserGroup"):
            return str(target.get("alternateId") or target.get("displayName"))
    return "<unknown>"


def rule(event):
    return (
        event.get("eventType") in GRANT_EVENTS
        and dig(event, "outcome", "result") == "SUCCESS"
    )


def title(event):
    actor = event.deep_get("actor", "alternateId", default="<unknown>")
    return f"Okta role(s) [{', '.join(_roles(event)) or 'unknown'}] granted to [{_grantee(event)}] by [{actor}]"


def severity(event):
    if any(role.lower() in TOP_ROLES for role in _roles(event)):
        return "CRITICAL"
    if event.get("eventType") == "group.privilege.grant":
        return "HIGH"  # every current and future member gets the role
    return "MEDIUM"


def dedup(event):
    return _grantee(event)


def alert_context(event):
    context = okta_context(event)
    context["roles_granted"] = _roles(event)
    context["grantee"] = _grantee(event)
    return context
