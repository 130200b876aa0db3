"""Helpers for tests that drive the portal over HTTP: CSRF tokens, logins, API tokens."""

from __future__ import annotations

import re

from litestar.testing import AsyncTestClient

from cli.demo import DEMO_PASSWORD

CSRF_INPUT = re.compile(r'<input[^>]*name="_csrf_token"[^>]*value="([^"]+)"')
ELEMENT_ID = re.compile(r'<[a-zA-Z][^>]*?\sid="([^"]+)"')


async def csrf_token_from(client: AsyncTestClient, path: str = "/login") -> str:
    page = await client.get(path)
    assert page.status_code == 200
    assert_unique_ids_in(page.text, path)
    match = CSRF_INPUT.search(page.text)
    assert match, "the page has no CSRF hidden input"
    assert client.cookies.get("csrftoken"), "the CSRF cookie was not set"
    return match.group(1)


async def log_in(client: AsyncTestClient, username: str, password: str = DEMO_PASSWORD, next: str = "/"):
    token = await csrf_token_from(client)
    return await client.post("/login", data={"username": username, "password": password, "next": next,
                                             "_csrf_token": token}, follow_redirects=False)


async def api_token(client: AsyncTestClient, username: str) -> str:
    answer = await client.post("/api/auth/token", json={"username": username, "password": DEMO_PASSWORD,
                                                        "name": "测试"})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["token_type"] == "bearer"
    return body["token"]


async def bearer(client: AsyncTestClient, username: str) -> dict[str, str]:
    """An Authorization header for the API as ``username`` (a demo account)."""
    return {"Authorization": f"Bearer {await api_token(client, username)}"}


DUPLICATE_IDS = """() => { const seen = new Set(), twice = new Set();
  for (const e of document.querySelectorAll('[id]')) { (seen.has(e.id) ? twice : seen).add(e.id); }
  return [...twice]; }"""


async def assert_unique_ids(page, name: str) -> None:
    """No element id twice on the page (a label must point at its own field, a fragment at its own place)."""
    twice = await page.evaluate(DUPLICATE_IDS)
    assert not twice, f"ids used twice on {name}: {twice}"


def assert_unique_ids_in(html: str, name: str) -> None:
    """The same check on a page's HTML as served (every page a form is posted from)."""
    ids = ELEMENT_ID.findall(html)
    twice = sorted({i for i in ids if ids.count(i) > 1})
    assert not twice, f"ids used twice on {name}: {twice}"


async def as_user(client: AsyncTestClient, username: str) -> None:
    client.cookies.clear()
    answer = await log_in(client, username)
    assert answer.status_code in (302, 303), answer.text


async def post_form(client: AsyncTestClient, path: str, data: dict, *, page: str, files: dict | None = None):
    token = await csrf_token_from(client, page)
    return await client.post(path, data={**data, "_csrf_token": token}, files=files, follow_redirects=False)


def field_error(html: str, name: str) -> str | None:
    """The message shown beside field ``name``."""
    match = re.search(rf'<p class="field-error" id="e-(?:[\w-]+-)?{name}">(.*?)</p>', html, re.S)  # a repeated form's prefix
    return match.group(1).strip() if match else None
