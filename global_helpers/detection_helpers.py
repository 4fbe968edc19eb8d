"""Helpers shared by this repository's detections (GlobalID ``detection_helpers``).

Detections use them with ``import detection_helpers`` or
``from detection_helpers import cloudtrail_actor``.  Every function accepts a
``PantherEvent`` as well as any plain ``Mapping`` (policies receive plain dicts,
and the helper's own unit tests pass dicts too).
"""

from collections.abc import Mapping, Sequence

UNKNOWN = "<unknown>"


def dig(obj, *keys, default=None):
    """Follow ``keys`` through nested mappings.

    Returns ``default`` when a key is missing, a value on the way is not a
    mapping, or the final value is None.
    """
    for key in keys:
        if not isinstance(obj, Mapping):
            return default
        obj = obj.get(key)
        if obj is None:
            return default
    return obj


def as_list(value):
    """Return ``value`` as a list: None -> [], a mapping or a string -> [value]."""
    if value is None:
        return []
    if isinstance(value, (str, Mapping)) or not isinstance(value, Sequence):
        return [value]
    return list(value)


# ---------------------------------------------------------------- AWS CloudTrail


def cloudtrail_succeeded(event):
    """True when the API call carries neither an errorCode nor an errorMessage."""
    return not event.get("errorCode") and not event.get("errorMessage")


def cloudtrail_actor(event):
    """A short, human readable name for who made a CloudTrail call.

    Root -> ``root``; IAM user -> its user name; assumed role ->
    ``<role name>/<session name>``; AWS service -> the invoking service;
    otherwise the ARN or principal ID.
    """
    identity = event.get("userIdentity") or {}
    identity_type = identity.get("type")
    if identity_type == "Root":
        return "root"
    if identity_type == "IAMUser" and identity.get("userName"):
        return identity.get("userName")
    if identity_type == "AssumedRole":
        role = dig(identity, "sessionContext", "sessionIssuer", "userName", default="")
        session = str(identity.get("arn") or "").rsplit("/", 1)[-1]
        if role:
            return f"{role}/{session}" if session else role
    if identity_type == "AWSService":
        return str(identity.get("invokedBy") or event.get("sourceIPAddress") or UNKNOWN)
    return str(identity.get("arn") or identity.get("principalId") or UNKNOWN)


def cloudtrail_context(event):
    """The alert context every CloudTrail rule in this repository starts from."""
    return {
        "actor": cloudtrail_actor(event),
        "actor_arn": dig(event, "userIdentity", "arn", default=""),
        "account_id": event.get("recipientAccountId", ""),
        "region": event.get("awsRegion", ""),
        "event_source": event.get("eventSource", ""),
        "event_name": event.get("eventName", ""),
        "source_ip": event.get("sourceIPAddress", ""),
        "user_agent": event.get("userAgent", ""),
        "error_code": event.get("errorCode") or "",
    }


# ---------------------------------------------------------------- Okta


def okta_targets(event, target_type=None):
    """The Okta ``target`` entries, optionally only those of ``target_type``."""
    targets = [t for t in as_list(event.get("target")) if isinstance(t, Mapping)]
    if target_type is None:
        return targets
    return [t for t in targets if t.get("type") == target_type]


def okta_context(event):
    """The alert context every Okta rule in this repository starts from."""
    return {
        "event_type": event.get("eventType", ""),
        "actor": dig(event, "actor", "alternateId", default=UNKNOWN),
        "source_ip": dig(event, "client", "ipAddress", default=""),
        "country": dig(event, "client", "geographicalContext", "country", default=""),
        "user_agent": dig(event, "client", "userAgent", "rawUserAgent", default=""),
        "outcome": dig(event, "outcome", "result", default=""),
        "targets": [
            str(t.get("alternateId") or t.get("displayName") or t.get("id"))
            for t in okta_targets(event)
        ],
        "request_id": dig(event, "debugContext", "debugData", "requestId", default=""),
    }


# ---------------------------------------------------------------- GitHub


def github_repo(event):
    """The ``org/repo`` an audit event is about (GitHub uses both field names)."""
    return str(event.get("repo") or event.get("repository") or "")


def github_context(event):
    """The alert context every GitHub rule in this repository starts from."""
    return {
        "action": event.get("action", ""),
        "actor": event.get("actor", UNKNOWN),
        "org": event.get("org", ""),
        "repo": github_repo(event),
        "actor_country": dig(event, "actor_location", "country_code", default=""),
        "user_agent": event.get("user_agent", ""),
    }


# ---------------------------------------------------------------- IAM-style policy documents


def principal_is_anyone(principal):
    """True for ``"*"``, ``{"AWS": "*"}`` or a principal list containing ``"*"``."""
    if isinstance(principal, Mapping):
        return any(principal_is_anyone(value) for value in principal.values())
    return "*" in as_list(principal)


def statement_grants_anyone(statement):
    """True for an ``Allow`` statement open to any principal without a ``Condition``.

    A ``NotPrincipal`` with ``Allow`` is treated as open to anyone as well.
    """
    if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
        return False
    if statement.get("Condition"):
        return False
    if statement.get("NotPrincipal") is not None:
        return True
    return principal_is_anyone(statement.get("Principal"))


def public_statements(policy_document):
    """The statements of a parsed policy document that grant access to anyone."""
    statements = as_list(dig(policy_document, "Statement"))
    return [s for s in statements if statement_grants_anyone(s)]
