"""The settlement's part in what follows a tender's steps (统一费用收取退付): the effects
the transition table names, registered at start-up (:func:`bidding.methods.install`)."""

from __future__ import annotations

from bidding.settlement.refunds import instruct_refunds, record_opening_outcomes
from bidding.tender.effects import Effect, Step, register_effect


async def record_outcomes(step: Step) -> None:
    """Evaluation starts: a bid revoked at the opening keeps its deposits where the rule allows."""
    await record_opening_outcomes(step.session, step.project, actor=step.actor)


def refunds_after(event: str) -> Effect:
    """The refunds ``event`` makes due (see :mod:`bidding.settlement.refunds`)."""
    async def refund(step: Step) -> None:
        await instruct_refunds(step.session, step.project, event=event, actor=step.actor)
    refund.__name__ = refund.__qualname__ = f"refunds_after_{event}"
    return refund


EFFECTS = {
    "record_opening_outcomes": record_outcomes,
    "refund_deposits_after_contract": refunds_after("contract"),
    "refund_deposits_after_failure": refunds_after("failed"),
    "refund_deposits_after_termination": refunds_after("terminated"),
    "refund_withdrawn_deposits": refunds_after("withdrawn"),
}


def register() -> None:
    for name, effect in EFFECTS.items():
        register_effect(name, effect)
