"""A CloudTrail trail was stopped, deleted or changed so that it records less."""

from detection_helpers import cloudtrail_actor, cloudtrail_context, cloudtrail_succeeded

ALWAYS_TAMPERING = {"StopLogging", "DeleteTrail"}


def _weakens_update(event):
    """UpdateTrail that turns off log file validation or multi-region coverage."""
    params = event.get("requestParameters") or {}
    return (
        params.get("enableLogFileValidation") is False
        or params.get("isMultiRegionTrail") is False
    )


def _drops_management_events(event):
    """PutEventSelectors leaving no selector that records management events."""
    selectors = event.deep_get("requestParameters", "eventSelectors")
    if not selectors:
        return False  # advanced selectors only: too varied to judge here
    return not any(s.get("includeManagementEvents", True) for s in selectors)


def rule(event):
    if event.get(
        "eventSource"
    ) != "cloudtrail.amazonaws.com" or not cloudtrail_succeeded(event):
        return False
    name = event.get("eventName")
    if name in ALWAYS_TAMPERING:
        return True
    if name == "UpdateTrail":
        return _weakens_update(event)
    if name == "PutEventSelectors":
        return _drops_management_events(event)
    return False


def _trail(event):
    trail = event.deep_get("requestParameters", "name") or event.deep_get(
        "requestParameters", "trailName"
    )
    return str(trail or "<unknown trail>").rsplit("/", 1)[-1]


def title(event):
    return f"CloudTrail trail [{_trail(event)}] weakened by [{cloudtrail_actor(event)}] ({event.get('eventName')})"


def severity(event):
    return "CRITICAL" if event.get("eventName") in ALWAYS_TAMPERING else "HIGH"


def dedup(event):
    return f"{event.get('recipientAccountId', '')}:{_trail(event)}"


def alert_context(event):
    context = cloudtrail_context(event)
    context["trail"] = _trail(event)
    return context
