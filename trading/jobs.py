"""Background jobs: the loops that move the platform on by themselves (deadlines, the batch
opener, unsealing, the outbox, audit checkpoints, ...). Each package declares its own
(``JOBS`` in its ``jobs`` module); ``bidding.jobs.ALL_JOBS`` is the whole list. They run
inside ``trading serve`` and, with the web app stopped, in ``trading worker``, so that a
deployment can scale web and worker processes apart. Every job is safe to run in several
processes at once (row locks with SKIP LOCKED, or advisory locks)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from trading.audit import make_checkpoint
from trading.database import transaction
from trading.keys import CenterKeys
from trading.notifications import Sender, deliver_pending
from trading.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class JobContext:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    keys: CenterKeys
    # The adapters the tops hand in (adapters/choice.py): the partner gateway
    # (bidding.draws.partner_client.PartnerGateway, typed there: this package sits below it)
    # and the notification sender.
    partner_gateway: Any
    sender: Sender

    _owned: dict[type, Any] = field(default_factory=dict, repr=False)

    def own(self, kind: type[T]) -> T:
        """One ``kind()`` per runner, for a job that remembers between rounds."""
        if kind not in self._owned:
            self._owned[kind] = kind()
        return self._owned[kind]


@dataclass(frozen=True)
class Job:
    name: str
    every: Callable[[Settings], float]  # seconds between rounds, from the settings
    work: Callable[[AsyncSession, JobContext], Awaitable[object]]


async def run_periodically(context: JobContext, job: Job) -> None:
    """Run ``job`` in its own transaction every round; a failure waits for the next round."""
    seconds = job.every(context.settings)
    while True:
        try:
            async with transaction(context.sessions) as session:
                await job.work(session, context)
        except Exception:  # noqa: BLE001 - keep the loop alive; the next round retries
            log.exception("background job %s failed", job.name)
        await asyncio.sleep(seconds)


def start_jobs(jobs: Sequence[Job], context: JobContext) -> list[asyncio.Task]:
    return [asyncio.create_task(run_periodically(context, job), name=job.name) for job in jobs]


async def stop_jobs(tasks: Sequence[asyncio.Task]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with suppress(asyncio.CancelledError):
            await task


JOBS = (
    # 统一电子监察: the chain's head is signed regularly.
    Job("audit_checkpoint", lambda s: s.audit_checkpoint_seconds,
        lambda session, c: make_checkpoint(session, c.keys)),
    Job("outbox", lambda s: s.outbox_seconds, lambda session, c: deliver_pending(session, c.sender)),
)
