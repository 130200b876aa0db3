"""A tender's states under the pinned rule set: illegal steps are refused with the rule and
its legal source named, suspension resumes where it stopped, a closed tender accepts
nothing; random sequences of actions keep the invariants; and the chronograph moves due
tenders on its own, never twice with two workers."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bidding.tender.chronograph import run_due_steps
from bidding.tender.lifecycle import apply_transition
from bidding.tender.projects import Project
from bidding.tender.states import (
    STATE_NAMES,
    TERMINAL_STATES,
    TIME_DRIVEN,
    TRANSITIONS,
    TenderState as S,
    announce_guard,
    award_guard,
    days_between,
    local_date,
    fail_guard,
    period_ends_at,
    reachable_states,
    start_evaluation_guard,
    target_of,
)
from tests.common.tenders import tender_project
from trading.rules.calendar import default_calendar
from trading.audit import AuditEntry
from trading.database import database_now, make_sessionmaker, transaction
from trading.errors import Conflict, DomainError, InvalidInput, RuleViolation

REASON = {"reason": "投诉人称评标委员会未按招标文件评审"}


async def new_tender(session: AsyncSession, prefix: str = "JN-2026-GC-T") -> Project:
    return await tender_project(session, None, "registered", prefix=prefix)


async def let_time_pass(session: AsyncSession, code: str, *, days: int = 0, minutes: int = 0) -> None:
    """Move the tender's stored times back: the same, for the tender, as the clock moving on."""
    shift = timedelta(days=days, minutes=minutes)
    await session.execute(update(Project).where(Project.code == code).values(
        documents_issued_at=Project.documents_issued_at - shift, bid_deadline=Project.bid_deadline - shift,
        publicity_started_at=Project.publicity_started_at - shift, next_due_at=Project.next_due_at - shift,
        suspended_at=Project.suspended_at - shift))


async def step(session: AsyncSession, code: str, action: str, **facts) -> Project:
    return await apply_transition(session, actor="test", project_code=code, action=action, facts=facts)


async def tender_steps(session: AsyncSession, code: str) -> int:
    return await session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.subject == f"project:{code}", AuditEntry.action.like("tender.%")))


async def announced(session: AsyncSession, code: str, days: int = 21) -> Project:
    return await step(session, code, "announce", bid_deadline=await database_now(session) + timedelta(days=days))


async def drive_to(session: AsyncSession, code: str, state: S) -> Project:
    """Take a tender along the ordinary path until it is in ``state``."""
    path = [S.ANNOUNCED, S.BIDDING, S.OPENING, S.EVALUATING, S.PUBLICITY, S.AWARDED, S.CONTRACTED, S.CLOSED]
    project = await session.scalar(select(Project).where(Project.code == code))
    for target in path[: path.index(state) + 1]:
        if target == S.ANNOUNCED:
            project = await announced(session, code)
        elif target == S.BIDDING:
            project = await step(session, code, "open_bidding")
        elif target == S.OPENING:
            await let_time_pass(session, code, days=21, minutes=1)  # the deadline has just passed
            project = await step(session, code, "start_opening")
        elif target == S.EVALUATING:
            await let_time_pass(session, code, minutes=31)
            project = await step(session, code, "start_evaluation", valid_bids=5)
        elif target == S.PUBLICITY:
            project = await step(session, code, "publish_candidates", candidates=3)
        elif target == S.AWARDED:
            await let_time_pass(session, code, days=4)
            project = await step(session, code, "award")
        elif target == S.CONTRACTED:
            project = await step(session, code, "record_contract")
        else:
            project = await step(session, code, "close")
    assert project.state == state
    return project


# ----------------------------------------------------------------------------- scenarios


async def test_an_announcement_with_too_short_a_period_is_refused_naming_article_24(session):
    tender = await new_tender(session)
    with pytest.raises(RuleViolation) as refused:
        await announced(session, tender.code, days=10)
    assert refused.value.details["rule"] == "tender_docs_to_bid_deadline_min_days"
    assert "第二十四条" in refused.value.details["source"] and "第二十四条" in refused.value.message
    assert "不得少于 20 日" in refused.value.message
    assert (await session.scalar(select(Project.state).where(Project.code == tender.code))) == "registered"
    assert await tender_steps(session, tender.code) == 0

    project = await announced(session, tender.code, days=21)
    assert project.state == "announced" and project.next_due_at == project.documents_issued_at
    assert await tender_steps(session, tender.code) == 1


