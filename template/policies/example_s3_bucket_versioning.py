"""Example policy: S3 buckets keep previous versions of their objects.

A policy returns True when the resource is compliant. The resource is the plain dict Panther's
cloud scan produced for the bucket. Replace this example with your own policies.
"""


def policy(resource) -> bool:
    return resource.get("Versioning") == "Enabled"


def title(resource) -> str:
    return f"S3 bucket {resource.get('Name', '<unnamed>')} does not keep object versions"


def alert_context(resource) -> dict:
    return {"bucket": resource.get("Name"), "versioning": resource.get("Versioning")}
