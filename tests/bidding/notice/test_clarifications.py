"""Questions and clarifications (答疑、澄清/修改): the asker is hidden from the tendering party
and shown to supervisors; only admitted bidders ask; a clarification published fewer than
15 days before the deadline moves it (招标投标法 第二十三条), otherwise the deadline stays;
every admitted bidder is told through the outbox; the publication is a "change" announcement."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bidding.notice.announcements import Announcement
from bidding.notice.clarifications import clarification_subject, ask_question, publish_clarification, questions_for
from bidding.tender.lifecycle import apply_transition
from bidding.tender.projects import Project, register_project
from bidding.tender.registrations import register_bidder
from cli.demo import load_demo_data
from tests.common import factories
from tests.common.portal import bearer
from trading.audit import AuditEntry
from trading.database import database_now, make_sessionmaker, transaction
from trading.errors import Conflict, PermissionDenied
from trading.notifications import messages_about
from trading.settings import Settings
from web.app import create_app

_codes = itertools.count(1)


async def announced_tender(session: AsyncSession, *, days_left: float, bidders: int = 2):
    """A tender announced with 21 days to go, then aged until ``days_left`` remain; with
    ``bidders`` admitted bidders."""
    party = await factories.organisation(session, "tendering_party")
    project = await register_project(session, actor="test", code=f"JN-2026-GC-Q{next(_codes):04d}",
                                     title="济宁市答疑测试工程", category="construction", method="open_tender",
                                     region_code="370800", tendering_party_id=party.id, estimate_fen=10_000_000_00)
    orgs = []
    for _ in range(bidders):
        org = await factories.organisation(session, "bidder")
        await register_bidder(session, actor="test", project_code=project.code, bidder_credit_code=org.credit_code)
        orgs.append(org)
    now = await database_now(session)
    await apply_transition(session, actor="test", project_code=project.code, action="announce",
                           facts={"bid_deadline": now + timedelta(days=21)})
    shift = timedelta(days=21) - timedelta(days=days_left)
    await session.execute(update(Project).where(Project.code == project.code).values(
        documents_issued_at=Project.documents_issued_at - shift, bid_deadline=Project.bid_deadline - shift,
        next_due_at=Project.next_due_at - shift))
    project = await session.scalar(select(Project).where(Project.code == project.code)
                                   .execution_options(populate_existing=True))
    return project, orgs


async def test_the_asker_is_hidden_from_the_tendering_party_and_shown_to_supervisors(session):
    project, (first, second) = await announced_tender(session, days_left=20)
    one = await ask_question(session, actor="test:b1", project_code=project.code, bidder_organisation_id=first.id,
                             text="第三章技术参数是否允许偏离？")
    two = await ask_question(session, actor="test:b2", project_code=project.code, bidder_organisation_id=second.id,
                             text="工期能否顺延？")
    assert (one.public_number, two.public_number) == (1, 2)

    for role in ("tendering_party", "agency"):
        views = await questions_for(session, project.code, role)
        assert [view["label"] for view in views] == ["问题1", "问题2"]
        for view in views:
            assert not {"bidder_credit_code", "bidder_name", "registration_id", "asked_by"} & set(view)
            assert first.credit_code not in str(view) and first.name not in str(view)
    for role in ("supervisor", "admin"):
        views = await questions_for(session, project.code, role)
        assert [(view["bidder_credit_code"], view["bidder_name"]) for view in views] == [
            (first.credit_code, first.name), (second.credit_code, second.name)]
    # The public sees answered questions only; a bidder its own as well.
    assert await questions_for(session, project.code, None) == []
    mine = await questions_for(session, project.code, "bidder", second.id)
    assert [view["number"] for view in mine] == [2] and mine[0]["mine"]

    await publish_clarification(session, actor="test:party", project_code=project.code, title="答疑（一）",
                                body="允许偏离，详见修改后的第三章。", answers=[one.id])
    public = await questions_for(session, project.code, None)
    assert [view["number"] for view in public] == [1] and "bidder_name" not in public[0]
    with pytest.raises(Conflict, match="已答复"):
        await publish_clarification(session, actor="test:party", project_code=project.code, title="答疑（二）",
                                    body="重复", answers=[one.id])


async def test_an_unregistered_bidder_cannot_ask(session):
    project, _ = await announced_tender(session, days_left=20, bidders=1)
    outsider = await factories.organisation(session, "bidder")
    with pytest.raises(PermissionDenied, match="不能提问"):
        await ask_question(session, actor="test", project_code=project.code, bidder_organisation_id=outsider.id,
                           text="能否参与？")


async def test_a_clarification_20_days_before_the_deadline_keeps_it(session):
    project, _ = await announced_tender(session, days_left=20)
    deadline = project.bid_deadline
    clarification = await publish_clarification(session, actor="test", project_code=project.code,
                                                title="澄清（一）", body="更正图纸编号。")
    project = await session.scalar(select(Project).where(Project.code == project.code)
                                   .execution_options(populate_existing=True))
    assert project.bid_deadline == deadline and clarification.deadline_after is None
    assert await session.scalar(select(AuditEntry.seq).where(
        AuditEntry.action == "tender.deadline_extended", AuditEntry.subject == f"project:{project.code}")) is None


async def test_a_clarification_10_days_before_the_deadline_moves_it_to_15_days_after_publication(session):
    project, _ = await announced_tender(session, days_left=10)
    await apply_transition(session, actor="test", project_code=project.code, action="open_bidding")
    clarification = await publish_clarification(session, actor="test", project_code=project.code,
                                                title="修改（一）", body="修改工程量清单。")
    project = await session.scalar(select(Project).where(Project.code == project.code)
                                   .execution_options(populate_existing=True))
    assert clarification.deadline_after == clarification.published_at + timedelta(days=15)
    assert project.bid_deadline == clarification.deadline_after
    assert project.state == "bidding" and project.next_due_at == project.bid_deadline  # the chronograph waits for it
    entry = await session.scalar(select(AuditEntry).where(
        AuditEntry.action == "tender.deadline_extended", AuditEntry.subject == f"project:{project.code}"))
    assert entry.data["rule"] == "clarification_min_days_before_deadline" and entry.data["value"] == 15
    assert "第二十三条" in entry.data["source"]
    assert entry.data["to"] == project.bid_deadline.isoformat()


async def test_every_admitted_bidder_is_told_and_the_publication_is_a_change_announcement(session):
    project, bidders = await announced_tender(session, days_left=18, bidders=3)
    clarification = await publish_clarification(session, actor="test", project_code=project.code,
                                                title="澄清（一）", body="补充技术要求。")
    messages = await messages_about(session, clarification_subject(clarification))
    assert sorted(message.recipient for message in messages) == sorted(
        f"organisation:{org.credit_code}" for org in bidders)
    assert all(message.status == "pending" and "澄清（一）" in message.body for message in messages)
    announcement = await session.get(Announcement, clarification.announcement_id)
    assert (announcement.kind, announcement.project_id, announcement.title) == ("change", project.id, "澄清（一）")
    assert "补充技术要求" in announcement.body


async def test_nothing_is_published_before_the_announcement(session):
    party = await factories.organisation(session, "tendering_party")
    project = await register_project(session, actor="test", code=f"JN-2026-GC-Q{next(_codes):04d}", title="未公告工程",
                                     category="construction", method="open_tender", region_code="370800",
                                     tendering_party_id=party.id, estimate_fen=1_000_00)
    with pytest.raises(Conflict):
        await publish_clarification(session, actor="test", project_code=project.code, title="澄清", body="内容")


# ------------------------------------------------------------------------------- API

RENOVATION = "JN-2026-GC-0008"  # tendering party: 济宁市城市建设投资中心 (not the demo tenderer)
EQUIPMENT = "JN-2026-CG-0031"  # tendering party: 济宁市第一人民医院 (the demo tenderer)


@pytest.fixture(scope="module")
async def client(settings: Settings, database_url: str, engine: AsyncEngine) -> AsyncIterator[AsyncTestClient]:
    async with transaction(make_sessionmaker(engine)) as session:
        await load_demo_data(session, pools=False)
        await register_bidder(session, actor="test", project_code=EQUIPMENT, bidder_credit_code="91370800MA1234567Q")
        now = await database_now(session)
        await apply_transition(session, actor="test", project_code=EQUIPMENT, action="announce",
                               facts={"bid_deadline": now + timedelta(days=30)})
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


async def test_the_api_keeps_the_asker_anonymous_to_the_tenderer(client):
    path = f"/api/projects/{EQUIPMENT}/questions"
    assert (await client.post(path, json={"text": "？"})).status_code == 401
    assert (await client.post(path, json={"text": "交货期？"}, headers=await bearer(client, "bidder2"))).status_code == 403
    asked = await client.post(path, json={"text": "交货期能否延长？"}, headers=await bearer(client, "bidder1"))
    assert asked.status_code == 201, asked.text
    question = asked.json()

    tenderer = await client.get(path, headers=await bearer(client, "tenderer"))
    assert tenderer.status_code == 200
    assert [view["text"] for view in tenderer.json()] == ["交货期能否延长？"]
    assert "91370800MA1234567Q" not in tenderer.text and "鲁建" not in tenderer.text
    agency = await client.get(path, headers=await bearer(client, "agency"))  # not drawn for this project
    assert agency.status_code == 200 and agency.json() == []
    supervisor = await client.get(path, headers=await bearer(client, "supervisor"))
    assert supervisor.json()[0]["bidder_credit_code"] == "91370800MA1234567Q"
    assert (await client.get(path)).json() == []

    publish = f"/api/projects/{EQUIPMENT}/clarifications"
    body = {"title": "答疑（一）", "body": "交货期不变。", "answers": [question["id"]]}
    assert (await client.post(publish, json=body, headers=await bearer(client, "bidder1"))).status_code == 403
    other_party = await client.post(f"/api/projects/{RENOVATION}/clarifications", json=body,
                                    headers=await bearer(client, "tenderer"))
    assert other_party.status_code == 403
    published = await client.post(publish, json=body, headers=await bearer(client, "tenderer"))
    assert published.status_code == 201, published.text
    assert published.json()["deadline_moved"] is False
    public = (await client.get(path)).json()
    assert [view["number"] for view in public] == [1] and public[0]["answered_by"] == published.json()["id"]
    assert "bidder_credit_code" not in public[0]