async def test_documents_cannot_be_issued_in_the_past(session):
    tender = await new_tender(session)
    now = await database_now(session)
    with pytest.raises(RuleViolation, match="不得早于公告发布时间"):
        await step(session, tender.code, "announce", documents_issued_at=now - timedelta(days=5),
                   bid_deadline=now + timedelta(days=16))


async def test_a_tender_with_two_valid_bids_fails_at_opening_naming_min_valid_bids(session):
    tender = await new_tender(session)
    await drive_to(session, tender.code, S.OPENING)
    await let_time_pass(session, tender.code, minutes=31)
    with pytest.raises(RuleViolation) as refused:
        await step(session, tender.code, "start_evaluation", valid_bids=2)
    assert refused.value.details["rule"] == "min_valid_bids" and "第二十八条" in refused.value.details["source"]
    with pytest.raises(RuleViolation) as refused:  # three valid bids are enough: no 流标
        await step(session, tender.code, "fail", valid_bids=3, reason="有效投标不足")
    assert refused.value.details["rule"] == "min_valid_bids"

    project = await step(session, tender.code, "fail", valid_bids=2, reason="有效投标不足三家")
    assert project.state == "failed" and project.next_due_at is None
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.subject == f"project:{tender.code}",
                                                          AuditEntry.action == "tender.fail"))
    assert entry.data["from"] == "opening" and entry.data["facts"]["valid_bids"] == 2
    assert entry.data["rule_set"] == "construction-open-tender@2019.2"


async def test_evaluation_waits_for_the_decryption_window_to_close(session):
    tender = await new_tender(session)
    await drive_to(session, tender.code, S.OPENING)
    with pytest.raises(RuleViolation) as refused:
        await step(session, tender.code, "start_evaluation", valid_bids=5)
    assert refused.value.details["rule"] == "decryption_window_minutes"


async def test_no_opening_before_the_bid_deadline(session):
    tender = await new_tender(session)
    await drive_to(session, tender.code, S.BIDDING)
    with pytest.raises(RuleViolation) as refused:
        await step(session, tender.code, "start_opening")
    assert refused.value.details["rule"] == "opening_at_deadline" and "第三十四条" in refused.value.message


async def test_suspend_and_resume_return_to_the_remembered_state(session):
    tender = await new_tender(session)
    bidding = await drive_to(session, tender.code, S.BIDDING)
    deadline = bidding.next_due_at
    suspended = await step(session, tender.code, "suspend", complaint="TS-2026-001", **REASON)
    assert (suspended.state, suspended.suspended_from, suspended.next_due_at) == ("suspended", "bidding", None)

    await let_time_pass(session, tender.code, days=30)
    assert [code for code, _ in await run_due_steps(session)].count(tender.code) == 0  # the clock waits for the supervisor
    with pytest.raises(Conflict, match="已暂停（异议或投诉处理中）"):
        await step(session, tender.code, "start_opening")

    resumed = await step(session, tender.code, "resume", reason="投诉不成立，驳回")
    assert (resumed.state, resumed.suspended_from, resumed.suspended_at) == ("bidding", None, None)
    # Bidders could not bid for the 30 days: the deadline moves by the paused time (audited).
    now = await database_now(session)
    assert deadline - timedelta(seconds=5) <= resumed.bid_deadline <= deadline + timedelta(seconds=5)
    assert resumed.next_due_at == resumed.bid_deadline > now
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "tender.resume")
                                 .order_by(AuditEntry.seq.desc()).limit(1))
    assert entry.data["bid_deadline_moved_to"] == resumed.bid_deadline.isoformat()
    assert await tender_steps(session, tender.code) == 4


async def test_an_upheld_complaint_during_publicity_sends_the_tender_back_to_evaluation(session):
    tender = await new_tender(session)
    await drive_to(session, tender.code, S.PUBLICITY)
    await step(session, tender.code, "suspend", **REASON)
    project = await step(session, tender.code, "reevaluate", reason="投诉成立，责令重新评审")
    assert (project.state, project.suspended_from) == ("evaluating", None)

    other = await new_tender(session)
    await drive_to(session, other.code, S.BIDDING)
    await step(session, other.code, "suspend", **REASON)
    with pytest.raises(Conflict, match="投标中"):
        await step(session, other.code, "reevaluate", reason="投诉成立")


