"""Response records and the JSON, error, redirect and text responses built from them."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Iterable

from .security import API_CSP


class ApiError(Exception):
    """An API failure with its HTTP status; becomes ``{"error": {...}}``."""

    def __init__(self, status: int, code: str, message: str,
                 headers: Iterable[tuple[str, str]] = (), **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = list(headers)
        self.extra = extra


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    csp: str = API_CSP

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


def json_bytes(data: Any) -> bytes:
    """JSON that cannot be sniffed as HTML: ``<``, ``>`` and ``&`` are escaped."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .encode("utf-8"))


def json_response(status: int, data: Any, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return Response(status, json_bytes(data),
                    [("Content-Type", "application/json"), ("Cache-Control", "no-store"),
                     *headers])


def error_response(err: ApiError) -> Response:
    payload = {"error": {"code": err.code, "message": err.message, **err.extra}}
    return json_response(err.status, payload, err.headers)


def redirect(status: int, location: str) -> Response:
    link = html.escape(location, quote=True)
    return Response(status, f'<!DOCTYPE html>\n<a href="{link}">{link}</a>\n'.encode("utf-8"),
                    [("Location", location), ("Content-Type", "text/html; charset=utf-8"),
                     ("Cache-Control", "no-cache")])


def status_line(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"{code} Unknown"


def text_response(status: int, text: str) -> Response:
    return Response(status, text.encode("utf-8"),
                    [("Content-Type", "text/plain; charset=utf-8"),
                     ("Cache-Control", "no-store")])
