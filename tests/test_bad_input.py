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

from tests import test_bids as bids
from tests.portal import bearer
from trading.settings import Settings
from web.edge import json_depth
from web.app import create_app

demo = bids.demo


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