async def test_no_award_before_the_publicity_period_is_over_and_the_chronograph_awards_after(session):
    tender = await new_tender(session)
    publicity = await drive_to(session, tender.code, S.PUBLICITY)
    assert publicity.next_due_at == period_ends_at(publicity.publicity_started_at, 3)
    with pytest.raises(RuleViolation) as refused:
        await step(session, tender.code, "award")
    assert refused.value.details["rule"] == "candidate_publicity_min_days" and "第五十四条" in refused.value.message
    assert (tender.code, "award") not in await run_due_steps(session)

    await let_time_pass(session, tender.code, days=4)
    assert (tender.code, "award") in await run_due_steps(session)
    project = await session.scalar(select(Project).where(Project.code == tender.code))
    assert project.state == "awarded" and project.next_due_at is None
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.subject == f"project:{tender.code}",
                                                          AuditEntry.action == "tender.award"))
    assert entry.actor == "system:chronograph"


async def test_more_candidates_than_the_rules_allow_are_refused(session):
    tender = await new_tender(session)
    await drive_to(session, tender.code, S.EVALUATING)
    with pytest.raises(RuleViolation) as refused:
        await step(session, tender.code, "publish_candidates", candidates=4)
    assert refused.value.details["rule"] == "max_ranked_candidates"


async def test_the_chronograph_opens_bidding_and_then_the_opening_on_time(session):
    tender = await new_tender(session)
    await announced(session, tender.code)
    assert (tender.code, "open_bidding") in await run_due_steps(session)
    assert (tender.code, "start_opening") not in await run_due_steps(session)
    await let_time_pass(session, tender.code, days=22)
    assert (tender.code, "start_opening") in await run_due_steps(session)
    project = await session.scalar(select(Project).where(Project.code == tender.code))
    assert project.state == "opening" and project.next_due_at is None


async def test_a_closed_tender_refuses_everything(session):
    tender = await new_tender(session)
    await drive_to(session, tender.code, S.CLOSED)
    steps = await tender_steps(session, tender.code)
    for action in TRANSITIONS:
        with pytest.raises(Conflict) as refused:
            await step(session, tender.code, action, **REASON)
        assert "已结束" in refused.value.message and refused.value.details["state"] == "closed"
    assert await tender_steps(session, tender.code) == steps


async def test_facts_are_checked_before_anything_is_written(session):
    tender = await new_tender(session)
    await drive_to(session, tender.code, S.BIDDING)
    with pytest.raises(InvalidInput):
        await step(session, tender.code, "suspend")  # no reason
    with pytest.raises(InvalidInput):
        await step(session, tender.code, "suspend", reason="  ")
    with pytest.raises(InvalidInput):
        await step(session, tender.code, "suspend", winner="x", **REASON)
    with pytest.raises(InvalidInput):
        await step(session, tender.code, "jump_to_award")


# ----------------------------------------------------------------------------- the table


def test_every_state_has_a_chinese_name_and_terminal_states_lead_nowhere():
    assert set(STATE_NAMES) == set(S)
    assert reachable_states() == frozenset(S)
    for transition in TRANSITIONS.values():
        assert not transition.sources & TERMINAL_STATES
    for state, action in TIME_DRIVEN.items():
        assert state in TRANSITIONS[action].sources


moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31)).map(
    lambda moment: moment.replace(tzinfo=timezone.utc))


@hypothesis_settings(database=None, deadline=None)  # a provisional year is built on first use
@given(issued=moments, days=st.integers(0, 60), minimum=st.integers(1, 40))
def test_the_announce_guard_refuses_exactly_the_periods_below_the_minimum(issued, days, minimum):
    deadline = issued + timedelta(days=days, hours=1)
    refusal = announce_guard({"tender_docs_to_bid_deadline_min_days": minimum},
                             {"documents_issued_at": issued, "bid_deadline": deadline}, issued)
    # The minimum's last day, moved past a statutory holiday (民法典 第二百零三条).
    last_day = default_calendar().period_last_day(local_date(issued), minimum).day
    assert (refusal is None) == (days_between(issued, deadline) >= minimum and local_date(deadline) >= last_day)
    if refusal is not None:
        assert refusal.rule == "tender_docs_to_bid_deadline_min_days"


