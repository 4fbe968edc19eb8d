"""A bucket policy was written that lets anyone (Principal "*") access the bucket.

Buckets that are meant to be public (static web sites, public downloads) are
listed in ``PUBLIC_BUCKETS``; ``is_allowlisted_bucket`` is a separate function so
tests can mock it.
"""

from detection_helpers import (
    cloudtrail_actor,
    cloudtrail_context,
    cloudtrail_succeeded,
    public_statements,
)

PUBLIC_BUCKETS = {"acme-public-website", "acme-release-downloads"}


def is_allowlisted_bucket(bucket):
    return bucket.lower() in PUBLIC_BUCKETS


def _bucket(event):
    return event.deep_get("requestParameters", "bucketName", default="<unknown bucket>")


def _public_statements(event):
    return public_statements(event.deep_get("requestParameters", "bucketPolicy"))


def rule(event):
    if (
        event.get("eventSource") != "s3.amazonaws.com"
        or event.get("eventName") != "PutBucketPolicy"
    ):
        return False
    if not cloudtrail_succeeded(event) or is_allowlisted_bucket(_bucket(event)):
        return False
    return bool(_public_statements(event))


def title(event):
    return f"S3 bucket [{_bucket(event)}] made readable or writable by anyone by [{cloudtrail_actor(event)}]"


def dedup(event):
    return _bucket(event)


def alert_context(event):
    context = cloudtrail_context(event)
    context["bucket"] = _bucket(event)
    context["public_actions"] = sorted(
        {
            str(action)
            for s in _public_statements(event)
            for action in _actions(s.get("Action"))
        }
    )
    return context


def _actions(action):
    if action is None:
        return []
    return [action] if isinstance(action, str) else list(action)
