"""The award's part in what follows a tender's steps: the effects the transition table names,
registered at start-up (:func:`bidding.methods.install`)."""

from __future__ import annotations

from bidding.award.award_notice import start_award_notice_clock
from bidding.tender.effects import Step, register_effect


async def award_notice_clock(step: Step) -> None:
    """At the award: the award notice is due within the rule's working days."""
    await start_award_notice_clock(step.session, step.project, actor=step.actor, now=step.now)


EFFECTS = {"start_award_notice_clock": award_notice_clock}


def register() -> None:
    for name, effect in EFFECTS.items():
        register_effect(name, effect)
