"""The deadline watch (电子监察): yellow and red cards over the clocks in :mod:`bidding.tender.deadlines`.

- Yellow card: the act is not done and its deadline is near. "Near" is the last fifth
  (20 %) of the clock's period (``set_at`` → ``due_at``), and never less than the last
  24 hours: a period proportional warning gives a 30-day contract clock six days' notice
  and a 5-working-day refund clock more than a day, while the 24-hour floor gives short
  clocks (a 3-day objection answer) a full day. It needs no holiday data, so the watch
  never stops for a missing calendar year, and it is the same for calendar-day and
  working-day rules. See :func:`yellow_from`.
- Red card: the deadline has passed and the act is still not done, or it was done late
  (a red card stays on the record when the act is met late; a late act the watch never
  saw open still gets its red card).
- Cards only go up (none → yellow → red), each once, each with one audit entry
  (``deadline.yellow_card`` / ``deadline.red_card``) naming the act, the due time, the rule
  and its legal source from the project's pinned rule set.

Several watchers may run (one per app worker): rows are taken ``FOR UPDATE SKIP LOCKED``,
and the conditions are in the query itself, so a watcher that finds a row another watcher
just carded re-reads it after that commit and leaves it alone; no card is given twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, extract, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.tender.deadlines import DEADLINE_KINDS, NO_CARD, RED, YELLOW, Deadline
from bidding.tender.projects import Project
from trading.audit import record_event
from trading.database import database_now
from trading.rules.store import RuleSetRecord

WATCH_ACTOR = "system:deadline-watch"
# The share of a clock's period after which it is near (the last fifth), and the floor.
YELLOW_SHARE = 5
YELLOW_MIN = timedelta(hours=24)
CARD_NAMES = {YELLOW: "黄牌", RED: "红牌"}


def yellow_from(set_at: datetime, due_at: datetime) -> datetime:
    """When a clock set at ``set_at`` and due at ``due_at`` becomes near (yellow)."""
    return due_at - max((due_at - set_at) / YELLOW_SHARE, YELLOW_MIN)


def card_for(deadline: Deadline, now: datetime) -> str:
    """The card a deadline deserves at ``now`` (never lower than the one it has)."""
    if deadline.met_at is not None:
        wanted = RED if deadline.met_at > deadline.due_at else NO_CARD
    elif now >= deadline.due_at:
        wanted = RED
    elif now >= yellow_from(deadline.set_at, deadline.due_at):
        wanted = YELLOW
    else:
        wanted = NO_CARD
    order = (NO_CARD, YELLOW, RED)
    return max(wanted, deadline.card, key=order.index)


def _due_for_a_card(now: datetime):
    """SQL: rows whose card must go up at ``now`` (the same test as :func:`card_for`)."""
    # now >= due - max(period / share, floor), i.e. what is left is within the floor or the last share.
    left = extract("epoch", Deadline.due_at - literal(now))
    period = extract("epoch", Deadline.due_at - Deadline.set_at)
    near = or_(Deadline.due_at <= literal(now + YELLOW_MIN), left * YELLOW_SHARE <= period)
    open_ = Deadline.met_at.is_(None)
    return or_(
        and_(Deadline.card != RED, or_(and_(open_, Deadline.due_at <= now), Deadline.met_at > Deadline.due_at)),
        and_(Deadline.card == NO_CARD, open_, near),
    )


async def watch_deadlines(session: AsyncSession, now: datetime | None = None, limit: int = 500
                          ) -> list[tuple[int, str]]:
    """Give the cards due at ``now`` (default: the database clock); returns (deadline id, card)."""
    now = now or await database_now(session)
    rows = (await session.execute(
        select(Deadline, Project.code, Project.rule_set_id).join(Project, Project.id == Deadline.project_id)
        .where(_due_for_a_card(now)).order_by(Deadline.due_at, Deadline.id).limit(limit)
        .with_for_update(of=Deadline, skip_locked=True).execution_options(populate_existing=True)
    )).all()
    given = []
    rule_sets: dict[int, RuleSetRecord] = {}
    for deadline, code, rule_set_id in rows:
        card = card_for(deadline, now)
        if card == deadline.card:
            continue
        if rule_set_id not in rule_sets:
            rule_sets[rule_set_id] = await session.get(RuleSetRecord, rule_set_id)
        deadline.card, deadline.carded_at = card, now
        await session.flush()
        await record_event(session, actor=WATCH_ACTOR, action=f"deadline.{card}_card", subject=deadline.subject,
                           data={"deadline_id": deadline.id, "project": code, **_act(deadline, rule_sets[rule_set_id]),
                                 "met_at": deadline.met_at.isoformat() if deadline.met_at else None,
                                 "at": now.isoformat()})
        given.append((deadline.id, card))
    return given


def _act(deadline: Deadline, rule_set: RuleSetRecord) -> dict[str, Any]:
    rule = (rule_set.entry(deadline.rule) or {}) if deadline.rule else {}
    return {"kind": deadline.kind, "act": DEADLINE_KINDS.get(deadline.kind, deadline.kind),
            "due_at": deadline.due_at.isoformat(), "provisional": deadline.provisional,
            "rule": deadline.rule, "source": rule.get("source"),
            "rule_set": f"{rule_set.code}@{rule_set.version}"}


async def open_cards(session: AsyncSession, *, include_met: bool = False) -> list[dict[str, Any]]:
    """Cards for supervisors, red first then by due time: the acts still not done (and with
    ``include_met``, the red cards of acts done late, which stay on the record)."""
    query = (select(Deadline, Project.code, Project.title, RuleSetRecord)
             .join(Project, Project.id == Deadline.project_id)
             .join(RuleSetRecord, RuleSetRecord.id == Project.rule_set_id)
             .where(Deadline.card.in_((YELLOW, RED))))
    if include_met:
        query = query.where(or_(Deadline.met_at.is_(None), Deadline.card == RED))
    else:
        query = query.where(Deadline.met_at.is_(None))
    rows = (await session.execute(query.order_by((Deadline.card == RED).desc(), Deadline.due_at, Deadline.id))).all()
    return [{"id": deadline.id, "card": deadline.card, "card_name": CARD_NAMES[deadline.card],
             "carded_at": deadline.carded_at.isoformat() if deadline.carded_at else None,
             "project": code, "project_title": title, "subject": deadline.subject,
             **_act(deadline, rule_set), "set_at": deadline.set_at.isoformat(),
             "met_at": deadline.met_at.isoformat() if deadline.met_at else None}
            for deadline, code, title, rule_set in rows]
