"""Plain request and response values passed between the HTTP layer and the stand-in's logic."""
from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import field
from typing import Any

__all__ = ["BadRequest", "Request", "Response", "error", "json_body"]


@dataclass
class Request:
    """One HTTP request: ``path`` is raw (percent-encoded, no query string), ``query`` maps each
    parameter to its last value, ``headers`` keeps the names as sent, ``body`` is the raw bytes."""

    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None


@dataclass
class Response:
    """One answer: ``body`` is a JSON value, or ``bytes``/``str`` sent as ``content_type``;
    ``None`` means no body (e.g. 204). ``drop`` closes the connection without any reply."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    drop: bool = False
    fault: bool = False

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str) and self.content_type != "application/json":
            return self.body.encode("utf-8")
        return json.dumps(self.body).encode("utf-8")


def error(status: int, message: str, **extra: Any) -> Response:
    """An error reply ``{"message": message, **extra}`` (the shape of every Panther error body)."""
    return Response(status, {"message": message, **extra})


class BadRequest(Exception):
    """Raised inside handlers to answer 400 (or ``status``) with ``{"message": ...}``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def json_body(request: Request) -> Any:
    """The request body parsed as JSON; raises :class:`BadRequest` when it is not JSON."""
    if not request.body:
        raise BadRequest("request body is empty (expected a JSON object)")
    try:
        return json.loads(request.body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"request body is not JSON: {exc}") from None
