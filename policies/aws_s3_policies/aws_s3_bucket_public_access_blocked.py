"""S3 buckets keep all four Block Public Access settings on, unless approved as public.

A bucket is approved by the tag ``public-access: approved`` (key and value compared
case-insensitively, since teams write tags by hand). Policies receive a plain dict.
"""

from detection_helpers import dig

SETTINGS = (
    "BlockPublicAcls",
    "IgnorePublicAcls",
    "BlockPublicPolicy",
    "RestrictPublicBuckets",
)


def _approved_public(resource):
    tags = resource.get("Tags") or {}
    return any(
        str(key).lower() == "public-access" and str(value).lower() == "approved"
        for key, value in tags.items()
    )


def _missing_settings(resource):
    config = resource.get("PublicAccessBlockConfiguration") or {}
    return [name for name in SETTINGS if config.get(name) is not True]


def policy(resource):
    return _approved_public(resource) or not _missing_settings(resource)


def title(resource):
    return (
        f"S3 bucket [{resource.get('Name', '<unknown>')}] does not block public access"
    )


def alert_context(resource):
    return {
        "bucket": resource.get("Name", ""),
        "account_id": resource.get("AccountId", ""),
        "region": resource.get("Region", ""),
        "settings_off": _missing_settings(resource),
        "owner": dig(resource, "Owner", "DisplayName", default=""),
    }
