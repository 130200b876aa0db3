"""A whole draw through the API: the agency and the committee of a demo tender, the
supervisor's witness, the experts' answers, and outside verification."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, text

from cli.demo import load_demo_data
from expert_pool.models import Expert
from tests.common.portal import bearer
from trading.accounts import create_user
from trading.database import make_sessionmaker, transaction
from web.app import create_app

PROJECT = "JN-2026-GC-0007"


@pytest.fixture(scope="module")
async def client(settings, database_url, engine) -> AsyncIterator[AsyncTestClient]:
    async with transaction(make_sessionmaker(engine)) as session:
        await load_demo_data(session)  # includes the sample expert and agency pools
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as client:
        yield client


async def test_an_agency_drawn_through_the_api_verifies_with_the_command_line(client, cli, tmp_path):
    admin = await bearer(client, "admin")
    answer = await client.post("/api/agency-draws", json={"project_code": PROJECT}, headers=admin)
    assert answer.status_code == 201, answer.text
    draw_id = answer.json()["commit"]["record"]["draw_id"]
    assert answer.json()["reveal"] is None and answer.json()["witness"] is None  # it waits for its witness
    # The tendering party witnesses: not the center, not another party, not an unasked supervisor.
    tenderer = await bearer(client, "tenderer")
    witness = {"value": "招标人现场 6620"}
    assert (await client.post(f"/api/draws/{draw_id}/witness", json=witness, headers=admin)).status_code == 403
    unasked = await client.post(f"/api/draws/{draw_id}/witness", json=witness, headers=await bearer(client, "supervisor"))
    assert unasked.status_code == 403 and "招标人" in unasked.json()["error"]["message"]
    assert (await client.get(f"/api/agency-draws/{PROJECT}")).json()["agency"] is None
    witnessed = await client.post(f"/api/draws/{draw_id}/witness", json=witness, headers=tenderer)
    assert witnessed.status_code == 201, witnessed.text
    bundle = witnessed.json()
    assert bundle["reveal"] is not None  # agencies are revealed as soon as witnessed
    assert bundle["witness"]["value"] == "招标人现场 6620" and bundle["witness"]["by"].endswith(":tenderer")
    path = tmp_path / "agency.json"
    path.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    verified = await cli("draw", "verify", str(path))
    assert verified.exit_code == 0 and bundle["reveal"]["record"]["selected"][0] in verified.output
    current = (await client.get(f"/api/agency-draws/{PROJECT}")).json()
    assert current["agency"]["code"] == bundle["reveal"]["record"]["selected"][0]
    # Only the project's own tendering party may decline, and only with a reason.
    assert (await client.post(f"/api/agency-draws/{PROJECT}/decline", json={"reason": "x"},
                              headers=await bearer(client, "agency"))).status_code == 403
    tenderer = await bearer(client, "tenderer")
    assert (await client.post(f"/api/agency-draws/{PROJECT}/decline", json={"reason": " "}, headers=tenderer)).status_code == 400
    declined = await client.post(f"/api/agency-draws/{PROJECT}/decline", json={"reason": "该机构同期项目过多"}, headers=tenderer)
    assert declined.json()["agency"]["code"] == bundle["reveal"]["record"]["reserves"][0]


async def test_an_agency_draw_is_witnessed_by_a_supervisor_only_at_the_tendering_partys_request(client):
    project = "JN-2026-CG-0031"  # the same tendering party's procurement project
    admin, tenderer = await bearer(client, "admin"), await bearer(client, "tenderer")
    supervisor = await bearer(client, "supervisor")
    draw_id = (await client.post("/api/agency-draws", json={"project_code": project}, headers=admin)).json()[
        "commit"]["record"]["draw_id"]
    other = (await client.post("/api/agency-draws", json={"project_code": "JN-2026-GC-0008"}, headers=admin)).json()
    assert (await client.post("/api/agency-draws/JN-2026-GC-0008/witness-request", headers=tenderer)).status_code == 403
    assert (await client.post(f"/api/draws/{other['commit']['record']['draw_id']}/witness", json={"value": "x"},
                              headers=tenderer)).status_code == 403  # not its project
    assert (await client.post(f"/api/agency-draws/{project}/witness-request", headers=admin)).status_code == 403
    asked = await client.post(f"/api/agency-draws/{project}/witness-request", headers=tenderer)
    assert asked.status_code == 201, asked.text
    assert (await client.get(f"/api/agency-draws/{project}")).json()["supervisor_asked"] is True
    again = await client.post(f"/api/agency-draws/{project}/witness-request", headers=tenderer)
    assert again.status_code == 409
    witnessed = await client.post(f"/api/draws/{draw_id}/witness", json={"value": "监督员 4471"}, headers=supervisor)
    assert witnessed.status_code == 201, witnessed.text
    assert witnessed.json()["reveal"] is not None and witnessed.json()["witness"]["by"].endswith(":supervisor")


async def test_a_committee_drawn_through_the_api(client, engine, cli):
    admin = await bearer(client, "admin")
    async with engine.connect() as conn:
        start = (await conn.scalar(select(func.now()))) + timedelta(days=2)
    body = {"project_code": PROJECT, "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=4)).isoformat(),
            "place": "济宁市公共资源交易中心 第2评标室", "groups": [{"specialty": "A08", "count": 5, "reserve_count": 2}],
            "bidder_codes": ["91370800MA1234567Q", "91370811MA23456788"]}
    assert (await client.post("/api/committees", json=body, headers=await bearer(client, "supervisor"))).status_code == 403
    made = await client.post("/api/committees", json=body, headers=admin)
    assert made.status_code == 201, made.text
    committee = made.json()
    assert committee["members"] is None
    [draw_id] = committee["groups"][0]["draws"]
    bundle = (await client.get(f"/api/draws/{draw_id}")).json()
    assert bundle["commit"]["record"]["criteria"]["witness"] == "supervisor" and bundle["witness"] is None

    witnessed = await client.post(f"/api/draws/{draw_id}/witness", json={"value": "现场见证 8841"},
                                  headers=await bearer(client, "supervisor"))
    assert witnessed.status_code == 201 and witnessed.json()["reveal"] is None
    view = (await client.get(f"/api/committees/{committee['id']}", headers=admin)).json()
    assert view["groups"][0]["invited"] == 5 and view["members"] is None

    # One invited expert logs in, sees time and place only, and declines with a reason.
    async with transaction(make_sessionmaker(engine)) as session:
        code = (await session.execute(text(
            "SELECT e.code, e.id_number FROM committee_members m JOIN experts e ON e.id = m.expert_id "
            "WHERE m.request_id = :r AND m.status = 'invited' ORDER BY m.id LIMIT 1"), {"r": committee["id"]})).first()
        employer = await session.scalar(select(Expert.employer_id).where(Expert.code == code[0]))
        await create_user(session, actor="test", username="drawn-expert", display_name="被抽中的专家", role="expert",
                          password="Demo#2026", organisation_id=employer or await _employer_org(session),
                          id_number=code[1])
    expert = await bearer(client, "drawn-expert")
    [invitation] = (await client.get("/api/me/invitations", headers=expert)).json()
    assert set(invitation) == {"id", "starts_at", "ends_at", "place", "status", "status_name"}
    answered = await client.post(f"/api/me/invitations/{invitation['id']}", json={"accept": False, "reason": "出国"},
                                 headers=expert)
    assert answered.status_code == 201 and answered.json()[0]["status"] == "declined"
    view = (await client.get(f"/api/committees/{committee['id']}", headers=admin)).json()
    assert view["groups"][0]["invited"] == 5  # the first reserve stepped in

    early = await client.post(f"/api/committees/{committee['id']}/unseal", headers=admin)
    assert early.status_code == 422 and "评标开始前" in early.json()["error"]["message"]
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE committee_requests SET starts_at = now() - interval '1 minute' WHERE id = :r"),
                           {"r": committee["id"]})
        await conn.execute(text("UPDATE draws SET unseal_at = now() - interval '1 minute' WHERE draw_id = :d"), {"d": draw_id})
    unsealed = await client.post(f"/api/committees/{committee['id']}/unseal", headers=admin)
    assert unsealed.status_code == 201 and len(unsealed.json()["members"]) == 5
    assert code[0] not in {m["code"] for m in unsealed.json()["members"]}
    verified = await cli("draw", "verify", draw_id)
    assert verified.exit_code == 0, verified.output


async def _employer_org(session) -> int:
    from trading.organisations import Organisation

    return await session.scalar(select(Organisation.id).where(Organisation.roles.contains(["expert_employer"])).limit(1))
