"""The web application over HTTP: portal pages, login with CSRF and rate limiting, the API."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.demo import ACCOUNTS, DEMO_PASSWORD, PROJECTS, load_demo_data
from trading.database import make_sessionmaker, transaction
from trading.keys import load_center_keys, verify_signature
from trading.rules.store import TRADING_CATEGORIES
from trading.settings import Settings
from web.app import create_app
from web.core.auth import SESSION_COOKIE
from tests.conftest import with_settings
from tests.common.portal import CSRF_INPUT, api_token, bearer, log_in

MAX_FAILURES = 3
TOKEN_HOURS = 2
EXPERT = next(account for account in ACCOUNTS if account.username == "expert")
BIDDER1 = next(account for account in ACCOUNTS if account.username == "bidder1")


@pytest.fixture(scope="module")
def web_settings(settings: Settings) -> Settings:
    return with_settings(settings, login_max_failures=MAX_FAILURES, api_token_hours=TOKEN_HOURS)


@pytest.fixture(scope="module")
async def client(web_settings: Settings, database_url: str, engine: AsyncEngine) -> AsyncIterator[AsyncTestClient]:
    async with transaction(make_sessionmaker(engine)) as session:
        await load_demo_data(session)
    app = create_app(web_settings, url=database_url)
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@pytest.fixture(autouse=True)
async def fresh_visitor(client: AsyncTestClient, engine: AsyncEngine) -> None:
    """Every test starts as an anonymous visitor with no failed logins behind it (the
    client, and so its address, is shared by the module)."""
    client.cookies.clear()
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM login_attempts"))


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert re.search(r"[\u4e00-\u9fff]", error["message"]), f"message not Chinese: {error['message']!r}"
    return error


# --- platform -------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/login", "/api/keys", "/static/portal.css", "/no-such-page", "/health"])
async def test_every_answer_forbids_framing_and_sniffing(client: AsyncTestClient, path: str) -> None:
    answer = await client.get(path)
    assert answer.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "same-origin"


async def test_health(client: AsyncTestClient) -> None:
    answer = await client.get("/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "database": "ok"}


async def test_home_lists_categories_and_demo_announcements(client: AsyncTestClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in page.text
    assert "公共资源交易平台" in page.text
    for name in TRADING_CATEGORIES.values():
        assert name in page.text
    for _, title, *_ in PROJECTS:
        assert f"{title}招标公告" in page.text
    assert 'href="/login"' in page.text  # anonymous visitor


async def test_static_css_is_served(client: AsyncTestClient) -> None:
    answer = await client.get("/static/portal.css")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/css")


async def test_htmx_is_served_locally(client: AsyncTestClient, web_settings: Settings) -> None:
    if not (Path(web_settings.frontend_dir) / "htmx.org").exists():
        pytest.skip(f"front-end packages not installed ({web_settings.frontend_dir}/htmx.org missing; run npm install)")
    answer = await client.get("/vendor/htmx/htmx.min.js")
    assert answer.status_code == 200
    assert "htmx" in answer.text


async def test_unknown_page_is_a_chinese_404_page(client: AsyncTestClient) -> None:
    page = await client.get("/no-such-page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "页面不存在" in page.text


# --- login and logout -----------------------------------------------------------------

async def test_login_logout_round_trip(client: AsyncTestClient) -> None:
    answer = await log_in(client, BIDDER1.username)
    assert answer.status_code in (302, 303), answer.text
    assert answer.headers["location"] == "/"
    set_cookie = answer.headers["set-cookie"]
    assert set_cookie.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in set_cookie.lower()
    assert "samesite=lax" in set_cookie.lower()
    session_token = client.cookies.get(SESSION_COOKIE)
    assert session_token

    home = await client.get("/")
    assert BIDDER1.display_name in home.text
    assert "投标人/供应商" in home.text
    # The API takes bearer tokens only: a portal cookie must not act through it.
    assert_json_error(await client.get("/api/me"), 401)

    logout_token = CSRF_INPUT.search(home.text).group(1)
    answer = await client.post("/logout", data={"_csrf_token": logout_token}, follow_redirects=False)
    assert answer.status_code in (302, 303)
    assert answer.headers["location"] == "/"
    assert client.cookies.get(SESSION_COOKIE) is None

    # The old cookie no longer works: the token was revoked, not just forgotten.
    client.cookies.set(SESSION_COOKIE, session_token)
    home = await client.get("/")
    assert BIDDER1.display_name not in home.text
    assert_json_error(await client.get("/api/me"), 401)


async def test_login_without_csrf_token_is_refused(client: AsyncTestClient) -> None:
    await client.get("/login")
    answer = await client.post("/login", data={"username": BIDDER1.username, "password": DEMO_PASSWORD},
                               follow_redirects=False)
    assert answer.status_code == 403
    assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")
    assert client.cookies.get(SESSION_COOKIE) is None


@pytest.mark.parametrize("code", ["JN-api-1", "health", "api"])
async def test_a_form_post_under_a_path_containing_api_or_health_still_needs_the_csrf_token(
        client: AsyncTestClient, code: str) -> None:
    """Only /api/… and /health are outside the CSRF check, not every path containing them
    (a project coded with "api" would otherwise take forged posts)."""
    answer = await log_in(client, BIDDER1.username)
    assert answer.status_code in (302, 303)
    forged = await client.post(f"/bidder/tenders/{code}/opening/hand-in", data={"k_b": "00" * 32},
                               follow_redirects=False)
    assert forged.status_code == 403
    await client.post("/logout", data={}, follow_redirects=False)
    client.cookies.clear()


async def test_wrong_password_shows_error_and_keeps_username(client: AsyncTestClient) -> None:
    answer = await log_in(client, "bidder3", "not the password")
    assert answer.status_code == 401
    assert "用户名或密码错误" in answer.text
    assert 'name="username" value="bidder3"' in answer.text
    assert client.cookies.get(SESSION_COOKIE) is None
    # The echoed username is escaped.
    answer = await log_in(client, '"><script>alert(1)</script>', "not the password")
    assert answer.status_code == 401
    assert "<script>alert(1)</script>" not in answer.text


async def test_too_many_failures_make_this_address_wait_with_a_chinese_429(
        client: AsyncTestClient, web_settings: Settings) -> None:
    """Revision 2 (issue 14): failures delay the address that made them (growing waits), they
    do not lock the account; a session opened before keeps working meanwhile."""
    assert (await log_in(client, "bidder2")).status_code in (302, 303)
    earlier_session = client.cookies.get(SESSION_COOKIE)
    client.cookies.clear()
    for _ in range(MAX_FAILURES):
        answer = await log_in(client, "bidder2", "not the password")
        assert answer.status_code == 401
    answer = await log_in(client, "bidder2")  # the right password, but this address must wait
    assert answer.status_code == 429
    wait = int(answer.headers["retry-after"])
    assert 0 < wait <= web_settings.login_first_delay_seconds
    assert f"登录失败次数过多，请 {wait} 秒后再试" in answer.text
    assert client.cookies.get(SESSION_COOKIE) is None
    # The API shares the limit.
    refused = await client.post("/api/auth/token", json={"username": "bidder2", "password": DEMO_PASSWORD})
    error = assert_json_error(refused, 429)
    assert error["code"] == "rate_limited"
    assert 0 < int(refused.headers["retry-after"]) <= wait
    assert "秒后再试" in error["message"]
    # The session opened before the failures still works.
    client.cookies.set(SESSION_COOKIE, earlier_session)
    page = await client.get("/workspace")
    assert page.status_code == 200
    assert "工作台" in page.text


async def test_the_owner_is_shown_the_failed_logins_on_its_account(client: AsyncTestClient) -> None:
    assert (await log_in(client, "bidder3")).status_code in (302, 303)
    client.cookies.clear()
    headers = await bearer(client, "bidder3")  # a login too: the last before the failures
    for _ in range(2):
        assert (await log_in(client, "bidder3", "not the password")).status_code == 401
    assert (await log_in(client, "bidder3")).status_code in (302, 303)
    page = await client.get("/workspace")
    assert "登录失败提醒" in page.text
    assert re.search(r"有 <strong>2</strong> 次密码错误的登录尝试", page.text)
    # Each attempt with its Beijing time and address (the test client's).
    rows = re.findall(r"<tr><td>(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)</td><td>testclient</td></tr>", page.text)
    assert len(rows) == 2
    me = (await client.get("/api/me", headers=headers)).json()
    assert me["failed_logins"]["count"] == 2
    assert [attempt["client"] for attempt in me["failed_logins"]["attempts"]] == ["testclient"] * 2
    assert all(attempt["at"].endswith("+08:00") for attempt in me["failed_logins"]["attempts"])


@pytest.mark.parametrize(("target", "expected"), [
    ("//evil.example", "/"),
    ("/\\evil.example", "/"),
    ("https://evil.example/", "/"),
    ("/api/me?x=1", "/api/me?x=1"),
])
async def test_next_only_allows_same_site_paths(client: AsyncTestClient, target: str, expected: str) -> None:
    page = await client.get("/login", params={"next": target})
    assert f'name="next" value="{expected}"' in page.text
    answer = await log_in(client, "tenderer", next=target)
    assert answer.status_code in (302, 303), answer.text
    assert answer.headers["location"] == expected


async def test_guarded_page_redirects_to_login(client: AsyncTestClient) -> None:
    await client.get("/login")  # for the CSRF cookie
    answer = await client.post("/logout", headers={"x-csrftoken": client.cookies["csrftoken"]},
                               follow_redirects=False)
    assert answer.status_code in (302, 303, 307)
    assert answer.headers["location"] == "/login?next=/logout"


# --- API ------------------------------------------------------------------------------

async def test_api_token_me_and_revoke(client: AsyncTestClient) -> None:
    issued = await client.post("/api/auth/token", json={"username": "expert", "password": DEMO_PASSWORD})
    assert issued.status_code == 201
    assert EXPERT.id_number not in issued.text
    token = issued.json()["token"]
    headers = {"Authorization": f"Bearer {token}"}

    me = await client.get("/api/me", headers=headers)
    assert me.status_code == 200
    body = me.json()
    assert body["username"] == "expert"
    assert body["display_name"] == EXPERT.display_name
    assert body["role"] == "expert" and body["role_name"] == "评标专家"
    assert body["id_number"] == EXPERT.id_number[:4] + "*" * 10 + EXPERT.id_number[-4:]
    assert EXPERT.id_number not in me.text

    revoked = await client.delete("/api/auth/token", headers=headers)
    assert revoked.status_code == 204
    assert_json_error(await client.get("/api/me", headers=headers), 401)


async def test_an_api_token_lives_the_configured_hours_and_is_refreshed(client: AsyncTestClient) -> None:
    """Issue 14: API tokens live as long as the center allows (TRADING_API_TOKEN_HOURS), not 90 days."""
    issued = await client.post("/api/auth/token", json={"username": "expert", "password": DEMO_PASSWORD})
    old = {"Authorization": f"Bearer {issued.json()['token']}"}
    lifetime = datetime.fromisoformat(issued.json()["expires_at"]) - datetime.now(UTC)
    assert timedelta(hours=TOKEN_HOURS) - timedelta(minutes=5) < lifetime <= timedelta(hours=TOKEN_HOURS)

    refreshed = await client.post("/api/auth/token/refresh", headers=old)
    assert refreshed.status_code == 201, refreshed.text
    body = refreshed.json()
    assert body["token_type"] == "bearer"
    assert datetime.fromisoformat(body["expires_at"]) >= datetime.fromisoformat(issued.json()["expires_at"])
    new = {"Authorization": f"Bearer {body['token']}"}
    assert (await client.get("/api/me", headers=new)).json()["username"] == "expert"
    # The old token ended with the refresh, and cannot be refreshed a second time.
    assert_json_error(await client.get("/api/me", headers=old), 401)
    assert_json_error(await client.post("/api/auth/token/refresh", headers=old), 401)
    assert_json_error(await client.post("/api/auth/token/refresh"), 401)


async def test_api_token_is_not_a_session_cookie(client: AsyncTestClient) -> None:
    token = await api_token(client, "agency")
    client.cookies.set(SESSION_COOKIE, token)
    home = await client.get("/")
    assert "青山招标 王经理" not in home.text


async def test_me_without_token_is_401_json(client: AsyncTestClient) -> None:
    error = assert_json_error(await client.get("/api/me"), 401)
    assert error["message"] == "请先登录"
    assert_json_error(await client.get("/api/me", headers={"Authorization": "Bearer nonsense"}), 401)
    # Revoking needs a login too.
    assert_json_error(await client.delete("/api/auth/token"), 401)


async def test_wrong_password_on_api_is_401_json(client: AsyncTestClient) -> None:
    answer = await client.post("/api/auth/token", json={"username": "supervisor", "password": "not the password"})
    error = assert_json_error(answer, 401)
    assert error["message"] == "用户名或密码错误"


async def test_invalid_json_body_is_400_json(client: AsyncTestClient) -> None:
    answer = await client.post("/api/auth/token", content=b"{not json",
                               headers={"content-type": "application/json"})
    assert_json_error(answer, 400)
    answer = await client.post("/api/auth/token", json={"username": "expert"})  # no password
    assert_json_error(answer, 400)


async def test_keys_verify_center_signatures(client: AsyncTestClient, web_settings: Settings) -> None:
    answer = await client.get("/api/keys")
    assert answer.status_code == 200
    signing = answer.json()["signing"]
    assert signing["algorithm"] == "Ed25519"
    assert re.fullmatch(r"[0-9a-f]{64}", signing["verify_key"])
    record = {"purpose": "test", "text": "济宁市"}
    signature = load_center_keys(web_settings).sign(record)
    assert verify_signature(record, signature, signing["verify_key"])
    assert not verify_signature({**record, "text": "泰安市"}, signature, signing["verify_key"])


async def test_audit_checkpoints_are_public(client: AsyncTestClient) -> None:
    answer = await client.get("/api/audit/checkpoints")
    assert answer.status_code == 200
    body = answer.json()
    assert re.fullmatch(r"[0-9a-f]{64}", body["verify_key"])
    assert isinstance(body["checkpoints"], list)


async def test_rule_sets_are_listed(client: AsyncTestClient) -> None:
    answer = await client.get("/api/rulesets")
    assert answer.status_code == 200
    codes = {rule_set["code"] for rule_set in answer.json()}
    assert "construction-open-tender" in codes


async def test_one_rule_with_its_legal_source(client: AsyncTestClient) -> None:
    answer = await client.get("/api/rulesets/construction-open-tender/2019.1/rules/tender_docs_to_bid_deadline_min_days")
    assert answer.status_code == 200
    rule = answer.json()
    assert rule["value"] == 20
    assert rule["rule_set"] == {"code": "construction-open-tender", "version": "2019.1"}
    assert "第二十四条" in rule["source"] or "art. 24" in rule["source"]


async def test_unknown_rule_is_404_json(client: AsyncTestClient) -> None:
    answer = await client.get("/api/rulesets/construction-open-tender/2019.1/rules/no_such_rule")
    error = assert_json_error(answer, 404)
    assert error["code"] == "not_found"
    assert_json_error(await client.get("/api/rulesets/no-such-set/1.0"), 404)


async def test_openapi_schema_lists_the_api(client: AsyncTestClient) -> None:
    answer = await client.get("/api/docs/openapi.json")
    assert answer.status_code == 200
    schema = answer.json()
    assert schema["info"]["title"] == "公共资源交易平台 API"
    paths = schema["paths"]
    assert "/api/rulesets" in paths
    assert "/api/auth/token" in paths
    assert "/login" not in paths  # portal pages stay out of the API schema


async def test_only_supervisors_and_administrators_may_run_the_audit_check(client: AsyncTestClient) -> None:
    bidder = await api_token(client, "bidder2")
    refused = await client.get("/api/audit/verify", headers={"Authorization": f"Bearer {bidder}"})
    assert assert_json_error(refused, 403)["message"] == "您的角色无权执行此操作"
    supervisor = await api_token(client, "supervisor")
    answer = await client.get("/api/audit/verify", headers={"Authorization": f"Bearer {supervisor}"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["ok"] is True and body["entries"] > 0 and "审计日志完整" in body["message"]


async def test_an_undeclared_method_gets_a_json_405_in_chinese(client: AsyncTestClient) -> None:
    answer = await client.put("/api/keys")
    assert answer.status_code == 405
    assert answer.json()["error"]["message"] == "不支持此请求方式"
    assert set(answer.headers["allow"].split(", ")) == {"GET", "OPTIONS"}  # RFC 9110: what the path allows
