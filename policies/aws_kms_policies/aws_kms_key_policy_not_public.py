"""Customer-managed KMS key policies must not allow use by anyone.

The key policy arrives as a JSON string in ``Policy``; it is parsed here and every
statement is checked with ``detection_helpers.public_statements``. AWS-managed keys
are out of scope (their policies cannot be edited).
"""

import json

from detection_helpers import public_statements


def _parsed_policy(resource):
    try:
        return json.loads(resource.get("Policy") or "{}")
    except (TypeError, ValueError):
        return {}


def _public_sids(resource):
    return [
        str(s.get("Sid", "<no Sid>"))
        for s in public_statements(_parsed_policy(resource))
    ]


def policy(resource):
    if resource.get("KeyManager") != "CUSTOMER":
        return True
    return not _public_sids(resource)


def title(resource):
    return f"KMS key [{resource.get('KeyId', '<unknown>')}] has a key policy open to anyone"


def alert_context(resource):
    return {
        "key_id": resource.get("KeyId", ""),
        "arn": resource.get("Arn", ""),
        "description": resource.get("Description", ""),
        "public_statements": _public_sids(resource),
    }
