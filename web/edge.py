"""Checks on every request where it comes in, so that no route meets these classes of bad
input (issue 14): a NUL byte in the path or query (PostgreSQL refuses NUL in text, which
surfaced as a 500 on ~30 routes), and JSON nested deeper than any real document (the
decoder recursed until it failed). Each is a Chinese 400 naming what was wrong, as a page
or as JSON by the path (web.errors)."""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from trading.errors import InvalidInput

# Deeper than any envelope, form or record the platform reads.
MAX_JSON_DEPTH = 64
# Litestar's own limit on a request body, applied here while the JSON is buffered for the check.
MAX_JSON_BYTES = 10 * 1024 * 1024
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(rb"[\[\]{}]")


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in ``body`` (brackets inside strings ignored)."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_JSON_STRING.sub(b'""', body)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _refuse_nul(scope: Scope) -> None:
    if "\x00" in scope["path"]:
        raise InvalidInput("请求地址中含有空字符（NUL），无法处理", field="path")
    query = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        names = [unquote_to_bytes(pair.split(b"=", 1)[0]).decode("utf-8", "replace")
                 for pair in query.split(b"&") if b"\x00" in unquote_to_bytes(pair)]
        raise InvalidInput(f"查询参数 {'、'.join(names) or ''} 中含有空字符（NUL），无法处理",
                           field=names[0] if names else "query")


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return b"json" in value.lower()
    return False


class EdgeChecks:
    """Litestar middleware (a plain ASGI wrapper) applying the checks above."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            _refuse_nul(scope)
            if _is_json(scope):
                receive = await self._checked_json(receive)
        await self.app(scope, receive, send)

    @staticmethod
    async def _checked_json(receive: Receive) -> Receive:
        chunks, more, size = [], True, 0
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return _replay(b"", message, receive)
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
            size += len(chunks[-1])
            if size > MAX_JSON_BYTES:
                raise InvalidInput(f"JSON 请求体超过 {MAX_JSON_BYTES // 1024 // 1024} MB，无法处理", field="body")
        body = b"".join(chunks)
        if json_depth(body) > MAX_JSON_DEPTH:
            raise InvalidInput(f"JSON 嵌套层数超过 {MAX_JSON_DEPTH} 层，无法处理", field="body")
        if b"\\u0000" in body:
            raise InvalidInput("JSON 文本中含有空字符（\\u0000），无法处理", field="body")
        return _replay(body, None, receive)


def _replay(body: bytes, first: Message | None, receive: Receive) -> Receive:
    """A receive that gives the buffered body once, then hands over to the real one."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return first or {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
