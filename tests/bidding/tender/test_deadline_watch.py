"""The deadline watch (电子监察): a yellow card in the last fifth of a clock's period (at
least its last 24 hours), a red card once it is missed (and it stays when the act is done
late), each card once with one audit entry, listed for supervisors with the project, the
act, the due time, the rule and its source; two watchers never card twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, strategies as st
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bidding.tender.deadline_watch import WATCH_ACTOR, card_for, open_cards, watch_deadlines, yellow_from
from bidding.tender.deadlines import NO_CARD, RED, YELLOW, Deadline, meet_deadline, set_deadline
from bidding.tender.projects import Project
from tests.common.portal import bearer
from tests.common.tenders import tender_project
from trading.audit import AuditEntry
from trading.database import database_now, make_sessionmaker, transaction
from trading.settings import Settings
from web.app import create_app

DAY = timedelta(days=1)


async def project(session: AsyncSession) -> Project:
    return await tender_project(session, None, "registered", prefix="JN-2026-GC-W", title="济宁市监察测试工程",
                                estimate_fen=10_000_000_00)


async def clock(session: AsyncSession, tender: Project, *, kind: str, subject: str, days: float,
                rule: str | None) -> Deadline:
    """A clock of ``days`` days set at the database time now."""
    now = await database_now(session)
    deadline = await set_deadline(session, project=tender, kind=kind, subject=subject, due_at=now + days * DAY,
                                  rule=rule, actor="test")
    await session.execute(update(Deadline).where(Deadline.id == deadline.id).values(set_at=now))
    await session.refresh(deadline)
    return deadline


def of(given_cards: list[tuple[int, str]], deadline: Deadline) -> list[tuple[int, str]]:
    """The cards given to ``deadline`` (other tests' committed clocks may be carded too)."""
    return [card for card in given_cards if card[0] == deadline.id]


async def cards_of(session: AsyncSession, subject: str) -> list[str]:
    return list((await session.scalars(select(AuditEntry.action).where(
        AuditEntry.subject == subject, AuditEntry.action.like("deadline.%_card")).order_by(AuditEntry.seq))).all())


async def test_a_refund_clock_gets_a_yellow_card_in_its_last_day_then_a_red_one_once_each(session):
    tender = await project(session)
    refund = await clock(session, tender, kind="refund", subject="deposit:w1", days=5,
                         rule="deposit_refund_after_contract_days")
    start = refund.set_at
    assert of(await watch_deadlines(session, start + 3 * DAY), refund) == []
    assert of(await watch_deadlines(session, start + 4 * DAY + timedelta(minutes=1)), refund) == [(refund.id, YELLOW)]
    assert of(await watch_deadlines(session, start + 4 * DAY + timedelta(hours=2)), refund) == []  # once
    assert of(await watch_deadlines(session, start + 5 * DAY + timedelta(seconds=1)), refund) == [(refund.id, RED)]
    assert of(await watch_deadlines(session, start + 9 * DAY), refund) == []  # once
    assert await cards_of(session, "deposit:w1") == ["deadline.yellow_card", "deadline.red_card"]
    red = await session.scalar(select(AuditEntry).where(AuditEntry.subject == "deposit:w1",
                                                        AuditEntry.action == "deadline.red_card"))
    assert red.actor == WATCH_ACTOR and red.data["project"] == tender.code and red.data["act"] == "退还投标保证金"

    # Met late: the act is done, the red card stays on the record (no longer open).
    await meet_deadline(session, kind="refund", subject="deposit:w1", actor="finance")
    listed = {card["subject"]: card for card in await open_cards(session)}
    assert "deposit:w1" not in listed
    kept = {card["subject"]: card for card in await open_cards(session, include_met=True)}
    assert kept["deposit:w1"]["card"] == RED and kept["deposit:w1"]["met_at"]


async def test_a_30_day_contract_clock_warns_six_days_ahead_and_a_clock_met_in_time_is_not_listed(session):
    tender = await project(session)
    contract = await clock(session, tender, kind="contract", subject="award:w2", days=30,
                           rule="contract_within_days_of_award_notice")
    start = contract.set_at
    assert of(await watch_deadlines(session, start + 24 * DAY - timedelta(minutes=1)), contract) == []
    assert of(await watch_deadlines(session, start + 24 * DAY), contract) == [(contract.id, YELLOW)]
    cards = {card["subject"]: card for card in await open_cards(session)}
    card = cards["award:w2"]
    assert (card["card"], card["project"], card["act"], card["rule"]) == (
        YELLOW, tender.code, "签订书面合同", "contract_within_days_of_award_notice")
    assert "第四十六条" in card["source"] and card["due_at"] == contract.due_at.isoformat()
    await meet_deadline(session, kind="contract", subject="award:w2", actor="agency")
    assert "award:w2" not in {card["subject"] for card in await open_cards(session, include_met=True)}
    assert of(await watch_deadlines(session, start + 40 * DAY), contract) == []  # met in time: never red


async def test_an_act_done_late_that_the_watch_never_saw_open_still_gets_its_red_card(session):
    tender = await project(session)
    answer = await clock(session, tender, kind="docs_objection_answer", subject="docs_objection:w3", days=-1,
                         rule="docs_objection_answer_days")
    await meet_deadline(session, kind="docs_objection_answer", subject="docs_objection:w3", actor="agency")
    assert of(await watch_deadlines(session), answer) == [(answer.id, RED)]
    assert await cards_of(session, "docs_objection:w3") == ["deadline.red_card"]


T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


@given(period_hours=st.integers(1, 24 * 60), elapsed_hours=st.integers(0, 24 * 90),
       met_after_hours=st.none() | st.integers(0, 24 * 90))
def test_cards_follow_the_documented_threshold_and_only_go_up(period_hours, elapsed_hours, met_after_hours):
    due = T0 + timedelta(hours=period_hours)
    met = T0 + timedelta(hours=met_after_hours) if met_after_hours is not None else None
    now = T0 + timedelta(hours=elapsed_hours)
    deadline = Deadline(project_id=1, kind="refund", subject="x", due_at=due, set_at=T0, met_at=met, card=NO_CARD)
    card = card_for(deadline, now)
    near = due - max(timedelta(hours=period_hours) / 5, DAY)
    assert yellow_from(T0, due) == near
    if met is not None:
        assert card == (RED if met > due else NO_CARD)
    elif now >= due:
        assert card == RED
    else:
        assert card == (YELLOW if now >= near else NO_CARD)
    for given_card in (YELLOW, RED):
        deadline.card = given_card
        assert (NO_CARD, YELLOW, RED).index(card_for(deadline, now)) >= (NO_CARD, YELLOW, RED).index(given_card)


# ----------------------------------------------------------------------------- two watchers


async def _missed(engine: AsyncEngine, count: int, prefix: str) -> list[int]:
    async with transaction(make_sessionmaker(engine)) as session:
        tender = await project(session)
        ids = []
        for number in range(count):
            deadline = await clock(session, tender, kind="refund", subject=f"deposit:{prefix}{number}", days=-1,
                                   rule="deposit_refund_after_contract_days")
            ids.append(deadline.id)
        return ids


async def test_two_watchers_never_give_one_card_twice(demo, engine):
    sessions = make_sessionmaker(engine)
    held = await _missed(engine, 3, "h")

    # Watcher A holds the rows uncommitted; watcher B skips them without waiting, and after
    # A commits finds nothing left to card.
    async with sessions() as a, a.begin():
        assert {deadline_id for deadline_id, _ in await watch_deadlines(a)} >= set(held)
        async with sessions() as b, b.begin():
            assert [i for i, _ in await asyncio.wait_for(watch_deadlines(b), 5) if i in held] == []
    async with sessions() as b, b.begin():
        assert [i for i, _ in await watch_deadlines(b) if i in held] == []

    raced = await _missed(engine, 6, "r")

    async def watcher() -> list[int]:
        mine = []
        while True:
            async with sessions() as watcher_session, watcher_session.begin():
                given_cards = await watch_deadlines(watcher_session, limit=1)
            if not given_cards:
                return mine
            mine += [deadline_id for deadline_id, _ in given_cards]
            await asyncio.sleep(0)

    first, second = await asyncio.gather(watcher(), watcher())
    assert sorted(i for i in first + second if i in raced) == sorted(raced)
    assert not set(first) & set(second)
    async with sessions() as check:
        for deadline_id in held + raced:
            subject = await check.scalar(select(Deadline.subject).where(Deadline.id == deadline_id))
            assert await check.scalar(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.subject == subject, AuditEntry.action == "deadline.red_card")) == 1