def test_civil_code_article_203_a_bid_deadline_on_day_20_in_national_day_is_too_early():
    issued = datetime(2026, 9, 11, 1, 0, tzinfo=timezone.utc)  # 09:00 Beijing
    rules = {"tender_docs_to_bid_deadline_min_days": 20}
    on_day_20 = announce_guard(rules, {"documents_issued_at": issued,
                                       "bid_deadline": datetime(2026, 10, 1, 1, 0, tzinfo=timezone.utc)}, issued)
    assert on_day_20 is not None and "民法典第二百零三条" in on_day_20.message
    assert "2026年10月8日" in on_day_20.message
    after_the_holiday = datetime(2026, 10, 8, 1, 0, tzinfo=timezone.utc)
    assert announce_guard(rules, {"documents_issued_at": issued, "bid_deadline": after_the_holiday}, issued) is None


@hypothesis_settings(database=None)
@given(valid_bids=st.integers(0, 10), minimum=st.integers(1, 5))
def test_a_tender_either_fails_or_goes_to_evaluation_never_both(valid_bids, minimum):
    rules = {"min_valid_bids": minimum, "decryption_window_minutes": 30}
    deadline = datetime(2026, 11, 22, tzinfo=timezone.utc)
    facts = {"valid_bids": valid_bids, "bid_deadline": deadline}
    later = deadline + timedelta(hours=1)
    assert (fail_guard(rules, facts, later) is None) != (start_evaluation_guard(rules, facts, later) is None)


@hypothesis_settings(database=None)
@given(started=moments, days=st.integers(1, 10), elapsed_hours=st.integers(0, 24 * 12))
def test_the_award_waits_for_full_days_of_publicity(started, days, elapsed_hours):
    now = started + timedelta(hours=elapsed_hours)
    refusal = award_guard({"candidate_publicity_min_days": days}, {"publicity_started_at": started}, now)
    assert (refusal is None) == (now >= period_ends_at(started, days))
    # Whatever time of day it starts, publicity lasts at least the full number of days.
    assert period_ends_at(started, days) - started > timedelta(days=days)


# ----------------------------------------------------------------------------- random sequences

