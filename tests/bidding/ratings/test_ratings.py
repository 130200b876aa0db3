"""Ratings after a tender: only the project's tendering party or a supervisor rates, only
experts who sat on its committee and the agency that served it, only once the work is over;
a rating at the rule set's floor suspends the expert."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, text

from bidding.draws.project_draws import draw_project_agency, request_project_committee
from expert_pool.committees import INVITED, GroupSpec, answer_invitation
from tests.common import factories
from tests.common.committees import members, witness_all
from tests.common.portal import bearer
from trading.database import make_sessionmaker, transaction
from trading.draws import supply_witness
from trading.keys import load_center_keys
from trading.settings import Settings
from web.app import create_app

PROJECT = "JN-2026-GC-0007"  # the demo hospital's project; "tenderer" is its party


@pytest.fixture
async def client(demo, settings: Settings, database_url: str) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


async def set_state(engine, state: str) -> None:
    async with transaction(make_sessionmaker(engine)) as session:
        await session.execute(text("UPDATE projects SET state = :s WHERE code = :c"), {"s": state, "c": PROJECT})


async def test_the_party_rates_its_committee_and_agency_once_the_work_is_over(client, settings, engine):
    keys = load_center_keys(settings)
    async with transaction(make_sessionmaker(engine)) as session:
        pool = {expert.id: expert.code for expert in [await factories.expert(session) for _ in range(7)]}
        outsider = (await factories.expert(session, specialties=["A0601"])).code  # not in the drawn group's pool
        now = await session.scalar(select(func.now()))
        request = await request_project_committee(
            session, keys, actor="test", project_code=PROJECT, starts_at=now + timedelta(days=2),
            ends_at=now + timedelta(days=2, hours=4), place="第1评标室", groups=[GroupSpec("A0801", 5, 2)])
        await witness_all(session, keys, request.id)
        seated = [m for m in await members(session, request.id) if m.status == INVITED]
        for member in seated:
            await answer_invitation(session, keys, member_id=member.id, expert_id=member.expert_id, accept=True,
                                    actor="test")
        sat = [pool[m.expert_id] for m in seated]
        await factories.agency(session, "AG-RATE")
        drawn = await draw_project_agency(session, keys, actor="test", project_code=PROJECT, reserve_count=0)
        await supply_witness(session, keys, drawn.draw_id, value="招标人见证 77", by="user:2:tenderer")
    assert len(sat) == 5 and outsider not in sat

    tenderer, supervisor, bidder = [await bearer(client, name) for name in ("tenderer", "supervisor", "bidder1")]
    expert_path = f"/api/projects/{PROJECT}/ratings/experts"
    early = await client.post(f"{expert_path}/{sat[0]}", json={"score": 90}, headers=tenderer)
    assert early.status_code == 409 and "评标尚未结束" in early.json()["error"]["message"]

    await set_state(engine, "publicity")
    assert (await client.post(f"{expert_path}/{sat[0]}", json={"score": 90}, headers=bidder)).status_code == 403
    other_party = await client.post(f"/api/projects/JN-2026-GC-0008/ratings/experts/{sat[0]}", json={"score": 90},
                                    headers=tenderer)
    assert other_party.status_code == 403
    stranger = await client.post(f"{expert_path}/{outsider}", json={"score": 90}, headers=tenderer)
    assert stranger.status_code == 404 and "不是项目" in stranger.json()["error"]["message"]

    rated = await client.post(f"{expert_path}/{sat[0]}", json={"score": 92, "comment": "评审认真"}, headers=tenderer)
    assert rated.status_code == 201 and rated.json()["suspended"] is False, rated.text
    assert (await client.post(f"{expert_path}/{sat[0]}", json={"score": 80}, headers=tenderer)).status_code == 409
    floor = await client.post(f"{expert_path}/{sat[1]}", json={"score": 30, "comment": "迟到早退"}, headers=supervisor)
    assert floor.status_code == 201 and floor.json()["suspended"] is True
    assert floor.json()["rule"] == "expert_rating_suspend_at_or_below"

    agency_path = f"/api/projects/{PROJECT}/ratings/agency"
    assert (await client.post(agency_path, json={"score": 85}, headers=tenderer)).status_code == 409
    await set_state(engine, "awarded")
    assert (await client.post(agency_path, json={"score": 101}, headers=tenderer)).status_code == 400
    assert (await client.post(agency_path, json={"score": 85}, headers=tenderer)).status_code == 201
    assert (await client.post(agency_path, json={"score": 85}, headers=tenderer)).status_code == 409
    unfinished = await client.post("/api/projects/JN-2026-GC-0008/ratings/agency", json={"score": 85},
                                   headers=supervisor)
    assert unfinished.status_code == 409  # still registered: its agency work is not over
