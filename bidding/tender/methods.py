"""Trading methods: each one a unit of its rule sets, its transition table and its effects.

A method module (``bidding/methods/<name>.py``) builds a :class:`Method` and start-up
(:func:`bidding.methods.install`) registers it here. A project is run by the method its rule
set names (``[ruleset] method = ...``, copied to ``Project.method`` at registration); a
project whose method has no module is refused loudly, never run by another method's table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bidding.tender.states import (
    EVENTS,
    TIME_DRIVEN,
    TIME_DRIVEN_TASKS,
    TRANSITIONS,
    Facts,
    RuleValues,
    Transition,
    next_due_at,
)


class MethodMissing(RuntimeError):
    """A project's trading method has no registered method module: a deployment error."""


# Compared by identity: registering the same module twice is harmless, two modules for one
# rule-set method are refused.
@dataclass(frozen=True, eq=False)
class Method:
    code: str
    name: str
    # The rule sets' ``method`` values this method runs (e.g. "open_tender", "public_tender").
    rule_set_methods: frozenset[str]
    # The common table by default (bidding.tender.states); a method may override steps.
    transitions: Mapping[str, Transition] = field(default_factory=lambda: TRANSITIONS)
    # State → the transition the chronograph takes when the project's next due time comes.
    time_driven: Mapping[str, str] = field(default_factory=lambda: TIME_DRIVEN)
    # When that transition is due: (state, the pinned rules' values, the project's facts) → time.
    due_at: Callable[[str, RuleValues, Facts], datetime | None] = next_due_at
    # State → the effect the chronograph runs then, the state staying.
    time_driven_tasks: Mapping[str, str] = field(default_factory=lambda: TIME_DRIVEN_TASKS)
    # Events that are not steps (a bid withdrawn) → the effects that follow them.
    events: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: EVENTS)

    def declared_effects(self) -> frozenset[str]:
        """Every effect name the method's table, tasks and events declare."""
        names = {name for transition in self.transitions.values() for name in transition.effects}
        names |= set(self.time_driven_tasks.values())
        names |= {name for effects in self.events.values() for name in effects}
        return frozenset(names)


_METHODS: dict[str, Method] = {}


def register_method(method: Method) -> None:
    """Make ``method`` run the projects whose rule sets name one of its ``rule_set_methods``."""
    for name in method.rule_set_methods:
        known = _METHODS.get(name)
        if known is not None and known is not method:
            raise RuntimeError(f"trading method {name!r} is claimed by both {known.code} and {method.code}")
    for name in method.rule_set_methods:
        _METHODS[name] = method


def method_for(rule_set_method: str) -> Method:
    """The method that runs a project whose rule set names ``rule_set_method``."""
    method = _METHODS.get(rule_set_method)
    if method is None:
        raise MethodMissing(f"no trading method runs rule sets of method {rule_set_method!r}: add its module to "
                            f"bidding/methods/ and call bidding.methods.install() at start-up")
    return method


def registered_methods() -> tuple[Method, ...]:
    return tuple(dict.fromkeys(_METHODS.values()))