# ----------------------------------------------------------------------------- API


@pytest.fixture(scope="module")
async def client(demo, settings: Settings, database_url: str, engine: AsyncEngine) -> AsyncIterator[AsyncTestClient]:
    async with transaction(make_sessionmaker(engine)) as session:
        tender = await project(session)
        await clock(session, tender, kind="contract", subject=f"project:{tender.code}", days=-2,
                    rule="contract_within_days_of_award_notice")
        await watch_deadlines(session)
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


async def test_supervisors_list_the_open_cards_with_act_due_time_rule_and_source(client):
    path = "/api/supervision/deadline-cards"
    assert (await client.get(path)).status_code == 401
    assert (await client.get(path, headers=await bearer(client, "bidder1"))).status_code == 403
    answer = await client.get(path, headers=await bearer(client, "supervisor"))
    assert answer.status_code == 200, answer.text
    cards = [card for card in answer.json()["cards"] if card["kind"] == "contract"]
    assert cards and cards[0]["card"] == "red" and cards[0]["card_name"] == "红牌"
    assert cards[0]["act"] == "签订书面合同" and cards[0]["rule"] == "contract_within_days_of_award_notice"
    assert "第四十六条" in cards[0]["source"] and cards[0]["due_at"] and cards[0]["project"].startswith("JN-2026-GC-W")
    assert "黄牌" in answer.json()["rule"]
