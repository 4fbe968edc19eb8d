"""Someone created an access key for a different IAM user (a quiet way to persist)."""

from detection_helpers import cloudtrail_actor, cloudtrail_context, cloudtrail_succeeded


def _target_user(event):
    return event.deep_get("requestParameters", "userName", default="")


def rule(event):
    if (
        event.get("eventSource") != "iam.amazonaws.com"
        or event.get("eventName") != "CreateAccessKey"
    ):
        return False
    if not cloudtrail_succeeded(event):
        return False
    target = _target_user(event)
    if not target:
        return False  # no userName: the caller created a key for itself
    caller = event.deep_get("userIdentity", "userName", default="")
    # IAM user names are case-insensitive and unique regardless of case
    return target.lower() != caller.lower()


def title(event):
    return f"[{cloudtrail_actor(event)}] created an access key for IAM user [{_target_user(event)}]"


def dedup(event):
    return f"{event.get('recipientAccountId', '')}:{_target_user(event)}"


def alert_context(event):
    context = cloudtrail_context(event)
    context["target_user"] = _target_user(event)
    context["access_key_id"] = event.deep_get(
        "responseElements", "accessKey", "accessKeyId", default=""
    )
    return context
