"""Steps between states as data: one table shape for every record with a life.

A tender (``bidding.tender.states``), an evaluation round's stages
(``bidding.evaluation.stages``), a sealed draw (``trading.draws``) and a committee request
and its members (``expert_pool.committees``) each declare a table of :class:`Transition`:
the action, its name, the states it may start from, the state it leads to, and for the
tender a guard on the pinned rule set and the facts it needs. A step function looks its
action up and asks :meth:`Transition.allows` instead of comparing statuses by hand; how a
refusal is worded stays with the owner, in Chinese.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Generic, TypeVar

RuleValues = Mapping[str, Any]
Facts = Mapping[str, Any]
State = TypeVar("State", bound=str)


@dataclass(frozen=True)
class Refusal:
    """Why a guard refuses a step: the rule key (its source comes from the rule set)."""

    message: str
    rule: str | None = None
    # True when the step clashes with the record itself rather than a rule.
    conflict: bool = False
    details: Mapping[str, Any] = field(default_factory=dict)


Guard = Callable[[RuleValues, Facts, datetime], Refusal | None]


@dataclass(frozen=True)
class Transition(Generic[State]):
    action: str
    name: str
    sources: frozenset[State]
    # None: the step itself decides (a tender resuming goes back where it was; an act within
    # an evaluation stage, such as a review, leaves the stage as it is).
    target: State | None
    guard: Guard | None = None
    # Facts the caller must give, with their type.
    needs: Mapping[str, type] = field(default_factory=dict)
    # Facts the caller may give.
    accepts: Mapping[str, type] = field(default_factory=dict)

    def allows(self, state: str) -> bool:
        """Whether the step may start from ``state``."""
        return state in self.sources


def transition_table(*transitions: Transition[State]) -> Mapping[str, Transition[State]]:
    """The transitions by action (read-only); an action named twice is a programming error."""
    table = {t.action: t for t in transitions}
    if len(table) != len(transitions):
        raise ValueError("an action is declared twice in a transition table")
    return MappingProxyType(table)
