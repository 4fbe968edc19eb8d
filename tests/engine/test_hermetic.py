"""The network guard and the secrets stand-in are undone after each detection test."""
from __future__ import annotations

import socket
import sys

import pytest

from pytest_panther.engine.hermetic import NetworkAccessError
from pytest_panther.engine.hermetic import SecretAccessDenied
from pytest_panther.engine.hermetic import hermetic


def test_connections_and_dns_fail_inside_and_work_outside() -> None:
    before = (socket.socket.__dict__.get("connect"), socket.getaddrinfo, socket.create_connection)
    with hermetic({}):
        with pytest.raises(NetworkAccessError, match="mock the function that calls the external API"):
            socket.create_connection(("192.0.2.1", 443))
        with pytest.raises(NetworkAccessError, match="resolve 'example.com'"):
            socket.getaddrinfo("example.com", 443)
        with socket.socket() as raw, pytest.raises(NetworkAccessError):
            raw.connect(("192.0.2.1", 443))
    assert (socket.socket.__dict__.get("connect"), socket.getaddrinfo, socket.create_connection) == before


def test_allow_network_changes_nothing() -> None:
    with hermetic({}, allow_network=True):
        assert socket.create_connection.__module__ == "socket"


def test_secret_reads_through_botocore() -> None:
    boto3 = pytest.importorskip("boto3")
    client = boto3.client("secretsmanager", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    original = sys.modules["botocore.client"].BaseClient._make_api_call
    with hermetic({"panther-analysis/key": {"a": 1}}):
        assert client.get_secret_value(SecretId="panther-analysis/key")["SecretString"] == '{"a": 1}'
        with pytest.raises(SecretAccessDenied, match="has no test value; give one with --panther-secret"):
            client.get_secret_value(SecretId="panther-analysis/other")
        with pytest.raises(SecretAccessDenied, match="starts with 'panther-analysis'"):
            client.get_secret_value(SecretId="prod/key")
    assert sys.modules["botocore.client"].BaseClient._make_api_call is original
