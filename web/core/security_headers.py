"""Headers every answer carries: pages with witness, withdrawal and award buttons cannot be
framed by another site (clickjacking), files are never sniffed into another type, no address
of ours leaks into another site's logs, and a page runs only the scripts we serve.

The Content-Security-Policy of every HTML answer (``PAGE_POLICY``):

- ``default-src 'self'``: scripts, styles, images, fonts, fetch/EventSource (live views,
  the sealing page's requests) come from this server only; government intranets have no
  CDN anyway, and every front-end package is served from /vendor.
- ``script-src 'self'`` plus exactly two additions, each measured in Chromium:
  the hash of the one inline script the pages carry, the import map (``IMPORT_MAP``), which
  cannot be an external file (browsers ignore ``src`` on an import map) and which lets
  libsodium's ES module build import "libsodium-sumo" by name; and ``'wasm-unsafe-eval'``,
  because libsodium-sumo 0.8 compiles its WebAssembly from bytes and has no asm.js fallback
  (without it the sealing, opening and signing pages cannot load libsodium). It allows
  WebAssembly compilation only: ``eval``, ``new Function`` and inline scripts stay refused.
  A hash, not a per-request nonce: the import map is the same text on every page, so the
  policy is one constant computed here at import time from the very string the templates
  render (the ``import_map`` template global), the answers stay cacheable, and nothing else
  inline can ride on it.
- ``style-src 'self'``: the pages have no inline style attribute or <style> element.
  Scripts may still style elements through the CSS object model (``el.style``), which the
  policy does not restrict; htmx's own indicator <style> is turned off in base.html (its
  rules are in portal.css) and the charts draw their tooltips on the canvas (stats.js),
  since ECharts' HTML tooltips carry style attributes.
- ``object-src 'none'``, ``base-uri 'self'``, ``form-action 'self'``: no plugin content,
  no <base> that re-points relative script addresses, no form posting elsewhere.
- ``frame-ancestors 'none'`` (with X-Frame-Options for old browsers): never framed.

The API documentation (/api/docs, Swagger UI served from /vendor/swagger-ui and started by
/static/api_docs.js) runs under the same policy with one exception of its own,
``img-src 'self' data:``, for the icons its stylesheet embeds as data: images.

Answers that are not HTML (JSON, CSV, XLSX, PDF from WeasyPrint, event streams, static
files) keep only ``frame-ancestors 'none'``: they run no script, and a stricter policy on a
PDF would only risk the browser's own viewer. tests/conftest.py fails every browser test
on any violation of the policy."""

from __future__ import annotations

import base64
import hashlib
import json

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope
from markupsafe import Markup

# Where the API documentation is served (web/api/docs_ui.py): its page has a policy of its own.
API_DOCS_PATH = "/api/docs"
# The one inline script of the pages (templates write it with {{ import_map }}).
IMPORT_MAP = json.dumps({"imports": {"libsodium-sumo": "/vendor/libsodium-sumo/libsodium-sumo.mjs"}})


def script_hash(source: str) -> str:
    """The CSP source expression that allows exactly this inline script text."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


def import_map_tag() -> Markup:
    return Markup('<script type="importmap">{}</script>').format(Markup(IMPORT_MAP))


PAGE_DIRECTIVES = (
    "default-src 'self'",
    f"script-src 'self' 'wasm-unsafe-eval' {script_hash(IMPORT_MAP)}",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
PAGE_POLICY = "; ".join(PAGE_DIRECTIVES)
# Swagger UI's stylesheet draws its icons from data: images: allowed on its page only.
API_DOCS_POLICY = "; ".join((*PAGE_DIRECTIVES, "img-src 'self' data:"))
OTHER_POLICY = "frame-ancestors 'none'"

SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
)


async def add_security_headers(message: Message, scope: Scope) -> None:
    """Litestar ``before_send`` hook: the headers above on every HTTP answer, and the policy
    its content type calls for."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in SECURITY_HEADERS:
        if name not in headers:
            headers[name] = value
    if "Content-Security-Policy" not in headers:
        headers["Content-Security-Policy"] = policy_for(scope["path"], headers.get("Content-Type") or "")


def policy_for(path: str, content_type: str) -> str:
    """The Content-Security-Policy of an answer to ``path`` of ``content_type``."""
    if not content_type.lower().startswith("text/html"):
        return OTHER_POLICY
    return API_DOCS_POLICY if path == API_DOCS_PATH or path.startswith(API_DOCS_PATH + "/") else PAGE_POLICY
