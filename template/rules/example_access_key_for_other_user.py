"""Example rule: an IAM user's access key created by somebody else.

Creating a long-lived access key for another user is a classic way to keep access to an account.
Replace this example with your own detections, or keep it as a starting point.
"""
from team_context import cloudtrail_actor
from team_context import cloudtrail_context


def _target_user(event) -> str:
    return event.deep_get("requestParameters", "userName", default="")


def rule(event) -> bool:
    if event.get("eventSource") != "iam.amazonaws.com" or event.get("eventName") != "CreateAccessKey":
        return False
    if event.get("errorCode"):
        return False
    target = _target_user(event)
    # Without a userName in the request, the caller created a key for itself.
    return bool(target) and not cloudtrail_actor(event).endswith(f":user/{target}")


def title(event) -> str:
    return f"{cloudtrail_actor(event)} created an access key for IAM user {_target_user(event)}"


def dedup(event) -> str:
    return f"{cloudtrail_actor(event)}:{_target_user(event)}"


def alert_context(event) -> dict:
    return {**cloudtrail_context(event), "target_user": _target_user(event)}
