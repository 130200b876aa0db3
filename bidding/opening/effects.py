"""The opening's part in what follows a tender's steps and what the chronograph runs: the
effects the transition table names, registered at start-up (:func:`bidding.methods.install`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bidding.opening.proceedings import close_window, open_center_halves, resume_decryption_window
from bidding.tender.effects import Step, register_effect
from bidding.tender.states import TenderState


async def open_halves(step: Step) -> None:
    """At the opening step, with the center's keys at hand, the opening starts in full; without
    them (the clock alone) it waits for :func:`bidding.opening.proceedings.start_opening`."""
    if step.keys is not None:
        await open_center_halves(step.session, step.keys, step.project, actor=step.actor)


async def resume_window(step: Step) -> Mapping[str, Any] | None:
    """An opening resumed after a suspension keeps the decryption time it had left; the step's
    audit entry says where the window's end moved."""
    if step.target != TenderState.OPENING or step.suspended_at is None:
        return None
    moved = step.project.next_due_at = await resume_decryption_window(
        step.session, step.project, suspended_at=step.suspended_at, now=step.now)
    return {"decryption_window_moved_to": moved.isoformat()} if moved else None


async def close_decryption_window(step: Step) -> None:
    # With the keys, bids handed in within the window are opened first; without them the
    # window waits for the batch opener (close_window refuses: hand_ins_pending).
    await close_window(step.session, actor=step.actor, project_code=step.project.code, now=step.now, keys=step.keys)


EFFECTS = {
    "open_center_halves": open_halves,
    "resume_decryption_window": resume_window,
    "close_decryption_window": close_decryption_window,
}


def register() -> None:
    for name, effect in EFFECTS.items():
        register_effect(name, effect)
