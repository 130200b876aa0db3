"""The chronograph (openprocurement's): time-driven steps happen on their own.

Each project stores ``next_due_at``, the moment its next time-driven step is due; what is
due then comes from one place, :func:`bidding.tender.due.due_events` (documents issued →
bidding, bid deadline → opening, end of publicity → award; and tasks that are not transitions,
run through the same hooks as a step's effects: the decryption window's end in ``opening``
→ ``close_decryption_window``, implemented by :mod:`bidding.opening.effects`). A worker
calls :func:`run_due_steps` every few seconds; due projects are picked with
``FOR UPDATE SKIP LOCKED``, so several workers share the work and never act twice on one
project: a row one worker holds is skipped by the others, and once its step commits the
project is no longer due.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.tender.due import due_events
from bidding.tender.effects import Step, require, run_effects
from bidding.tender.lifecycle import take_step, transition_named
from bidding.tender.projects import Project
from trading.database import database_now
from trading.errors import DomainError
from trading.keys import CenterKeys
from trading.rules.store import RuleSetRecord

log = logging.getLogger(__name__)

CHRONOGRAPH_ACTOR = "system:chronograph"


async def run_due_steps(session: AsyncSession, now: datetime | None = None, limit: int = 100, *,
                        keys: CenterKeys | None = None) -> list[tuple[str, str]]:
    """Take the due time-driven step of up to ``limit`` projects; returns (project code, action or task).

    ``now`` defaults to the database clock. A step its guard refuses is logged and left
    for the next round; it never stops the others. With the center's ``keys`` (the app's
    worker) the opening starts in full at the bid deadline: the center's halves are opened
    and the decryption window runs from then; without them (tests of the clock alone) the
    step only changes the state, and the opening waits for :func:`bidding.opening.proceedings.start_opening`.
    """
    now = now or await database_now(session)
    due = (await session.scalars(
        select(Project)
        .where(Project.next_due_at <= now)
        .order_by(Project.next_due_at, Project.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )).all()
    taken = []
    for project in due:
        rule_set = await session.get(RuleSetRecord, project.rule_set_id)
        what = due_events(project, rule_set)
        if what.action is None and what.task is None:
            # Nothing the clock can do here (the state changed without clearing it): stop asking.
            project.next_due_at = None
            await session.flush()
            continue
        name = what.action or what.task
        try:
            async with session.begin_nested():
                if what.action is not None:
                    await take_step(session, project, transition_named(what.action, project.method), {},
                                    actor=CHRONOGRAPH_ACTOR, now=now, keys=keys)
                else:
                    require((what.task,))
                    await run_effects((what.task,), Step(session, project, rule_set, CHRONOGRAPH_ACTOR, now,
                                                         source=project.state, target=project.state, keys=keys))
                    project.next_due_at = None  # done; the next step waits for people
                    await session.flush()
        except DomainError as refused:
            log.warning("chronograph: %s %s refused: %s", project.code, name, refused.message)
            continue
        taken.append((project.code, name))
    return taken
