"""Headers every answer carries: pages with witness, withdrawal and award buttons cannot be
framed by another site (clickjacking), files are never sniffed into another type, and no
address of ours leaks into another site's logs. A script policy (CSP) is not set here yet:
the pages still carry inline scripts (issue 14)."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", "frame-ancestors 'none'"),
)


async def add_security_headers(message: Message, scope: Scope) -> None:
    """Litestar ``before_send`` hook: the headers above on every HTTP answer."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in SECURITY_HEADERS:
        if name not in headers:
            headers[name] = value
