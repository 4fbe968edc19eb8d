"""Security groups must not accept database traffic from the whole internet."""

from detection_helpers import as_list

ANYWHERE_V4 = "0.0.0.0/0"
ANYWHERE_V6 = "::/0"
# port -> engine, for the alert context
DATABASE_PORTS = {
    1433: "SQL Server",
    1521: "Oracle",
    3306: "MySQL/MariaDB",
    5432: "PostgreSQL",
    6379: "Redis",
    9200: "Elasticsearch/OpenSearch",
    11211: "Memcached",
    27017: "MongoDB",
}


def _open_to_internet(permission):
    v4 = [r.get("CidrIp") for r in as_list(permission.get("IpRanges"))]
    v6 = [r.get("CidrIpv6") for r in as_list(permission.get("Ipv6Ranges"))]
    return ANYWHERE_V4 in v4 or ANYWHERE_V6 in v6


def _exposed_ports(resource):
    exposed = set()
    for permission in as_list(resource.get("IpPermissions")):
        if not _open_to_internet(permission):
            continue
        if str(permission.get("IpProtocol")) == "-1":
            return sorted(DATABASE_PORTS)
        low, high = permission.get("FromPort"), permission.get("ToPort")
        if low is None or high is None:
            continue
        exposed.update(port for port in DATABASE_PORTS if low <= port <= high)
    return sorted(exposed)


def policy(resource):
    return not _exposed_ports(resource)


def title(resource):
    engines = ", ".join(DATABASE_PORTS[port] for port in _exposed_ports(resource))
    return f"Security group [{resource.get('GroupId', '<unknown>')}] exposes {engines} to the internet"


def alert_context(resource):
    return {
        "group_id": resource.get("GroupId", ""),
        "group_name": resource.get("GroupName", ""),
        "vpc_id": resource.get("VpcId", ""),
        "exposed_ports": _exposed_ports(resource),
    }
