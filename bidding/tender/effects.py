"""What follows a tender's step, as hooks (openprocurement's after-hooks, ``status_up``).

The transition table (:mod:`bidding.tender.states`) names the effects that follow each step;
the subpackage that owns an effect registers its implementation here at start-up
(``bidding/<subpackage>/effects.py``, all installed by :func:`bidding.methods.install`). So
the tender knows effects only by name and never imports upward.

Nothing is skipped silently: a step (or event, or chronograph task) whose declared effect
has no implementation raises :class:`EffectMissing` before it writes anything, and
:func:`check_installed` refuses to start when a registered method declares one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bidding.tender.methods import Method, method_for, registered_methods
from bidding.tender.projects import Project
from trading.keys import CenterKeys
from trading.rules.store import RuleSetRecord


class EffectMissing(RuntimeError):
    """A declared effect has no implementation: start-up did not install it (a deployment error)."""


@dataclass(frozen=True)
class Step:
    """What an effect is given: the step just taken (or the event, or the task), in the
    caller's transaction, on the project row the caller has locked."""

    session: AsyncSession
    project: Project
    rule_set: RuleSetRecord
    actor: str
    now: datetime
    # The transition's action; None for an event or a chronograph task.
    action: str | None = None
    # The state before the step (for a task or event: the current state) and after it.
    source: str | None = None
    target: str | None = None
    # When a resumed tender had been suspended.
    suspended_at: datetime | None = None
    # The center's keys, where the caller holds them (the chronograph, the opening desk).
    keys: CenterKeys | None = None


# An effect may return details to add to the step's audit entry (``during`` effects only).
Effect = Callable[[Step], Awaitable[Mapping[str, Any] | None]]

_EFFECTS: dict[str, Effect] = {}


def register_effect(name: str, effect: Effect) -> None:
    """Implement the effect ``name``; registering the same function again is harmless."""
    known = _EFFECTS.get(name)
    if known is not None and known is not effect:
        raise RuntimeError(f"effect {name!r} is registered twice ({known.__module__} and {effect.__module__})")
    _EFFECTS[name] = effect


def implementation(name: str) -> Effect:
    effect = _EFFECTS.get(name)
    if effect is None:
        raise EffectMissing(f"effect {name!r} is declared but not registered: start-up must call "
                            f"bidding.methods.install()")
    return effect


def require(names: Iterable[str]) -> None:
    """Refuse before anything is written when one of ``names`` has no implementation."""
    for name in names:
        implementation(name)


async def run_effects(names: Iterable[str], step: Step) -> dict[str, Any]:
    """Run the effects in order; returns the details they add to the step's audit entry."""
    details: dict[str, Any] = {}
    for name in names:
        details |= await implementation(name)(step) or {}
    return details


async def run_event(session: AsyncSession, project: Project, event: str, *, actor: str, now: datetime) -> None:
    """Run what follows ``event`` (not a step: the state stays), as the project's method declares."""
    names = method_for(project.method).events.get(event)
    if names is None:
        raise EffectMissing(f"event {event!r} is not declared by the project's trading method")
    require(names)
    rule_set = await session.get(RuleSetRecord, project.rule_set_id)
    await run_effects(names, Step(session, project, rule_set, actor, now, source=project.state,
                                  target=project.state))


def check_installed(methods: Iterable[Method] | None = None) -> None:
    """Refuse to start while a method declares an effect nobody implements."""
    for method in registered_methods() if methods is None else methods:
        missing = sorted(name for name in method.declared_effects() if name not in _EFFECTS)
        if missing:
            raise EffectMissing(f"trading method {method.code!r} declares effects nobody registered: "
                                f"{', '.join(missing)}")
