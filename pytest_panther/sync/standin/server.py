"""The stand-in's HTTP layer: a ``ThreadingHTTPServer`` on loopback, and :class:`StandinServer`
to run one in a background thread (tests, the ``panther-gitops standin`` command).
"""
from __future__ import annotations

import socket
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl
from urllib.parse import urlsplit

from pytest_panther.sync.loopback import is_loopback
from pytest_panther.sync.standin.app import StandinApp
from pytest_panther.sync.standin.controls import parse_fault
from pytest_panther.sync.standin.wire import Request
from pytest_panther.sync.standin.wire import error

__all__ = ["StandinHTTPServer", "StandinServer"]


class _Handler(BaseHTTPRequestHandler):
    server: StandinHTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API behind its load balancer
    server_version = "panther-standin"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every reply.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _serve(self) -> None:
        split = urlsplit(self.path)
        raw_length = self.headers.get("Content-Length") or "0"
        if not raw_length.isdigit() or "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            # The body cannot be delimited: answer and close instead of guessing.
            self.close_connection = True
            request = Request(self.command, split.path)
            response = error(400, "send the body with a Content-Length header (chunked bodies are not supported)")
        elif int(raw_length) > self.server.app.max_body:
            # Refused before reading it: the connection is closed, as a gateway does.
            self.close_connection = True
            request = Request(self.command, split.path)
            response = error(413, f"request body of {int(raw_length)} bytes is larger than the {self.server.app.max_body} allowed")
        else:
            length = int(raw_length)
            request = Request(
                method=self.command,
                path=split.path,
                query=dict(parse_qsl(split.query, keep_blank_values=True)),
                headers={name: value for name, value in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            try:
                response = self.server.app.handle(request)
            except Exception as exc:  # a stand-in bug: answer 500 and show it on stderr
                traceback.print_exc()
                response = error(500, f"stand-in internal error: {type(exc).__name__}: {exc}")
        if response.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            self._log(request, None)
            return
        payload = response.encoded()
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.body is not None:
            self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        self._log(request, response.status)

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _serve

    def _log(self, request: Request, status: int | None) -> None:
        if self.server.access_log:
            # Method, path and status only: never headers, so never the token.
            print(f"{request.method} {self.path} {status if status is not None else 'dropped'}",
                  file=sys.stderr, flush=True)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


class StandinHTTPServer(ThreadingHTTPServer):
    """HTTP server bound to a loopback address, answering with ``app``."""

    daemon_threads = True

    def __init__(self, app: StandinApp, host: str = "127.0.0.1", port: int = 0, *, access_log: bool = False) -> None:
        if not is_loopback(host):
            raise ValueError(f"the stand-in listens on loopback only, not {host!r} (use 127.0.0.1)")
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.app = app
        self.access_log = access_log
        super().__init__((host.strip("[]"), port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout test) makes the reply fail with a broken pipe: expected.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        address, port = self.server_address[:2]
        host = address.decode() if isinstance(address, bytes) else address
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}"


class StandinServer:
    """A stand-in Panther on an ephemeral 127.0.0.1 port, served from a background thread.

    Use as a context manager::

        with StandinServer(token="t") as server:
            PantherClient(server.url, "t").put("rules", "My.Rule", {...})
            assert server.state()["rules"]["My.Rule"]["severity"] == "HIGH"

    ``db_path``: SQLite file to keep state across restarts, ``None`` for memory.
    ``access_log``: print ``METHOD path status`` per request on stderr. The server stops (and
    its thread ends) on exit from the ``with`` block or on :meth:`stop`.
    """

    def __init__(
        self,
        token: str,
        db_path: str | Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        read_only_token: str | None = None,
        validate_responses: bool = True,
        access_log: bool = False,
    ) -> None:
        self.app = StandinApp(token, db_path, read_only_token=read_only_token,
                              validate_responses=validate_responses)
        self._host = host
        self._port = port
        self._access_log = access_log
        self._httpd: StandinHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"StandinServer(url={self.url if self._httpd else None!r})"

    def start(self) -> StandinServer:
        """Bind and serve in a daemon thread. Raises ``OSError`` (port in use) or ``ValueError``
        (a non-loopback host); the store is closed then."""
        try:
            self._httpd = StandinHTTPServer(self.app, self._host, self._port, access_log=self._access_log)
        except BaseException:
            self.app.close()
            raise
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name="panther-standin", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.app.close()

    def __enter__(self) -> StandinServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (only while running)."""
        if self._httpd is None:
            raise RuntimeError("the stand-in is not running")
        return self._httpd.url

    def state(self, *, server_fields: bool = True) -> dict[str, dict[str, dict[str, Any]]]:
        """``{kind: {key: object}}`` for every kind (queries keyed by name). With
        ``server_fields=False`` the fields the server adds (``createdAt``, ``lastModified`` /
        ``updatedAt``, ``createdBy``) are left out; defaults the server filled in stay."""
        state = self.app.state()
        if server_fields:
            return state
        from pytest_panther.sync.standin.resources import KINDS

        return {
            kind: {
                key: {f: v for f, v in obj.items() if f not in KINDS[kind].server_fields}
                for key, obj in objects.items()
            }
            for kind, objects in state.items()
        }

    def deployment(self) -> dict[str, Any]:
        """Every deployed object, every field, whichever route wrote it (REST or upload)."""
        return self.app.deployment()

    def seed(self, state: dict[str, dict[str, dict[str, Any]]]) -> None:
        """Add objects ``{kind: {key: body}}`` as if uploaded (raises ``ValueError`` if invalid)."""
        self.app.seed(state)

    def inject(self, **fault: Any) -> None:
        """Add a fault; keyword arguments are the fields of :class:`controls.Fault`, e.g.
        ``inject(method="PUT", path_regex="^/rules/", status=503, times=2, retry_after=1)``.
        Raises ``ValueError`` on a bad field."""
        self.app.inject(parse_fault(fault))

    def force_tests(self, kind: str, item_id: str, passed: bool) -> None:
        """Force the unit-test outcome of one detection (``item_id="*"``: every one of ``kind``)."""
        self.app.outcomes.force(kind, item_id, passed)

    def configure(self, **settings: Any) -> None:
        """Same settings as ``POST /__standin__/config``."""
        self.app.configure(settings)

    def requests(self) -> list[dict[str, Any]]:
        """The journal of REST requests (see :class:`controls.Journal`)."""
        return self.app.journal.entries()

    def reset(self) -> None:
        self.app.reset()
