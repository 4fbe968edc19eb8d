"""IAM users who sign in to the console must not also hold active access keys.

People get console access; automation gets keys. A user with both has credentials
that outlive MFA checks. Reads the user's credential report; the root user is left
to dedicated root policies.
"""

from detection_helpers import dig


def _report(resource):
    return resource.get("CredentialReport") or {}


def _is_root(resource):
    return str(resource.get("Arn") or resource.get("ARN") or "").endswith(":root")


def _active_keys(resource):
    report = _report(resource)
    return [n for n in (1, 2) if report.get(f"AccessKey{n}Active") is True]


def policy(resource):
    if _is_root(resource):
        return True
    return not (
        _report(resource).get("PasswordEnabled") is True and _active_keys(resource)
    )


def title(resource):
    return f"IAM user [{resource.get('UserName') or resource.get('Name')}] has console access and active access keys"


def alert_context(resource):
    return {
        "user": resource.get("UserName") or resource.get("Name", ""),
        "arn": resource.get("Arn", ""),
        "active_access_keys": _active_keys(resource),
        "mfa_active": dig(resource, "CredentialReport", "MfaActive", default=False),
        "password_last_used": dig(
            resource, "CredentialReport", "PasswordLastUsed", default=""
        ),
    }
