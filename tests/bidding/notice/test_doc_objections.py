"""Objections to the tender documents (实施条例 第二十二条): an admitted bidder objects at
least 10 days before the deadline (refused after, naming the rule and its source), the
answer clock runs 3 days, the tender is suspended (no bids) until every objection is
answered, an answer that changes the documents moves the deadline, and the objector is
anonymous to the other bidders and the tendering party."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bidding.tender.deadlines import Deadline
from bidding.notice.objections import answer_doc_objection, doc_objections_for, objection_subject, raise_doc_objection
from bidding.tender.lifecycle import apply_transition
from bidding.tender.projects import Project, register_project
from bidding.tender.registrations import register_bidder
from bidding.tender.states import period_ends_at
from cli.demo import load_demo_data
from tests.common import factories
from tests.common import bids
from tests.common.portal import bearer
from tests.common.tenders import tender_project
from trading.audit import AuditEntry
from trading.database import database_now, make_sessionmaker, transaction
from trading.errors import Conflict, PermissionDenied, RuleViolation
from trading.keys import CenterKeys
from trading.notifications import messages_about
from trading.organisations import Organisation
from trading.settings import Settings
from web.app import create_app

_codes = itertools.count(1)
SIGNING_KEYS: dict[str, object] = {}


async def tender_in_bidding(session: AsyncSession, keys: CenterKeys, *, days_left: float, bidders: int = 2):
    """A construction tender in bidding (opening key made) with ``days_left`` days to its
    deadline and ``bidders`` admitted bidders with their identity keys."""
    tender = await tender_project(session, keys, "bidding")  # 21 days to go
    orgs = []
    for _ in range(bidders):
        code, signing_key = await bids.bidder(session, tender.code)
        orgs.append(await session.scalar(select(Organisation).where(Organisation.credit_code == code)))
        SIGNING_KEYS[code] = signing_key
    shift = timedelta(days=21) - timedelta(days=days_left)
    await session.execute(update(Project).where(Project.code == tender.code).values(
        documents_issued_at=Project.documents_issued_at - shift, bid_deadline=Project.bid_deadline - shift,
        next_due_at=Project.next_due_at - shift))
    return await reload(session, tender.code), orgs


async def reload(session: AsyncSession, code: str) -> Project:
    return await session.scalar(select(Project).where(Project.code == code).execution_options(populate_existing=True))


async def test_an_objection_suspends_the_tender_bids_are_refused_and_the_answer_resumes_it(session, keys):
    project, (objector, other) = await tender_in_bidding(session, keys, days_left=15)
    deadline = project.bid_deadline
    objection = await raise_doc_objection(session, actor="bidder", project_code=project.code,
                                          bidder_organisation_id=objector.id, text="评分标准第3.2条排斥潜在投标人")
    project = await reload(session, project.code)
    assert (project.state, project.suspended_from, project.next_due_at) == ("suspended", "bidding", None)
    assert objection.answer_due_at == period_ends_at(objection.raised_at, 3)
    clock = await session.scalar(select(Deadline).where(Deadline.subject == objection_subject(objection)))
    assert (clock.kind, clock.rule, clock.due_at, clock.met_at) == (
        "docs_objection_answer", "docs_objection_answer_days", objection.answer_due_at, None)

    # While suspended, no bid is accepted.
    _, ciphertext, envelope = await bids.sealed(session, project.code, other.credit_code,
                                                SIGNING_KEYS[other.credit_code])
    with pytest.raises(Conflict, match="暂停"):
        await bids.submit(session, keys, project.code, other.credit_code, envelope, ciphertext)

    await answer_doc_objection(session, actor="tenderer", project_code=project.code, objection_id=objection.id,
                               answer="第3.2条不限定品牌，维持原文。")
    project = await reload(session, project.code)
    # Resumed, the deadline moved by the time the tender was paused (here a moment).
    assert project.state == "bidding" and project.next_due_at == project.bid_deadline
    assert deadline < project.bid_deadline < deadline + timedelta(seconds=30)
    await session.refresh(clock)
    assert clock.met_at is not None and clock.met_at <= clock.due_at
    actions = (await session.scalars(select(AuditEntry.action).where(
        AuditEntry.subject == f"project:{project.code}").order_by(AuditEntry.seq))).all()
    assert [a for a in actions if a.startswith(("docs_objection.", "tender.suspend", "tender.resume"))] == [
        "docs_objection.raised", "tender.suspend", "docs_objection.answered", "tender.resume"]
    told = await messages_about(session, objection_subject(objection))
    assert any(m.recipient == f"organisation:{objector.credit_code}" and "维持原文" in m.body for m in told)
    with pytest.raises(Conflict, match="已答复"):
        await answer_doc_objection(session, actor="tenderer", project_code=project.code, objection_id=objection.id,
                                   answer="再答一次")


async def test_an_objection_less_than_10_days_before_the_deadline_is_refused_naming_article_22(session, keys):
    project, (objector, _) = await tender_in_bidding(session, keys, days_left=9.9)
    with pytest.raises(RuleViolation) as refused:
        await raise_doc_objection(session, actor="bidder", project_code=project.code,
                                  bidder_organisation_id=objector.id, text="技术参数指向特定产品")
    assert refused.value.details["rule"] == "docs_objection_min_days_before_deadline"
    assert "第二十二条" in refused.value.details["source"] and "第二十二条" in refused.value.message
    assert refused.value.details["value"] == 10
    assert (await reload(session, project.code)).state == "bidding"


async def test_only_an_admitted_bidder_may_object(session, keys):
    project, _ = await tender_in_bidding(session, keys, days_left=15)
    stranger = await factories.organisation(session, "bidder")
    with pytest.raises(PermissionDenied):
        await raise_doc_objection(session, actor="x", project_code=project.code,
                                  bidder_organisation_id=stranger.id, text="异议")


async def test_the_last_answer_resumes_and_an_answer_changing_the_documents_moves_the_deadline(session, keys):
    project, (first, second) = await tender_in_bidding(session, keys, days_left=12)
    one = await raise_doc_objection(session, actor="a", project_code=project.code,
                                    bidder_organisation_id=first.id, text="工期要求不合理")
    two = await raise_doc_objection(session, actor="b", project_code=project.code,
                                    bidder_organisation_id=second.id, text="资格条件过高")
    assert (one.public_number, two.public_number) == (1, 2)
    assert two.suspension_seq is None  # the tender was already suspended by the first

    # A changing answer while the other objection still pauses the process is refused.
    with pytest.raises(Conflict, match="尚有 1 个异议未答复"):
        await answer_doc_objection(session, actor="t", project_code=project.code, objection_id=one.id,
                                   answer="工期调整", change_title="修改（一）", change_body="工期改为 365 日历天。")
    await answer_doc_objection(session, actor="t", project_code=project.code, objection_id=one.id,
                               answer="工期要求依据可研批复，维持。")
    assert (await reload(session, project.code)).state == "suspended"  # objection 2 still open

    answered = await answer_doc_objection(session, actor="t", project_code=project.code, objection_id=two.id,
                                          answer="资格条件调整为二级。", change_title="修改（一）",
                                          change_body="资格条件由一级调整为二级。")
    project = await reload(session, project.code)
    assert project.state == "bidding"
    # 12 days were left: a change fewer than 15 days before the deadline moves it (Law art. 23).
    assert answered.clarification_id is not None
    moved = await session.scalar(select(AuditEntry).where(
        AuditEntry.subject == f"project:{project.code}", AuditEntry.action == "tender.deadline_extended"))
    assert moved.data["clarification_id"] == answered.clarification_id
    assert project.bid_deadline >= await database_now(session) + timedelta(days=15) - timedelta(minutes=1)
    assert project.next_due_at == project.bid_deadline


async def test_the_objector_is_anonymous_to_other_bidders_and_the_tendering_party(session, keys):
    project, (objector, other) = await tender_in_bidding(session, keys, days_left=15)
    await raise_doc_objection(session, actor="bidder", project_code=project.code,
                              bidder_organisation_id=objector.id, text="评标办法权重不合理")
    for role, organisation in (("bidder", other.id), ("tendering_party", None), ("agency", None)):
        views = await doc_objections_for(session, project.code, role, organisation)
        assert [view["label"] for view in views] == ["异议1"]
        assert "bidder_credit_code" not in views[0] and "raised_by" not in views[0] and "mine" not in views[0]
    own = await doc_objections_for(session, project.code, "bidder", objector.id)
    assert own[0]["mine"] is True
    supervisor = await doc_objections_for(session, project.code, "supervisor")
    assert supervisor[0]["bidder_credit_code"] == objector.credit_code
    assert await doc_objections_for(session, project.code, None) == []  # the public: answered ones only


async def test_a_procurement_rule_set_without_article_22_refuses_objections_here(session):
    party = await factories.organisation(session, "tendering_party")
    project = await register_project(session, actor="test", code=f"JN-2026-CG-O{next(_codes):04d}",
                                     title="采购项目", category="government_procurement", method="public_tender",
                                     region_code="370800", tendering_party_id=party.id, estimate_fen=1_000_000_00)
    bidder = await factories.organisation(session, "bidder")
    await register_bidder(session, actor="test", project_code=project.code, bidder_credit_code=bidder.credit_code)
    await apply_transition(session, actor="test", project_code=project.code, action="announce",
                           facts={"bid_deadline": await database_now(session) + timedelta(days=25)})
    with pytest.raises(RuleViolation, match="质疑"):
        await raise_doc_objection(session, actor="b", project_code=project.code, bidder_organisation_id=bidder.id,
                                  text="异议")


# ------------------------------------------------------------------------------- API

HOSPITAL = "JN-2026-GC-0007"  # tendering party: the demo tenderer (第一人民医院)
LUJIAN = "91370800MA1234567Q"  # bidder1


@pytest.fixture(scope="module")
async def client(settings: Settings, database_url: str, engine: AsyncEngine) -> AsyncIterator[AsyncTestClient]:
    async with transaction(make_sessionmaker(engine)) as session:
        await load_demo_data(session, pools=False)
        await register_bidder(session, actor="test", project_code=HOSPITAL, bidder_credit_code=LUJIAN)
        now = await database_now(session)
        await apply_transition(session, actor="test", project_code=HOSPITAL, action="announce",
                               facts={"bid_deadline": now + timedelta(days=30)})
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


async def test_over_the_api_a_bidder_objects_and_the_tenderer_answers_without_learning_who(client, engine):
    path = f"/api/projects/{HOSPITAL}/doc-objections"
    assert (await client.post(path, json={"text": "异议"})).status_code == 401
    assert (await client.post(path, json={"text": "异议"}, headers=await bearer(client, "bidder2"))).status_code == 403
    raised = await client.post(path, json={"text": "招标文件要求的业绩年限过长"}, headers=await bearer(client, "bidder1"))
    assert raised.status_code == 201, raised.text
    assert raised.json()["state"] == "suspended" and raised.json()["answer_due_at"]

    tenderer = await client.get(path, headers=await bearer(client, "tenderer"))
    assert [view["text"] for view in tenderer.json()] == ["招标文件要求的业绩年限过长"]
    assert LUJIAN not in tenderer.text and "鲁建" not in tenderer.text
    supervisor = await client.get(path, headers=await bearer(client, "supervisor"))
    assert supervisor.json()[0]["bidder_credit_code"] == LUJIAN

    cards = await client.get("/api/supervision/deadline-cards", headers=await bearer(client, "supervisor"))
    assert cards.status_code == 200  # the answer clock is watched (no card yet: 3 days to go)

    answer = f"{path}/{raised.json()['id']}/answer"
    refused = await client.post(answer, json={"answer": "维持"}, headers=await bearer(client, "bidder1"))
    assert refused.status_code == 403
    answered = await client.post(answer, json={"answer": "业绩年限调整为近三年。",
                                               "change": {"title": "修改（一）", "body": "业绩年限调整为近三年。"}},
                                 headers=await bearer(client, "tenderer"))
    assert answered.status_code == 201, answered.text
    # Resumed to where it stopped (the app's chronograph may already have opened bidding).
    assert answered.json()["state"] in ("announced", "bidding") and answered.json()["clarification_id"]
    public = (await client.get(path)).json()
    assert public[0]["answer"] == "业绩年限调整为近三年。" and "bidder_credit_code" not in public[0]
    async with make_sessionmaker(engine)() as session:
        assert await session.scalar(select(func.count()).select_from(Deadline).where(
            Deadline.kind == "docs_objection_answer", Deadline.met_at.is_not(None))) >= 1
