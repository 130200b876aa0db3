"""What follows a tender's step is declared in the transition table and implemented by the
subpackage that owns it (bidding.tender.effects): nothing declared is ever skipped, a step
whose effect nobody implemented is refused before it writes anything, and the chronograph
does what due_events names, when it names it."""

from __future__ import annotations

import dataclasses
import itertools
import tomllib
from datetime import datetime, time, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from sqlalchemy import func, select, update

from bidding.tender.chronograph import run_due_steps
from bidding.tender.due import due_events
from bidding.tender.effects import EffectMissing, check_installed, implementation, run_event
from bidding.tender.lifecycle import apply_transition, take_step
from bidding.tender.methods import Method, MethodMissing, method_for, registered_methods
from bidding.tender.projects import Project, register_project
from bidding.tender.states import TRANSITIONS, TenderState as S, period_ends_at
from tests.common import factories
from trading.audit import AuditEntry
from trading.database import database_now
from trading.rules.ruleset import DATA_DIR as RULESET_DATA_DIR
from trading.rules.store import RuleSetRecord
from trading.timefmt import CENTER_ZONE

_codes = itertools.count(1)


async def new_tender(session, method: str = "open_tender", category: str = "construction") -> Project:
    party = await factories.organisation(session, "tendering_party")
    return await register_project(session, actor="test", code=f"JN-2026-GC-H{next(_codes):04d}", title="济宁市测试道路工程",
                                  category=category, method=method, region_code="370800",
                                  tendering_party_id=party.id, estimate_fen=86_500_000_00)


async def tender_steps(session, code: str) -> int:
    return await session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.subject == f"project:{code}", AuditEntry.action.like("tender.%")))


# --------------------------------------------------------------------------- nothing skipped


def test_every_declared_effect_has_its_implementation_after_install():
    methods = registered_methods()
    assert {method.code for method in methods} >= {"public_tender", "invited_tender"}
    for method in methods:
        for name in method.declared_effects():
            assert callable(implementation(name)), name
    check_installed()


def test_the_refunds_follow_the_steps_that_settle_deposits():
    """统一费用收取退付: the contract, failure and termination make refunds due; evaluation
    records the bids revoked at the opening; a withdrawn bid's deposit goes back."""
    then = {action: transition.then for action, transition in TRANSITIONS.items() if transition.then}
    assert then["record_contract"] == ("refund_deposits_after_contract",)
    assert then["fail"] == ("refund_deposits_after_failure",)
    assert then["terminate"] == ("refund_deposits_after_termination",)
    assert then["start_evaluation"] == ("record_opening_outcomes",)
    assert method_for("open_tender").events["bid_withdrawn"] == ("refund_withdrawn_deposits",)


def test_every_shipped_rule_set_is_run_by_a_method():
    for path in sorted(RULESET_DATA_DIR.glob("*.toml")):
        rule_set_method = tomllib.loads(path.read_text(encoding="utf-8"))["ruleset"]["method"]
        assert rule_set_method in method_for(rule_set_method).rule_set_methods, path.name


def test_start_up_refuses_a_method_declaring_an_effect_nobody_implements():
    transitions = dict(TRANSITIONS)
    transitions["award"] = dataclasses.replace(TRANSITIONS["award"], then=("send_flowers_to_the_winner",))
    method = Method(code="test_method", name="测试", rule_set_methods=frozenset({"test_method"}), transitions=transitions)
    with pytest.raises(EffectMissing, match="send_flowers_to_the_winner"):
        check_installed([method])


async def test_a_step_whose_effect_has_no_implementation_is_refused_before_anything_is_written(session):
    project = await new_tender(session)
    steps = await tender_steps(session, project.code)
    terminate = dataclasses.replace(TRANSITIONS["terminate"], then=("send_flowers_to_the_winner",))
    with pytest.raises(EffectMissing, match="send_flowers_to_the_winner"):
        await take_step(session, project, terminate, {"reason": "招标人撤销项目"}, actor="test",
                        now=await database_now(session))
    await session.refresh(project)
    assert project.state == S.REGISTERED and await tender_steps(session, project.code) == steps


async def test_an_event_no_method_declares_is_refused(session):
    project = await new_tender(session)
    with pytest.raises(EffectMissing, match="bid_painted_green"):
        await run_event(session, project, "bid_painted_green", actor="test", now=await database_now(session))


