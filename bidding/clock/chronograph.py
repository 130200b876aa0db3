"""The chronograph (openprocurement's): time-driven steps happen on their own.

Each project stores ``next_due_at``, the moment its next time-driven step is due (documents
issued → bidding, bid deadline → opening, end of publicity → award; and steps that are not
transitions, :data:`bidding.tender.states.TIME_DRIVEN_TASKS`: the decryption window's end in
``opening`` → :func:`bidding.opening.proceedings.close_window`). A worker in the app
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

from bidding.award.award_notice import start_award_notice_clock
from bidding.tender.lifecycle import take_step, transition_named
from bidding.opening.proceedings import close_window, start_opening
from bidding.tender.projects import Project
from bidding.tender.states import TIME_DRIVEN, TIME_DRIVEN_TASKS
from trading.database import database_now
from trading.errors import DomainError
from trading.keys import CenterKeys

log = logging.getLogger(__name__)

CHRONOGRAPH_ACTOR = "system:chronograph"


async def run_due_steps(session: AsyncSession, now: datetime | None = None, limit: int = 100, *,
                        keys: CenterKeys | None = None) -> list[tuple[str, str]]:
    """Take the due time-driven step of up to ``limit`` projects; returns (project code, action).

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
        action = TIME_DRIVEN.get(project.state)
        task = TASKS.get(TIME_DRIVEN_TASKS.get(project.state))
        if action is None and task is not None:
            try:
                async with session.begin_nested():
                    await task(session, project, now, keys)
                    project.next_due_at = None  # done; the next step waits for people
                    await session.flush()
            except DomainError as refused:
                log.warning("chronograph: %s %s refused: %s", project.code, TIME_DRIVEN_TASKS[project.state],
                            refused.message)
                continue
            taken.append((project.code, TIME_DRIVEN_TASKS[project.state]))
            continue
        if action == "start_opening" and keys is not None:
            try:
                async with session.begin_nested():
                    await start_opening(session, keys, actor=CHRONOGRAPH_ACTOR, project_code=project.code)
            except DomainError as refused:
                log.warning("chronograph: %s start_opening refused: %s", project.code, refused.message)
                continue
            taken.append((project.code, action))
            continue
        if action is None:
            # Nothing the clock can do here (the state changed without clearing it): stop asking.
            project.next_due_at = None
            await session.flush()
            continue
        try:
            async with session.begin_nested():
                await take_step(session, project, transition_named(action), {}, actor=CHRONOGRAPH_ACTOR, now=now)
                if action == "award":  # the award notice is due within the rule's working days
                    await start_award_notice_clock(session, project, actor=CHRONOGRAPH_ACTOR, now=now)
        except DomainError as refused:
            log.warning("chronograph: %s %s refused: %s", project.code, action, refused.message)
            continue
        taken.append((project.code, action))
    return taken


async def _close_decryption_window(session: AsyncSession, project: Project, now: datetime,
                                   keys: CenterKeys | None) -> None:
    # With the keys, bids handed in within the window are opened first; without them the
    # window waits for the batch opener (close_window refuses: hand_ins_pending).
    await close_window(session, actor=CHRONOGRAPH_ACTOR, project_code=project.code, now=now, keys=keys)


# Task name (bidding.tender.states.TIME_DRIVEN_TASKS) → what the chronograph runs.
TASKS = {"close_decryption_window": _close_decryption_window}
