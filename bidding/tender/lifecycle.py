"""Moving a tender from state to state: one locked, rule-checked, audited step at a time.

Every step goes through :func:`apply_transition` (or, for the chronograph, the same
checks with the project row already locked): the project row is locked, the step is
looked up in the transition table of the project's trading method (:mod:`bidding.tender.methods`),
its guard is run on the pinned rule set at the database clock, and the new state, the next
due time and the audit entry are written in the caller's transaction, with the effects the
transition declares (:mod:`bidding.tender.effects`) in their order.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bidding.tender.due import due_events, stored_facts
from bidding.tender.effects import Step, require, run_effects
from bidding.tender.methods import method_for
from bidding.tender.projects import Project, get_project
from bidding.tender.states import STATE_NAMES, Refusal, TenderState, Transition, target_of
from trading.audit import record_event
from trading.database import database_now
from trading.events import publish_event
from trading.errors import Conflict, InvalidInput, RuleViolation
from trading.keys import CenterKeys
from trading.rules.store import RuleSetRecord


async def apply_transition(
    session: AsyncSession, *, actor: str, project_code: str, action: str, facts: Mapping[str, Any] | None = None,
    keys: CenterKeys | None = None
) -> Project:
    """Take one step of the tender's life, checked against its pinned rule set.

    Raises :class:`Conflict` (naming the current state in Chinese) when the step is not
    allowed from the current state, :class:`RuleViolation` (naming the rule key and its
    legal source) when the rule set forbids it, :class:`InvalidInput` for missing facts.
    With the center's ``keys`` the effects that need them run (the opening's center halves).
    """
    project = await get_project(session, project_code, lock=True)
    transition = transition_named(action, project.method)
    return await take_step(session, project, transition, facts or {}, actor=actor, now=await database_now(session),
                           keys=keys)


def transition_named(action: str, method: str) -> Transition:
    """The step ``action`` in the transition table of the trading method ``method``."""
    transition = method_for(method).transitions.get(action)
    if transition is None:
        raise InvalidInput(f"未知的操作「{action}」", code="unknown_action", field="action", action=action)
    return transition


async def take_step(
    session: AsyncSession, project: Project, transition: Transition, given: Mapping[str, Any], *, actor: str,
    now: datetime, keys: CenterKeys | None = None
) -> Project:
    """Check and write one step on a project whose row the caller has locked, then its effects."""
    require(transition.effects)  # an effect nobody registered: refused before anything is written
    state = project.state
    if state not in transition.sources:
        raise Conflict(f"项目 {project.code} 当前状态为「{STATE_NAMES.get(state, state)}」，不能{transition.name}",
                       code="state_conflict", project=project.code, state=state, state_name=STATE_NAMES.get(state, state),
                       action=transition.action)
    checked = _checked_facts(transition, given)
    rule_set = await session.get(RuleSetRecord, project.rule_set_id)
    rules = rule_set.values()
    facts = stored_facts(project) | checked
    for name in transition.now_by_default:
        if facts[name] is None:
            facts[name] = now
    if transition.guard is not None:
        refusal = transition.guard(rules, facts, now)
        if refusal is not None:
            raise _refused(refusal, rule_set, project, transition)

    target = target_of(transition, project.suspended_from)
    for name in transition.records:
        setattr(project, name, facts[name])
    for name in transition.stamps:
        setattr(project, name, now)
    moved_deadline = _give_back_paused_time(project, target, now)
    suspended_at = project.suspended_at
    project.suspended_from = state if target == TenderState.SUSPENDED else None
    project.suspended_at = now if target == TenderState.SUSPENDED else None
    project.state = target.value
    project.next_due_at = None  # a new state: its own due time, if any (a task's is set by its owner)
    project.next_due_at = due_events(project, rule_set).at
    step = Step(session, project, rule_set, actor, now, action=transition.action, source=state, target=target.value,
                suspended_at=suspended_at, keys=keys)
    details = await run_effects(transition.during, step)
    await session.flush()
    await record_event(session, actor=actor, action=f"tender.{transition.action}", subject=f"project:{project.code}",
                       data={"from": state, "to": target.value, "facts": _jsonable(checked),
                             "rule_set": f"{rule_set.code}@{rule_set.version}",
                             "next_due_at": project.next_due_at.isoformat() if project.next_due_at else None,
                             **({"bid_deadline_moved_to": moved_deadline.isoformat()} if moved_deadline else {}),
                             **details})
    await publish_event(session, f"project:{project.code}", f"tender.{transition.action}",
                        {"from": state, "to": target.value})
    await run_effects(transition.then, step)
    return project


def _give_back_paused_time(project: Project, target: TenderState, now: datetime) -> datetime | None:
    """On resuming before the opening, the bid deadline moves by the time the tender was
    suspended: bidders could not bid meanwhile (a change may move it further)."""
    if (project.state != TenderState.SUSPENDED or target not in (TenderState.ANNOUNCED, TenderState.BIDDING)
            or project.suspended_at is None or project.bid_deadline is None):
        return None
    project.bid_deadline = project.bid_deadline + (now - project.suspended_at)
    return project.bid_deadline


def _checked_facts(transition: Transition, given: Mapping[str, Any]) -> dict[str, Any]:
    known = {**transition.accepts, **transition.needs}
    for name in given:
        if name not in known:
            raise InvalidInput(f"「{transition.name}」不接受事实「{name}」", code="unknown_fact", field=name)
    checked: dict[str, Any] = {}
    for name, kind in known.items():
        if name not in given or given[name] is None:
            if name in transition.needs:
                raise InvalidInput(f"「{transition.name}」须提供「{name}」", code="fact_required", field=name)
            continue
        value = given[name]
        if kind is int and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise InvalidInput(f"「{name}」应为不小于零的整数", code="invalid_fact", field=name)
        if kind is datetime and (not isinstance(value, datetime) or value.tzinfo is None):
            raise InvalidInput(f"「{name}」应为带时区的时间", code="invalid_fact", field=name)
        if kind is str:
            if not isinstance(value, str) or not value.strip():
                raise InvalidInput(f"「{name}」不能为空", code="invalid_fact", field=name)
            value = value.strip()
        checked[name] = value
    return checked


def _refused(refusal: Refusal, rule_set: RuleSetRecord, project: Project, transition: Transition) -> Exception:
    context = {"project": project.code, "state": project.state, "action": transition.action, **refusal.details}
    if refusal.conflict:
        return Conflict(refusal.message, code="state_conflict", **context)
    if refusal.rule is None:
        return RuleViolation(refusal.message, code="step_refused", **context)
    rule: Mapping[str, Any] = rule_set.entry(refusal.rule) or {}
    source = rule.get("source")
    message = f"{refusal.message}（{source}）" if source else refusal.message
    return RuleViolation(message, rule=refusal.rule, source=source, value=rule.get("value"), unit=rule.get("unit"),
                         rule_set=f"{rule_set.code}@{rule_set.version}", **context)


def _jsonable(facts: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value.isoformat() if isinstance(value, datetime) else value for name, value in facts.items()}