async def test_a_project_whose_method_has_no_module_is_refused_not_run_by_another_table(session):
    project = await new_tender(session)
    await session.execute(update(Project).where(Project.id == project.id).values(method="competitive_negotiation"))
    with pytest.raises(MethodMissing, match="competitive_negotiation"):
        await apply_transition(session, actor="test", project_code=project.code, action="terminate",
                               facts={"reason": "招标人撤销项目"})


# --------------------------------------------------------------------------- due_events

MOMENTS = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 6, 30),
                       timezones=st.just(timezone.utc))


def _project(state: S, method: str, issued: datetime, deadline: datetime, started: datetime,
             stored: datetime | None) -> Project:
    return Project(code="JN-2026-GC-H9999", title="测试", category="construction", method=method, region_code="370800",
                   tendering_party_id=1, estimate_fen=1, rule_set_id=1, state=state.value,
                   documents_issued_at=issued, bid_deadline=deadline, publicity_started_at=started, next_due_at=stored)


async def test_due_events_names_the_next_step_and_when_for_every_state(session):
    construction = await session.scalar(select(RuleSetRecord).where(
        RuleSetRecord.code == "construction-open-tender").order_by(RuleSetRecord.id.desc()).limit(1))
    procurement = await session.scalar(select(RuleSetRecord).where(
        RuleSetRecord.code == "procurement-public-tender").order_by(RuleSetRecord.id.desc()).limit(1))
    publicity_days = construction.value("candidate_publicity_min_days")
    assert publicity_days == 3 and procurement.entry("candidate_publicity_min_days") is None

    @hypothesis_settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(state=st.sampled_from(list(S)), issued=MOMENTS, after=st.timedeltas(timedelta(days=1), timedelta(days=60)),
           started=MOMENTS, stored=st.none() | MOMENTS, procurement_rules=st.booleans())
    def check(state, issued, after, started, stored, procurement_rules):
        rules, method = (procurement, "public_tender") if procurement_rules else (construction, "open_tender")
        due = due_events(_project(state, method, issued, issued + after, started, stored), rules)
        if state == S.ANNOUNCED:
            assert (due.action, due.task, due.at) == ("open_bidding", None, issued)
        elif state == S.BIDDING:
            assert (due.action, due.task, due.at) == ("start_opening", None, issued + after)
        elif state == S.PUBLICITY:
            assert (due.action, due.task) == ("award", None)
            if procurement_rules:
                assert due.at is None  # no publicity period: the purchaser decides
            else:
                # At a midnight in Beijing, at least the rule's full days after the start day.
                local = due.at.astimezone(CENTER_ZONE)
                assert local.time() == time(0) and local.date() > started.astimezone(CENTER_ZONE).date() + \
                    timedelta(days=publicity_days)
                assert due.at == period_ends_at(started, publicity_days)
        elif state == S.OPENING:
            # The opening sets the window's end itself; the chronograph closes it then.
            assert (due.action, due.task, due.at) == (None, "close_decryption_window", stored)
        else:
            assert (due.action, due.task, due.at) == (None, None, None)

    check()


async def test_the_chronograph_takes_what_due_events_names_when_it_is_due(session):
    project = await new_tender(session)
    deadline = await database_now(session) + timedelta(days=25)
    await apply_transition(session, actor="test", project_code=project.code, action="announce",
                           facts={"bid_deadline": deadline})
    rules = await session.get(RuleSetRecord, project.rule_set_id)
    due = due_events(project, rules)
    assert due.action == "open_bidding" and project.next_due_at == due.at == project.documents_issued_at
    assert (project.code, "open_bidding") in await run_due_steps(session, now=due.at)
    await session.refresh(project)
    due = due_events(project, rules)
    assert project.state == S.BIDDING and due.action == "start_opening"
    assert project.next_due_at == due.at == deadline
    assert project.code not in [code for code, _ in await run_due_steps(session, now=deadline - timedelta(seconds=1))]
    assert (project.code, "start_opening") in await run_due_steps(session, now=deadline)
    await session.refresh(project)
    # Without the center's keys the clock only changes the state; the opening desk opens later.
    assert project.state == S.OPENING and due_events(project, rules).task == "close_decryption_window"
    assert project.next_due_at is None