_facts_by_action = {
    "announce": st.builds(lambda days: {"bid_deadline": days}, st.integers(10, 30)),
    "fail": st.builds(lambda n: {"valid_bids": n, "reason": "有效投标不足"}, st.integers(0, 5)),
    "start_evaluation": st.builds(lambda n: {"valid_bids": n}, st.integers(0, 5)),
    "publish_candidates": st.builds(lambda n: {"candidates": n}, st.integers(0, 4)),
    "suspend": st.just(dict(REASON)),
    "resume": st.just({"reason": "投诉驳回"}),
    "reevaluate": st.just({"reason": "投诉成立"}),
    "terminate": st.just({"reason": "招标人终止招标"}),
}
# The ordinary next step from each state, with the time that must pass before it.
ORDINARY_STEP = {
    S.REGISTERED: ("announce", {"bid_deadline": 21}, {}),
    S.ANNOUNCED: ("open_bidding", {}, {}),
    S.BIDDING: ("start_opening", {}, {"days": 21, "minutes": 1}),
    S.OPENING: ("start_evaluation", {"valid_bids": 4}, {"minutes": 31}),
    S.EVALUATING: ("publish_candidates", {"candidates": 2}, {}),
    S.PUBLICITY: ("award", {}, {"days": 4}),
    S.AWARDED: ("record_contract", {}, {}),
    S.CONTRACTED: ("close", {}, {}),
    S.SUSPENDED: ("resume", {"reason": "投诉驳回"}, {}),
}
ACTIONS = st.one_of(
    st.just(("ordinary step", {})),
    st.just(("ordinary step", {})),
    st.just(("suspend", dict(REASON))),
    st.sampled_from(sorted(TRANSITIONS)).flatmap(
        lambda action: _facts_by_action.get(action, st.just({})).map(lambda facts: (action, facts))),
    st.tuples(st.just("time passes"), st.sampled_from([0, 1, 4, 22])),
    st.just(("chronograph", {})),
)


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=st.lists(ACTIONS, min_size=1, max_size=30))
async def test_random_sequences_of_actions_keep_the_invariants(session, actions):
    reachable = reachable_states()
    async with session.begin_nested() as example:
        code = (await new_tender(session, prefix="JN-2026-GC-P")).code
        remembered: S | None = None
        for action, facts in actions:
            before = await session.scalar(select(Project).where(Project.code == code).execution_options(populate_existing=True))
            state, suspended_from, steps = S(before.state), before.suspended_from, await tender_steps(session, code)
            if action == "time passes":
                await let_time_pass(session, code, days=facts, minutes=31)
                continue
            if action == "chronograph":
                taken = [taken for taken in await run_due_steps(session) if taken[0] == code]
                after = await session.scalar(select(Project).where(Project.code == code))
                assert len(taken) <= 1 and await tender_steps(session, code) == steps + len(taken)
                if taken:
                    assert taken[0][1] == TIME_DRIVEN[state] and after.state == TRANSITIONS[taken[0][1]].target
                continue
            if action == "ordinary step":
                if state in TERMINAL_STATES:
                    continue
                action, facts, wait = ORDINARY_STEP[state]
                await let_time_pass(session, code, **wait)
            if action == "announce":
                facts = {"bid_deadline": await database_now(session) + timedelta(days=facts["bid_deadline"], hours=1)}
            try:
                after = await step(session, code, action, **facts)
            except DomainError as refused:
                after = await session.scalar(select(Project).where(Project.code == code))
                assert after.state == state and await tender_steps(session, code) == steps  # nothing written
                if state in TERMINAL_STATES or state not in TRANSITIONS[action].sources:
                    assert isinstance(refused, Conflict) and STATE_NAMES[state] in refused.message
                continue
            # Accepted: a legal step to the table's target, with exactly one audit entry.
            assert state not in TERMINAL_STATES and state in TRANSITIONS[action].sources
            assert S(after.state) in reachable
            assert after.state == target_of(TRANSITIONS[action], suspended_from)
            assert await tender_steps(session, code) == steps + 1
            assert (after.state == S.SUSPENDED) == (after.suspended_from is not None)
            if action == "suspend":
                remembered = state
            if action == "resume":
                assert after.state == remembered
        await example.rollback()


# ----------------------------------------------------------------------------- two workers


async def _due_tenders(engine: AsyncEngine, count: int, prefix: str) -> list[str]:
    async with transaction(make_sessionmaker(engine)) as session:
        codes = []
        for _ in range(count):
            tender = await new_tender(session, prefix=prefix)
            await announced(session, tender.code)  # documents issued now: open_bidding is due
            codes.append(tender.code)
        return codes


async def test_two_workers_never_act_twice_on_one_tender(engine):
    sessions = make_sessionmaker(engine)
    held = await _due_tenders(engine, 4, "JN-2026-GC-W")

    # Worker A takes every due tender and has not committed; worker B skips them without waiting.
    async with sessions() as a, a.begin():
        taken_by_a = await run_due_steps(a)
        assert set(held) <= {code for code, _ in taken_by_a}
        async with sessions() as b, b.begin():
            assert [code for code, _ in await asyncio.wait_for(run_due_steps(b), 5) if code in held] == []
    async with sessions() as b, b.begin():
        assert [code for code, _ in await run_due_steps(b) if code in held] == []

    # Two workers racing, one tender at a time each, share the work exactly.
    raced = await _due_tenders(engine, 6, "JN-2026-GC-R")

    async def worker() -> list[str]:
        mine = []
        while True:
            async with sessions() as worker_session, worker_session.begin():
                taken = await run_due_steps(worker_session, limit=1)
            if not taken:
                return mine
            mine += [code for code, _ in taken]
            await asyncio.sleep(0)

    first, second = await asyncio.gather(worker(), worker())
    assert sorted(code for code in first + second if code in raced) == sorted(raced)
    assert not set(first) & set(second)

    async with sessions() as check:
        for code in held + raced:
            assert await check.scalar(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.subject == f"project:{code}", AuditEntry.action == "tender.open_bidding")) == 1
            assert (await check.scalar(select(Project.state).where(Project.code == code))) == "bidding"
