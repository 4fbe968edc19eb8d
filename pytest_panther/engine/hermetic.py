"""Keep detection tests hermetic: no network, and AWS Secrets Manager reads served locally.

Rules that enrich from external APIs are common; in a unit test they must be mocked (``Mocks:``
in the test case). While a detection test runs, :func:`hermetic` makes any socket connection or
DNS look-up raise :class:`NetworkAccessError` with that advice.

Secrets: a detection that reads an AWS Secrets Manager secret through boto3/botocore
(``GetSecretValue``) gets the value configured for the test session (``--panther-secret
NAME=VALUE`` or the ini/JSON file, see the reference docs) and never reaches AWS. In production
Panther denies reads of secrets whose name does not start with ``panther-analysis``, so such a
read fails here too (:class:`SecretAccessDenied`).
"""
from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from typing import Any

__all__ = ["NetworkAccessError", "SecretAccessDenied", "SECRET_PREFIX", "hermetic"]

#: Secret names a Panther detection may read (production IAM policy).
SECRET_PREFIX = "panther-analysis"


class NetworkAccessError(RuntimeError):
    """A detection test tried to reach the network."""


class SecretAccessDenied(RuntimeError):
    """A detection test read a secret Panther would not let it read, or one not configured."""


def _network_error(what: str) -> NetworkAccessError:
    return NetworkAccessError(
        f"detection tests cannot use the network (tried to {what}); mock the function that calls "
        "the external API with `Mocks:` in the test case (objectName: <function>, returnValue: ...)"
    )


def _blocked_connect(self: socket.socket, address: Any, *args: Any) -> Any:
    raise _network_error(f"connect to {address!r}")


def _blocked_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    raise _network_error(f"resolve {host!r}")


def _blocked_create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
    raise _network_error(f"connect to {address!r}")


def _secrets_api(secrets: Mapping[str, str]) -> Any:
    original = sys.modules["botocore.client"].BaseClient._make_api_call

    def _make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        service = getattr(getattr(self, "meta", None), "service_model", None)
        if getattr(service, "service_name", None) != "secretsmanager":
            return original(self, operation_name, api_params)
        if operation_name != "GetSecretValue":
            raise SecretAccessDenied(f"only GetSecretValue is available to detection tests, not {operation_name}")
        name = str(api_params.get("SecretId", ""))
        if not name.startswith(SECRET_PREFIX):
            raise SecretAccessDenied(
                f"secret {name!r} cannot be read: Panther only lets detections read secrets whose name "
                f"starts with {SECRET_PREFIX!r}"
            )
        if name not in secrets:
            raise SecretAccessDenied(
                f"secret {name!r} has no test value; give one with --panther-secret {name}=VALUE "
                "or in the panther_secrets_file"
            )
        value = secrets[name]
        if not isinstance(value, str):
            value = json.dumps(value)
        return {"Name": name, "ARN": f"arn:aws:secretsmanager:us-east-1:000000000000:secret:{name}", "SecretString": value}

    return _make_api_call


_INHERITED = object()

_NETWORK_PATCHES: tuple[tuple[Any, str, Any], ...] = (
    (socket.socket, "connect", _blocked_connect),
    (socket.socket, "connect_ex", _blocked_connect),
    (socket, "getaddrinfo", _blocked_getaddrinfo),
    (socket, "create_connection", _blocked_create_connection),
)


@contextmanager
def hermetic(secrets: Mapping[str, str], *, allow_network: bool = False) -> Iterator[None]:
    """Within the block: no sockets connect, no DNS, secrets served from ``secrets``.

    Runs around every detection test case, so it sets the few attributes directly rather than
    through ``unittest.mock`` (a tenth of the cost), and restores them on the way out.
    """
    patches: list[tuple[Any, str, Any]] = [] if allow_network else list(_NETWORK_PATCHES)
    botocore_client = sys.modules.get("botocore.client")
    if botocore_client is not None:
        patches.append((botocore_client.BaseClient, "_make_api_call", _secrets_api(secrets)))
    # An attribute inherited from a base class (socket.socket.connect comes from _socket.socket)
    # is removed again on the way out rather than copied onto the subclass.
    saved = [(owner, name, owner.__dict__.get(name, _INHERITED)) for owner, name, _ in patches]
    for owner, name, replacement in patches:
        setattr(owner, name, replacement)
    try:
        yield
    finally:
        for owner, name, original in saved:
            if original is _INHERITED:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
