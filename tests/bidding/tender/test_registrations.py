"""Bidder registration with its credit check: a blacklisted bidder is refused with the
deciding record named, a bidder on the deposit negative list is asked for a deposit within
the cap and others are not, and every answer is in the audit log."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bidding.tender.registrations import ADMITTED, REFUSED, Registration, preview_credit_check, register_bidder
from cli.demo import load_demo_data
from credit.bribery import bribery_checks_of
from credit.subjects import Subject
from tests.common import factories
from tests.common.credit_factories import credit_record
from tests.common.portal import bearer
from trading.accounts import create_user
from trading.audit import AuditEntry
from trading.database import make_sessionmaker, transaction
from trading.errors import Conflict, InvalidInput, NotFound, RuleViolation
from trading.settings import Settings
from web.app import create_app

WORKS = "JN-2026-GC-0007"  # estimate 86,500,000 yuan: the absolute cap (800,000 yuan) applies
RENOVATION = "JN-2026-GC-0008"  # estimate 12,300,000 yuan: 2% is 246,000 yuan
EQUIPMENT = "JN-2026-CG-0031"  # government procurement, budget 2,980,000 yuan: 2% is 59,600 yuan
LUJIAN = "91370800MA1234567Q"  # demo bidder1, no records
HONGYUAN = "91370811MA23456788"  # demo bidder2, a record on the deposit negative list
BLACKLISTED = "91371500MA3LCJ091F"  # the demo's bidder of another city, blacklisted by 住建 (not registered)


@pytest.fixture(scope="module")
async def demo(engine: AsyncEngine) -> None:
    async with transaction(make_sessionmaker(engine)) as session:
        await load_demo_data(session, pools=False)


async def blacklisted_bidder(session: AsyncSession, **record):
    bidder = await factories.organisation(session, "bidder", name="济宁黑名单建设有限公司")
    entered = await credit_record(session, credit_code=bidder.credit_code, name=bidder.name,
                                  decision_number="济住建罚〔2026〕41号", **record)
    return bidder, entered


async def audit_entry(session: AsyncSession, registration_id: int) -> AuditEntry:
    return await session.scalar(select(AuditEntry).where(AuditEntry.action.like("registration.%"),
                                                         AuditEntry.data["registration_id"].as_integer() == registration_id))


async def test_a_blacklisted_bidder_is_refused_with_the_deciding_record_named(demo, session):
    bidder, record = await blacklisted_bidder(session)
    with pytest.raises(RuleViolation) as refused:
        await register_bidder(session, actor="test:bidder", project_code=WORKS, bidder_credit_code=bidder.credit_code)
    message = refused.value.message
    assert message.startswith("不予报名")
    for named in ("住房和城乡建设局", "串通投标（情节严重）", "济住建罚〔2026〕41号", "有效期："):
        assert named in message
    assert refused.value.code == "registration_refused"
    assert [item["record_id"] for item in refused.value.details["deciding_records"]] == [record.id]

    registration = await session.get(Registration, refused.value.details["registration_id"])
    assert registration.status == REFUSED and registration.deposit_required_fen == 0
    assert [item["record_id"] for item in registration.reasons["eligibility"]["deciding_records"]] == [record.id]
    entry = await audit_entry(session, registration.id)
    assert entry.action == "registration.refused" and entry.subject == f"project:{WORKS}"
    assert entry.data["deciding_records"] == [record.id] and entry.data["message"] == message


async def test_a_record_scoped_elsewhere_does_not_refuse(demo, session):
    bidder, _ = await blacklisted_bidder(session, categories=["construction"], region_codes=["371700"])
    registration = await register_bidder(session, actor="test", project_code=WORKS, bidder_credit_code=bidder.credit_code)
    assert registration.status == ADMITTED
    other, _ = await blacklisted_bidder(session, categories=["construction"])
    assert (await register_bidder(session, actor="test", project_code=EQUIPMENT,
                                  bidder_credit_code=other.credit_code)).status == ADMITTED
    with pytest.raises(RuleViolation):
        await register_bidder(session, actor="test", project_code=WORKS, bidder_credit_code=other.credit_code)


async def test_a_negative_list_bidder_is_asked_for_a_deposit_within_the_cap_and_others_are_not(demo, session):
    hongyuan = await register_bidder(session, actor="test", project_code=WORKS, bidder_credit_code=HONGYUAN)
    assert hongyuan.status == ADMITTED and hongyuan.deposit_required_fen == 80_000_000  # the absolute cap
    deposit = hongyuan.reasons["deposit"]
    assert deposit["required"] and deposit["cap_fen"] == 80_000_000
    assert "济住建信〔2026〕3号" in deposit["message"] and "保证金负面清单" in deposit["message"]
    lujian = await register_bidder(session, actor="test", project_code=WORKS, bidder_credit_code=LUJIAN)
    assert lujian.deposit_required_fen == 0 and not lujian.reasons["deposit"]["required"]

    entry = await audit_entry(session, hongyuan.id)
    assert entry.action == "registration.admitted"
    assert entry.data["deposit_required_fen"] == 80_000_000 and len(entry.data["deposit_records"]) == 1


@pytest.mark.parametrize("project, requested, expected", [
    (EQUIPMENT, None, 5_960_000),  # 2% of the budget, no absolute cap in procurement
    (EQUIPMENT, 3_000_000, 3_000_000),  # the project's own setting, within the cap
    (EQUIPMENT, 9_000_000, 5_960_000),  # a larger setting is capped
    (RENOVATION, 10_000_000, 10_000_000),
])
async def test_the_deposit_follows_the_projects_setting_within_the_rule_sets_cap(demo, session, project, requested,
                                                                                 expected):
    registration = await register_bidder(session, actor="test", project_code=project, bidder_credit_code=HONGYUAN,
                                         requested_deposit_fen=requested)
    assert registration.deposit_required_fen == expected


async def test_a_bidder_registers_once_per_project(demo, session):
    await register_bidder(session, actor="test", project_code=EQUIPMENT, bidder_credit_code=LUJIAN)
    with pytest.raises(Conflict, match="已报名项目"):
        await register_bidder(session, actor="test", project_code=EQUIPMENT, bidder_credit_code=LUJIAN)


async def test_each_registration_keeps_its_bribery_check(demo, session):
    registration = await register_bidder(session, actor="test", project_code=WORKS, bidder_credit_code=LUJIAN)
    [check] = await bribery_checks_of(session, WORKS, Subject("organisation", LUJIAN, "济宁鲁建建设集团有限公司"))
    assert registration.reasons["bribery_check_id"] == check.id
    assert (check.source, check.outcome, check.checked_by) == ("platform_records", "clear", "test")
    assert check.lookback_from is not None  # the rule set's look-back (3 years) applied


async def test_registration_refuses_what_is_not_a_bidder_or_a_project(demo, session):
    with pytest.raises(NotFound, match="未找到项目"):
        await register_bidder(session, actor="test", project_code="JN-NONE", bidder_credit_code=LUJIAN)
    with pytest.raises(InvalidInput, match="不具有投标人角色"):
        await register_bidder(session, actor="test", project_code=WORKS, bidder_credit_code="12370800MB12345670")
    with pytest.raises(NotFound, match="未找到统一社会信用代码"):
        await register_bidder(session, actor="test", project_code=WORKS, bidder_credit_code=BLACKLISTED)
    with pytest.raises(InvalidInput, match="保证金金额"):
        await register_bidder(session, actor="test", project_code=WORKS, bidder_credit_code=LUJIAN,
                              requested_deposit_fen=-1)


async def test_the_preview_writes_nothing(demo, session):
    before = (await session.scalar(select(func.count()).select_from(Registration)),
              await session.scalar(select(func.count()).select_from(AuditEntry)))
    check = await preview_credit_check(session, project_code=WORKS, subject_key=BLACKLISTED)
    assert not check.eligibility.admitted and "聊住建罚字〔2026〕27号" in check.eligibility.message
    assert (await session.scalar(select(func.count()).select_from(Registration)),
            await session.scalar(select(func.count()).select_from(AuditEntry))) == before


# ------------------------------------------------------------------------------- API


@pytest.fixture(scope="module")
async def client(demo, settings: Settings, database_url: str, engine: AsyncEngine) -> AsyncIterator[AsyncTestClient]:
    async with transaction(make_sessionmaker(engine)) as session:
        bidder, _ = await blacklisted_bidder(session)
        await create_user(session, actor="test", username="blacklisted", display_name="黑名单投标人", role="bidder",
                          password="Demo#2026", organisation_id=bidder.id)
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


async def test_the_api_registers_a_bidders_own_organisation(client):
    path = f"/api/projects/{RENOVATION}/registrations"
    assert (await client.post(path)).status_code == 401
    tenderer = await client.post(path, headers=await bearer(client, "tenderer"))
    assert tenderer.status_code == 403

    hongyuan = await client.post(path, headers=await bearer(client, "bidder2"))
    assert hongyuan.status_code == 201, hongyuan.text
    body = hongyuan.json()
    assert (body["status"], body["deposit_required"], body["deposit_required_fen"]) == ("admitted", True, 24_600_000)
    assert body["bidder_credit_code"] == HONGYUAN and "保证金负面清单" in body["deposit"]["message"]

    lujian = await client.post(path, headers=await bearer(client, "bidder1"))
    assert lujian.status_code == 201 and lujian.json()["deposit_required_fen"] == 0
    assert (await client.post(path, headers=await bearer(client, "bidder1"))).status_code == 409


async def test_the_api_refuses_a_blacklisted_bidder_with_422_and_keeps_the_refusal(client, engine):
    refused = await client.post(f"/api/projects/{RENOVATION}/registrations", headers=await bearer(client, "blacklisted"))
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "registration_refused"
    assert "济住建罚〔2026〕41号" in error["message"] and "住房和城乡建设局" in error["message"]
    async with engine.connect() as conn:
        status = await conn.scalar(select(Registration.status).where(
            Registration.id == error["details"]["registration_id"]))
        action = await conn.scalar(select(AuditEntry.action).where(
            AuditEntry.data["registration_id"].as_integer() == error["details"]["registration_id"]))
    assert (status, action) == ("refused", "registration.refused")
    assert (await client.post("/api/projects/NOPE/registrations", headers=await bearer(client, "bidder1"))).status_code == 404


async def test_the_committee_avoids_the_employees_of_every_registered_bidder(demo, session):
    from datetime import timedelta

    import nacl.secret
    import nacl.signing
    import nacl.utils

    from bidding.draws.project_draws import request_project_committee
    from expert_pool.committees import CommitteeDraw, CommitteeGroup, GroupSpec, avoided_bidders_digest
    from trading.draws import Draw
    from trading.keys import CenterKeys

    bidder = await factories.organisation(session, "bidder")
    await register_bidder(session, actor="test", project_code="JN-2026-GC-0008", bidder_credit_code=bidder.credit_code)
    await factories.expert(session, specialties=["A0802"], employer=bidder.credit_code)
    others = [await factories.expert(session, specialties=["A0802"]) for _ in range(6)]
    now = await session.scalar(select(func.now()))
    request = await request_project_committee(
        session, CenterKeys(signing_key=nacl.signing.SigningKey.generate(),
                            kek=nacl.utils.random(nacl.secret.SecretBox.KEY_SIZE)), actor="test", project_code="JN-2026-GC-0008",
        starts_at=now + timedelta(days=2), ends_at=now + timedelta(days=2, hours=3), place="第2评标室",
        groups=[GroupSpec("A0802", 5, 1)])
    assert bidder.credit_code in request.bidder_codes
    draw = await session.scalar(select(Draw).join(CommitteeDraw, CommitteeDraw.draw_id == Draw.draw_id)
                                .join(CommitteeGroup).where(CommitteeGroup.request_id == request.id))
    # The bidder's employee is out of the pool, and the signed criteria say why.
    assert draw.commit_record["pool_size"] == len(others)
    assert draw.commit_record["criteria"]["exclude_bidders_sha256"] == \
        avoided_bidders_digest(request.bidders_salt, request.bidder_codes)
