"""A security group rule now accepts traffic from the whole internet on a non-web port."""

from detection_helpers import (
    as_list,
    cloudtrail_actor,
    cloudtrail_context,
    cloudtrail_succeeded,
)

ANYWHERE = {"0.0.0.0/0", "::/0"}
WEB_PORTS = {80, 443}
REMOTE_ADMIN_PORTS = {22, 3389}


def _open_permissions(event):
    """(protocol, from_port, to_port) of every added permission that is open to the internet."""
    found = []
    for perm in as_list(event.deep_get("requestParameters", "ipPermissions", "items")):
        cidrs = [r.get("cidrIp") for r in as_list(perm.deep_get("ipRanges", "items"))]
        cidrs += [
            r.get("cidrIpv6") for r in as_list(perm.deep_get("ipv6Ranges", "items"))
        ]
        if ANYWHERE.intersection(cidrs):
            found.append(
                (str(perm.get("ipProtocol")), perm.get("fromPort"), perm.get("toPort"))
            )
    return found


def _is_web_only(protocol, from_port, to_port):
    return protocol == "tcp" and from_port == to_port and from_port in WEB_PORTS


def _risky(event):
    return [p for p in _open_permissions(event) if not _is_web_only(*p)]


def _describe(protocol, from_port, to_port):
    if protocol == "-1":
        return "all traffic"
    return (
        f"{protocol}/{from_port}"
        if from_port == to_port
        else f"{protocol}/{from_port}-{to_port}"
    )


def rule(event):
    if event.get(
        "eventName"
    ) != "AuthorizeSecurityGroupIngress" or not cloudtrail_succeeded(event):
        return False
    return bool(_risky(event))


def _group(event):
    params = event.get("requestParameters") or {}
    return params.get("groupId") or params.get("groupName") or "<unknown group>"


def title(event):
    ports = ", ".join(_describe(*p) for p in _risky(event))
    return f"Security group [{_group(event)}] opened [{ports}] to the internet by [{cloudtrail_actor(event)}]"


def severity(event):
    for protocol, from_port, to_port in _risky(event):
        if protocol == "-1" or from_port is None:
            return "CRITICAL"
        if any(from_port <= port <= to_port for port in REMOTE_ADMIN_PORTS):
            return "CRITICAL"
    return "HIGH"


def dedup(event):
    return f"{event.get('recipientAccountId', '')}:{_group(event)}"


def alert_context(event):
    context = cloudtrail_context(event)
    context["group"] = _group(event)
    context["open_ports"] = [_describe(*p) for p in _risky(event)]
    return context
