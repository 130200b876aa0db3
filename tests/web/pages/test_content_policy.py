"""The pages' Content-Security-Policy (web/core/security_headers.py): every HTML answer carries it,
the pages carry nothing inline that it refuses, and answers that are not pages (JSON, CSV,
PDF, files) are left as they were. That the pages really pass it in a browser is checked by
every browser test (tests/common/content_policy.py); tests/web/browser/test_browser_policy.py shows it refusing."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.demo import load_demo_data
from trading.database import make_sessionmaker, transaction
from trading.settings import Settings
from web.app import create_app
from tests.common.portal import log_in

TEMPLATES = Path(__file__).resolve().parents[3] / "web" / "templates"
INLINE_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)


@pytest.fixture(scope="module")
async def client(settings: Settings, database_url: str, engine: AsyncEngine) -> AsyncIterator[AsyncTestClient]:
    async with transaction(make_sessionmaker(engine)) as session:
        await load_demo_data(session)
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


def directives(policy: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


def refused_inline(html: str, policy: str) -> list[str]:
    """The inline scripts of ``html`` that ``policy`` refuses."""
    sources = directives(policy)["script-src"]
    refused = []
    for attributes, body in INLINE_SCRIPT.findall(html):
        if "src=" in attributes:
            continue
        digest = "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        if digest not in sources:
            refused.append(body)
    return refused


@pytest.mark.parametrize("path", ["/", "/login", "/tenders", "/stats", "/no-such-page", "/api/docs", "/api/docs/swagger"])
async def test_every_page_runs_only_the_scripts_and_styles_this_server_serves(client: AsyncTestClient, path: str) -> None:
    answer = await client.get(path)
    assert answer.headers["content-type"].startswith("text/html")
    policy = directives(answer.headers["content-security-policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"][0] == "'self'"
    # No inline script, no eval: only the import map's own hash and WebAssembly compilation.
    assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"} & set(policy["script-src"])
    assert [s for s in policy["script-src"] if s.startswith("'sha256-")] and "'wasm-unsafe-eval'" in policy["script-src"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"] and policy["frame-ancestors"] == ["'none'"]
    # Only the API documentation shows data: images (Swagger UI's icons).
    assert policy.get("img-src") == (["'self'", "data:"] if path.startswith("/api/docs") else None)
    assert not refused_inline(answer.text, answer.headers["content-security-policy"])


async def test_the_import_map_of_the_sealing_pages_is_the_inline_script_the_policy_allows(client: AsyncTestClient) -> None:
    await log_in(client, "bidder1")
    try:
        page = await client.get("/bidder/key")
        assert page.status_code == 200
        assert '<script type="importmap">' in page.text
        assert not refused_inline(page.text, page.headers["content-security-policy"])
        # The same text with one character more is refused: the hash pins the import map exactly.
        tampered = page.text.replace('<script type="importmap">{', '<script type="importmap"> {')
        assert refused_inline(tampered, page.headers["content-security-policy"])
    finally:
        client.cookies.clear()


@pytest.mark.parametrize("path", ["/api/keys", "/api/docs/openapi.json", "/static/portal.css", "/health",
                                  "/stats/export/volume"])
async def test_answers_that_are_not_pages_keep_only_the_framing_rule(client: AsyncTestClient, path: str) -> None:
    answer = await client.get(path)
    assert answer.status_code == 200, answer.text
    assert not answer.headers["content-type"].startswith("text/html")
    assert answer.headers["content-security-policy"] == "frame-ancestors 'none'"


def test_no_template_carries_an_inline_script_a_handler_attribute_or_an_inline_style() -> None:
    """What the browser tests do not visit is held to the policy too: inline code goes into
    web/static/, and the import map is written only as {{ import_map }}."""
    found = []
    for template in sorted(TEMPLATES.rglob("*.html")):
        text = re.sub(r"{#.*?#}", "", template.read_text(), flags=re.S)
        name = template.relative_to(TEMPLATES)
        for attributes, _ in INLINE_SCRIPT.findall(text):
            if "src=" not in attributes:
                found.append(f"{name}: inline <script{attributes}>")
        for tag in re.findall(r"<[a-zA-Z][^>]*>", text):
            if re.search(r"\son[a-z]+\s*=", tag) or re.search(r"\sstyle\s*=", tag):
                found.append(f"{name}: {tag}")
        if re.search(r"<style\b|javascript:", text, re.I):
            found.append(f"{name}: <style> or javascript: URL")
    assert not found, "\n".join(found)
