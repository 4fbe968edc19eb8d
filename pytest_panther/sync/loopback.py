"""Whether a host name is a loopback address: the one check behind both the client's
``http://`` rule (:func:`pytest_panther.sync.client.normalise_host`) and the stand-in's
listen-on-loopback-only rule (:mod:`pytest_panther.sync.standin.server`, ``panther-gitops standin``).
"""
from __future__ import annotations

import ipaddress

__all__ = ["is_loopback"]


def is_loopback(host: str) -> bool:
    """True for ``localhost`` (any case), 127.0.0.0/8 and ``::1`` (brackets allowed: ``[::1]``).

    Anything else, including names that merely resolve to loopback, is False.
    """
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
