"""Projects over the API: registration by the right parties, the public view, the
announcement (rule-checked, with the opening key), termination and closing by the center."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from litestar.testing import AsyncTestClient

from tests.common.portal import bearer
from trading.settings import Settings
from trading.timefmt import CENTER_ZONE
from web.app import create_app

HOSPITAL = "12370800MB12345670"  # the demo tendering party "tenderer"
CITY_INVESTMENT = "11370800MB0000001E"  # another tendering party


@pytest.fixture
async def client(demo, settings: Settings, database_url: str) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


def project(code: str, party: str = HOSPITAL) -> dict:
    return {"code": code, "title": "济宁市第一人民医院门诊楼装修工程", "category": "construction",
            "method": "open_tender", "region_code": "370800", "tendering_party_credit_code": party,
            "estimate_fen": 12_000_000_00}


def days_from_now(days: int) -> str:
    return (datetime.now(CENTER_ZONE) + timedelta(days=days)).replace(hour=9, minute=30, second=0,
                                                                      microsecond=0).isoformat()


async def test_the_tendering_party_registers_its_own_project_and_everyone_can_read_it(client):
    tenderer, bidder = await bearer(client, "tenderer"), await bearer(client, "bidder1")
    assert (await client.post("/api/projects", json=project("JN-2026-GC-A001"))).status_code == 401
    assert (await client.post("/api/projects", json=project("JN-2026-GC-A001"), headers=bidder)).status_code == 403
    refused = await client.post("/api/projects", json=project("JN-2026-GC-A001", CITY_INVESTMENT), headers=tenderer)
    assert refused.status_code == 403 and "本单位" in refused.json()["error"]["message"]

    made = await client.post("/api/projects", json=project("JN-2026-GC-A001"), headers=tenderer)
    assert made.status_code == 201, made.text
    assert made.json()["state"] == "registered" and made.json()["rule_set"].startswith("construction-open-tender@")
    again = await client.post("/api/projects", json=project("JN-2026-GC-A001"), headers=tenderer)
    assert again.status_code == 409 and "已存在" in again.json()["error"]["message"]

    shown = await client.get("/api/projects/JN-2026-GC-A001")
    assert shown.status_code == 200 and shown.json()["state_name"] == "已进场登记"
    assert shown.json()["tendering_party"]["name"] == "济宁市第一人民医院"
    assert "JN-2026-GC-A001" in [p["code"] for p in (await client.get("/api/projects?state=registered")).json()]
    assert (await client.get("/api/projects/JN-NONE")).status_code == 404


@pytest.mark.parametrize("code", ["a/b", " ", "x?y#z", "=1+1", "-JN-1", "JN 2026", "项目一"])
async def test_a_project_code_that_would_break_its_urls_is_refused_naming_the_field(client, code):
    tenderer = await bearer(client, "tenderer")
    refused = await client.post("/api/projects", json=project(code), headers=tenderer)
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["details"]["field"] == "code" and "项目编号" in error["message"]


async def test_the_announcement_names_the_rule_and_publishes_the_opening_key(client):
    tenderer, agency = await bearer(client, "tenderer"), await bearer(client, "agency")
    assert (await client.post("/api/projects", json=project("JN-2026-GC-A002"), headers=tenderer)).status_code == 201
    path = "/api/projects/JN-2026-GC-A002/announce"
    # The demo agency was not drawn for this project: it may not announce it.
    assert (await client.post(path, json={"bid_deadline": days_from_now(25)}, headers=agency)).status_code == 403
    naive = await client.post(path, json={"bid_deadline": "2026-12-30T09:30:00"}, headers=tenderer)
    assert naive.status_code == 400 and "时区" in naive.json()["error"]["message"]
    too_soon = await client.post(path, json={"bid_deadline": days_from_now(10)}, headers=tenderer)
    assert too_soon.status_code == 422, too_soon.text
    assert too_soon.json()["error"]["details"]["rule"] == "tender_docs_to_bid_deadline_min_days"
    assert "二十日" in too_soon.json()["error"]["message"] or "20" in too_soon.json()["error"]["message"]

    announced = await client.post(path, json={"bid_deadline": days_from_now(25)}, headers=tenderer)
    assert announced.status_code == 201, announced.text
    assert announced.json()["state"] == "announced"
    published = (await client.get("/api/projects/JN-2026-GC-A002/opening-key")).json()
    assert published["public_key"] == announced.json()["opening_public_key"]


async def test_only_the_center_terminates_with_a_reason_and_closing_waits_for_the_contract(client):
    admin, tenderer = await bearer(client, "admin"), await bearer(client, "tenderer")
    assert (await client.post("/api/projects", json=project("JN-2026-GC-A003"), headers=tenderer)).status_code == 201
    path = "/api/projects/JN-2026-GC-A003"
    closing = await client.post(f"{path}/close", headers=admin)
    assert closing.status_code == 409 and "已进场登记" in closing.json()["error"]["message"]
    assert (await client.post(f"{path}/terminate", json={"reason": "项目取消"}, headers=tenderer)).status_code == 403
    assert (await client.post(f"{path}/terminate", json={"reason": ""}, headers=admin)).status_code == 400
    ended = await client.post(f"{path}/terminate", json={"reason": "招标人因资金原因取消项目"}, headers=admin)
    assert ended.status_code == 201 and ended.json()["state"] == "terminated"


async def test_a_terminated_tender_is_re_tendered_once_as_a_new_linked_project(client):
    admin, tenderer = await bearer(client, "admin"), await bearer(client, "tenderer")
    assert (await client.post("/api/projects", json=project("JN-2026-GC-A004"), headers=tenderer)).status_code == 201
    path = "/api/projects/JN-2026-GC-A004"
    early = await client.post(f"{path}/retender", json={"code": "JN-2026-GC-A005"}, headers=tenderer)
    assert early.status_code == 409 and "不能重新招标" in early.json()["error"]["message"]
    await client.post(f"{path}/terminate", json={"reason": "招标文件存在重大错误"}, headers=admin)

    again = await client.post(f"{path}/retender", json={"code": "JN-2026-GC-A005"}, headers=tenderer)
    assert again.status_code == 201, again.text
    assert again.json()["retender_of"] == "JN-2026-GC-A004" and again.json()["state"] == "registered"
    assert again.json()["title"].endswith("（重新招标）")
    twice = await client.post(f"{path}/retender", json={"code": "JN-2026-GC-A006"}, headers=tenderer)
    assert twice.status_code == 409 and "JN-2026-GC-A005" in twice.json()["error"]["message"]
