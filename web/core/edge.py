"""Checks on every request where it comes in, so that no route meets these classes of bad
input (issue 14): a NUL byte in the path or query (PostgreSQL refuses NUL in text, which
surfaced as a 500 on ~30 routes), JSON nested deeper than any real document (the decoder
recursed until it failed), and a form field (multipart or urlencoded) or query value that
is not UTF-8 or holds a NUL (the multipart parser's decoding failed on every multipart form,
the bid upload included; NUL reached PostgreSQL). Each is a Chinese 400 naming what was
wrong, as a page or as JSON by the path (web.core.errors).

JSON that arrives inside another body (the bid envelope, a multipart text field) is read
with :func:`json_text`, which applies the same limits.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any
from urllib.parse import unquote_to_bytes

from litestar.types import ASGIApp, Message, Receive, Scope, Send
from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header

from trading.errors import InvalidInput

# Deeper than any envelope, form or record the platform reads.
MAX_JSON_DEPTH = 64
# Litestar's own limit on a request body, applied here while JSON or a form is buffered for the check.
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
    _refuse_bad_pairs(scope.get("query_string", b""), "查询参数")


def _refuse_bad_pairs(encoded: bytes, what: str) -> None:
    """Each name and value of a query string or urlencoded form, percent-decoded, must be
    UTF-8 without NUL (the parsers would pass on NUL, or put U+FFFD in place of bad bytes)."""
    if not encoded:
        return
    for pair in encoded.split(b"&"):
        raw = unquote_to_bytes(pair.replace(b"+", b" "))
        name = raw.split(b"=", 1)[0].decode("utf-8", "replace")
        if b"\x00" in raw:
            raise InvalidInput(f"{what} {name} 中含有空字符（NUL），无法处理", field=name)
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(f"{what} {name} 不是有效的 UTF-8 文本", field=name) from None


def _refuse_bad_json(body: bytes, field: str) -> None:
    if json_depth(body) > MAX_JSON_DEPTH:
        raise InvalidInput(f"JSON 嵌套层数超过 {MAX_JSON_DEPTH} 层，无法处理", field=field)
    if b"\\u0000" in body:
        raise InvalidInput("JSON 文本中含有空字符（\\u0000），无法处理", field=field)


def json_text(text: str, *, field: str, what: str) -> Any:
    """``text`` read as JSON under the edge's limits (depth, no \\u0000): for JSON carried
    inside another body, such as the bid envelope's multipart part."""
    _refuse_bad_json(text.encode(), field)
    try:
        return json.loads(text)
    except ValueError:
        raise InvalidInput(f"{what}不是有效的 JSON", field=field) from None


def _content_type(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return value.decode("latin-1")
    return ""


class _MultipartText:
    """Follows a multipart body as it streams past (nothing is held but the text parts, which
    the form parser keeps anyway): each text part, one without a filename, must be UTF-8
    without NUL. A body the parser cannot follow is left to the form parser's own 400."""

    def __init__(self, boundary: str) -> None:
        self.parser = PushMultipartParser(boundary)
        self.segment: MultipartSegment | None = None
        self.text: bytearray | None = None
        self.lost = False

    def feed(self, chunk: bytes, *, last: bool) -> None:
        if self.lost:
            return
        try:
            for data in ([chunk] if chunk else []) + ([b""] if last and not self.parser.closed else []):
                for event in self.parser.parse(data):
                    self._take(event)
        except MultipartError:
            self.lost = True

    def _take(self, event: Any) -> None:
        if isinstance(event, MultipartSegment):
            self.segment, self.text = event, None if event.filename else bytearray()
        elif event:
            if self.text is not None:
                self.text.extend(event)
        else:
            if self.segment is not None and self.text is not None:
                _refuse_bad_text(self.segment, bytes(self.text))
            self.segment = self.text = None


def _refuse_bad_text(segment: MultipartSegment, text: bytes) -> None:
    name = segment.name
    if segment.charset and not _is_utf8(segment.charset):
        raise InvalidInput(f"表单字段 {name} 的字符集应为 UTF-8", field=name)
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"表单字段 {name} 不是有效的 UTF-8 文本", field=name) from None
    if "\x00" in decoded:
        raise InvalidInput(f"表单字段 {name} 中含有空字符（NUL），无法处理", field=name)


def _is_utf8(charset: str) -> bool:
    try:
        return codecs.lookup(charset).name == "utf-8"
    except LookupError:
        return False


class EdgeChecks:
    """Litestar middleware (a plain ASGI wrapper) applying the checks above."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            _refuse_nul(scope)
            media_type, options = parse_options_header(_content_type(scope))
            if "json" in media_type:
                receive = await self._checked_json(receive)
            elif media_type == "application/x-www-form-urlencoded":
                receive = await self._checked_form(receive)
            elif media_type == "multipart/form-data" and options.get("boundary"):
                receive = self._checked_multipart(receive, options["boundary"])
        await self.app(scope, receive, send)

    @staticmethod
    def _checked_multipart(receive: Receive, boundary: str) -> Receive:
        """A receive that checks the text parts as the body passes (a bad one fails the read)."""
        text = _MultipartText(boundary)

        async def checked() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                text.feed(message.get("body", b""), last=not message.get("more_body", False))
            return message

        return checked

    @staticmethod
    async def _checked_json(receive: Receive) -> Receive:
        body, first = await _buffered(receive, "JSON 请求体")
        if first is None:
            _refuse_bad_json(body, "body")
        return _replay(body, first, receive)

    @staticmethod
    async def _checked_form(receive: Receive) -> Receive:
        body, first = await _buffered(receive, "表单")
        if first is None:
            _refuse_bad_pairs(body, "表单字段")
        return _replay(body, first, receive)


async def _buffered(receive: Receive, what: str) -> tuple[bytes, Message | None]:
    """The whole body (up to Litestar's own limit), or the first message if it is not the body."""
    chunks, more, size = [], True, 0
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return b"", message
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
        size += len(chunks[-1])
        if size > MAX_JSON_BYTES:
            raise InvalidInput(f"{what}超过 {MAX_JSON_BYTES // 1024 // 1024} MB，无法处理", field="body")
    return b"".join(chunks), None


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
