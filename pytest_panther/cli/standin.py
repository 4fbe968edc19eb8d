"""``panther-gitops standin --port PORT --token TOKEN [--db FILE] [--host 127.0.0.1]``: run a
stand-in Panther REST server on loopback until interrupted (Ctrl-C or SIGTERM).

It serves the detection-content REST subset and the ``/__standin__`` admin API of
sync-contract.md §5 (see :mod:`pytest_panther.sync.standin`). ``--token`` falls back to
``PANTHER_API_TOKEN``. With ``--db`` the state is kept in that SQLite file across restarts;
without it, state lives in memory. ``--port 0`` picks a free port. The first line on stdout is
``serving http://HOST:PORT`` (the token is never printed). Exit 0 on a clean stop, 2 on bad
arguments (a non-loopback ``--host``, no token, a port in use, a file that is not a database).
"""
from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import sys
import threading
from pathlib import Path
from typing import Any

from pytest_panther.sync.loopback import is_loopback
from pytest_panther.sync.standin import StandinServer

__all__ = ["register", "run_standin"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "standin",
        help="run a stand-in Panther REST server on 127.0.0.1 (for tests and trying the workflow)",
        description="Serve Panther's detection REST endpoints and the GraphQL operations of PAT's "
        "backend client (/public/graphql: bulk upload, deletes) locally, with fault injection and a "
        "request log under /__standin__. Uploaded and written unit tests run with this project's "
        "engine before anything is saved, as in Panther.",
    )
    parser.add_argument("--port", type=_port, required=True, help="TCP port (0 picks a free one)")
    parser.add_argument("--token", default=None,
                        help="API key clients must send in X-API-Key (default: $PANTHER_API_TOKEN)")
    parser.add_argument("--db", type=Path, default=None, metavar="FILE",
                        help="SQLite file holding the state across restarts (default: in memory)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default: 127.0.0.1)")
    parser.add_argument("--access-log", action="store_true",
                        help="print 'METHOD path status' per request on stderr")
    parser.add_argument("--no-unit-tests", action="store_true",
                        help="save writes and uploads without running their unit tests (Panther runs them)")
    parser.set_defaults(func=run_standin)


def _port(text: str) -> int:
    """A TCP port, 0-65535 (argparse type: a usage error otherwise, not bind()'s OverflowError)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r} (a number 0-65535)") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is out of range (0-65535; 0 picks a free one)")
    return port


def run_standin(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; return 0 on a clean stop, 2 on bad arguments."""
    token = args.token or os.environ.get("PANTHER_API_TOKEN", "")
    if not token:
        print("panther-gitops standin: no token (pass --token or set PANTHER_API_TOKEN)", file=sys.stderr)
        return 2
    if not is_loopback(args.host):
        print(f"panther-gitops standin: --host {args.host} is not a loopback address "
              "(the stand-in listens on 127.0.0.1, ::1 or localhost only)", file=sys.stderr)
        return 2
    try:
        server = StandinServer(token, args.db, host=args.host, port=args.port, access_log=args.access_log)
        server.start()
        if args.no_unit_tests:
            server.configure(run_tests=False)
    except (OSError, sqlite3.DatabaseError, ValueError) as exc:
        print(f"panther-gitops standin: cannot start: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"serving {server.url} (state: {args.db if args.db else 'in memory'})", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
