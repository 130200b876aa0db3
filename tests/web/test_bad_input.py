"""Bad input of any shape gets a clear Chinese 4xx at the edge, never a 5xx: NUL bytes in a
path or query, JSON nested beyond any real document, numbers and dates beyond what the
database holds (issue 14; more classes follow)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings as hypothesis_settings
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient

from tests.common.portal import bearer, csrf_token_from, log_in
from trading.settings import Settings
from web.core.edge import json_depth
from web.app import create_app



@pytest.fixture(scope="module")
async def client(demo, settings: Settings, database_url: str) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


def assert_chinese_400(answer, *, page: bool = False) -> None:
    assert answer.status_code == 400, (answer.status_code, answer.text[:300])
    if not page:
        message = answer.json()["error"]["message"]
        assert message and not message.isascii()


@pytest.mark.parametrize("path", ["/api/projects/%00", "/api/draws?project=%00", "/api/projects?q=a%00b"])
async def test_a_nul_byte_in_a_path_or_query_is_refused(client, path):
    assert_chinese_400(await client.get(path))


@pytest.mark.parametrize("path", ["/tenders?q=%00", "/credit?q=%00"])
async def test_a_nul_byte_on_a_page_is_refused_with_a_page(client, path):
    answer = await client.get(path)
    assert answer.status_code == 400 and "<html" in answer.text


async def test_json_nested_a_thousand_deep_is_refused(client):
    deep = "[" * 1000 + "]" * 1000
    answer = await client.post("/api/auth/token", content=deep, headers={"content-type": "application/json"})
    assert_chinese_400(answer)
    nested = '{"username": ' + '{"a": ' * 500 + "1" + "}" * 500 + ', "password": "x"}'
    answer = await client.post("/api/auth/token", content=nested, headers={"content-type": "application/json"})
    assert_chinese_400(answer)


@pytest.mark.parametrize("path", ["/api/committees/2147483648", "/tenders?before=2147483648",
                                  "/tenders?date_from=0001-01-01", "/tenders?date_to=9999-12-31"])
async def test_numbers_and_dates_beyond_the_database_are_refused(client, path):
    answer = await client.get(path, headers=await bearer(client, "admin"))
    assert answer.status_code in (400, 404), (answer.status_code, answer.text[:300])


@pytest.mark.parametrize(("path", "field"), [
    ("/api/committees/2147483648", "request_id"), ("/api/committees/0", "request_id"),
    ("/api/credit/records/99999999999999999999", "record_id"),
    ("/api/experts/review-due?date=9999-12-31", "date"), ("/api/experts/review-due?date=0001-01-01", "date"),
    ("/api/rooms/free?kind=opening&starts_at=0001-01-01T00:00:00&ends_at=2026-01-01T00:00:00", "starts_at"),
    ("/api/credit/preview?project=x&subject=x&deposit_fen=999999999999999999999", "deposit_fen"),
])
async def test_parameters_beyond_their_declared_bounds_get_a_chinese_400_naming_them(client, path, field):
    answer = await client.get(path, headers=await bearer(client, "admin"))
    assert_chinese_400(answer)
    error = answer.json()["error"]
    assert error["code"] == "invalid_request" and field in error["message"], error
    assert [item["key"] for item in error["details"]["fields"]] == [field]
    assert all(not item["message"].isascii() for item in error["details"]["fields"]), error


@pytest.mark.parametrize("path", ["/tenders?before=2147483648", "/tenders?before=0", "/center/rooms?day=9999-12-31"])
async def test_a_page_refuses_its_parameters_beyond_bounds_with_a_page(client, path):
    await log_in(client, "admin")
    answer = await client.get(path)
    assert answer.status_code == 400 and "<html" in answer.text and "请求参数不合法" in answer.text


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab中'),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                                        max_size=3),
                           max_leaves=20)


def depth_of(value) -> int:
    if isinstance(value, list):
        return 1 + max((depth_of(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(item) for item in value.values()), default=0)
    return 0


@hypothesis_settings(database=None, max_examples=300)
@given(json_values)
def test_the_depth_check_measures_nesting_not_brackets_inside_strings(value):
    assert json_depth(json.dumps(value, ensure_ascii=False).encode()) == depth_of(value)


NOT_UTF8 = b"\xff\xfe\xc3\x28 \xe4\xb8"  # a lone continuation byte, an unfinished character


async def test_invalid_utf8_in_the_bid_uploads_envelope_field_is_refused_naming_it(client):
    bidder = await bearer(client, "bidder1")
    files = {"envelope": (None, NOT_UTF8), "ciphertext": ("bid.sealed", b"\x00" * 64, "application/octet-stream")}
    answer = await client.post("/api/projects/JN-2026-GC-0001/bids", files=files, headers=bidder)
    assert_chinese_400(answer)
    assert answer.json()["error"]["details"]["field"] == "envelope" and "envelope" in answer.json()["error"]["message"]


@pytest.mark.parametrize(("path", "user", "fields"), [
    ("/api/agencies/import?dry_run=true", "admin", {"note": NOT_UTF8}),
    ("/api/experts/import?dry_run=true", "admin", {"note": NOT_UTF8}),
    ("/api/credit/bribery-checks", "admin", {"project_code": b"X", "subject_name": NOT_UTF8}),
    ("/api/credit/bribery-checks", "admin", {"project_code": b"X", "subject_name": "某\x00公司".encode()}),
])
async def test_every_multipart_api_form_refuses_a_text_field_that_is_not_utf8_or_holds_nul(client, path, user, fields):
    files = {name: (None, value) for name, value in fields.items()}
    files["file"] = ("list.csv", "代码,名称\n".encode(), "text/csv")
    answer = await client.post(path, files=files, headers=await bearer(client, user))
    assert_chinese_400(answer)
    field = next(name for name, value in fields.items() if value in (NOT_UTF8,) or b"\x00" in value)
    assert answer.json()["error"]["details"]["field"] == field, answer.json()


async def test_a_multipart_page_form_refuses_invalid_utf8_with_a_page(client):
    await log_in(client, "credit")
    token = await csrf_token_from(client, "/credit/import")
    files = {"_csrf_token": (None, token.encode()), "dry_run": (None, NOT_UTF8),
             "file": ("records.csv", b"a,b\n", "text/csv")}
    answer = await client.post("/credit/import", files=files)
    assert answer.status_code == 400 and "<html" in answer.text and "UTF-8" in answer.text


async def test_a_bid_envelope_nested_beyond_the_limit_is_refused(client):
    bidder = await bearer(client, "bidder1")
    for envelope in ("[" * 100_000 + "]" * 100_000, '{"a":' * 65 + "1" + "}" * 65):
        files = {"envelope": (None, envelope.encode()), "ciphertext": ("bid.sealed", b"\x01" * 64,
                                                                      "application/octet-stream")}
        answer = await client.post("/api/projects/JN-2026-GC-0001/bids", files=files, headers=bidder)
        assert_chinese_400(answer)
        assert "嵌套" in answer.json()["error"]["message"], answer.json()


@pytest.mark.parametrize("body", [b"username=a%00b&password=x", b"username=a%FFb&password=x"])
async def test_an_urlencoded_form_field_with_nul_or_invalid_utf8_is_refused_naming_it(client, body):
    token = await csrf_token_from(client)
    answer = await client.post("/login", content=body + f"&_csrf_token={token}".encode(),
                               headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 400 and "<html" in answer.text and "username" in answer.text
    assert "数字或日期" not in answer.text  # said what it is, not the database's guess


async def test_a_query_value_that_is_not_utf8_is_refused_naming_it(client):
    answer = await client.get("/api/draws?project=%FF%FE")
    assert_chinese_400(answer)
    assert answer.json()["error"]["details"]["field"] == "project"


@pytest.mark.parametrize("query", ["date_from=0001-01-01", "date_to=9999-12-31"])
async def test_the_announcement_filter_names_a_date_beyond_its_years(client, query):
    answer = await client.get(f"/tenders?{query}")
    assert answer.status_code == 400 and "应在 1900 年到 2999 年之间" in answer.text


async def test_a_body_that_fails_validation_is_refused_naming_each_field_in_chinese(client):
    answer = await client.post("/api/auth/token", json={"username": "x" * 65})
    assert_chinese_400(answer)
    fields = answer.json()["error"]["details"]["fields"]
    assert {field["key"] for field in fields} == {"username", "password"}, fields
    assert all(not field["message"].isascii() for field in fields), fields
    assert "username" in answer.json()["error"]["message"] and "password" in answer.json()["error"]["message"]


@pytest.mark.parametrize(("username", "path", "body", "field"), [
    ("bidder1", "/api/projects/JN-2026-GC-0001/opening/objections", {"text": 5}, "text"),
    ("admin", "/api/projects/JN-2026-GC-0001/opening/max-price", {"max_price_fen": "一百万"}, "max_price_fen"),
    ("expert", "/api/projects/JN-2026-GC-0001/evaluation/scores",
     {"bidder_credit_code": "91370800MA3C5K8E74", "scores": ["技术"]}, "scores"),
    ("expert", "/api/projects/JN-2026-GC-0001/evaluation/reviews", {"verdict": "reject", "ground": "一"}, "ground"),
    ("tenderer", "/api/projects/JN-2026-GC-0001/award/choice", {"rank": "first", "reason": "价格最低"}, "rank"),
    ("supervisor", "/api/projects/JN-2026-GC-0001/complaints/1/decision", {"outcome": 1}, "outcome"),
])
async def test_a_body_of_the_wrong_shape_gets_a_chinese_400_naming_the_field(client, username, path, body, field):
    """The typed bodies (web.api.schemas) are checked before the handler runs: the refusal is the
    project's error shape, in Chinese, and names the field."""
    answer = await client.post(path, json=body, headers=await bearer(client, username))
    assert_chinese_400(answer)
    error = answer.json()["error"]
    assert error["code"] == "invalid_request" and field in error["message"], error
    assert field in [item["key"] for item in error["details"]["fields"]], error
    assert all(not item["message"].isascii() for item in error["details"]["fields"]), error


async def test_a_typed_body_missing_a_field_names_the_field_not_the_body(client):
    admin = await bearer(client, "admin")
    answer = await client.post("/api/projects/JN-2026-GC-0001/opening/max-price", json={}, headers=admin)
    assert_chinese_400(answer)
    assert answer.json()["error"]["details"]["fields"] == [{"key": "max_price_fen", "message": "必须填写"}]
    answer = await client.post("/api/projects/JN-2026-GC-0001/opening/max-price", json=[1], headers=admin)
    assert answer.json()["error"]["details"]["fields"] == [{"key": "body", "message": "应为 JSON 对象"}]
