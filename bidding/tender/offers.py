"""The tender steps a person may be offered, derived from the transition table.

:data:`bidding.tender.states.TRANSITIONS` says from which states each step starts;
:data:`TAKEN_BY` says who takes it by hand (the roles the API and the pages let act; the
step's service still checks the person acts for the project, and its guard the rules). A
page offers the buttons :func:`offered_actions` names instead of its own list of states, so
a change to the table changes every page at once. Steps no person takes (``open_bidding``:
the chronograph, at the time the documents are issued) are offered to nobody.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Protocol

from bidding.tender.states import TRANSITIONS
from trading.errors import PermissionDenied
from trading.roles import UserRole

ADMIN, PARTY, AGENCY, SUPERVISOR = (UserRole.ADMIN.value, UserRole.TENDERING_PARTY.value, UserRole.AGENCY.value,
                                    UserRole.SUPERVISOR.value)

TAKEN_BY: Mapping[str, frozenset[str]] = MappingProxyType({
    "announce": frozenset({ADMIN, PARTY, AGENCY}),
    "start_opening": frozenset({ADMIN}),  # at the bid deadline; the chronograph too
    "fail": frozenset({ADMIN}),  # at the end of the opening or the evaluation
    "start_evaluation": frozenset({ADMIN}),  # at the end of the opening
    "publish_candidates": frozenset({ADMIN, AGENCY}),
    "suspend": frozenset({SUPERVISOR}),  # accepting a complaint (an objection to the documents suspends by itself)
    "resume": frozenset({SUPERVISOR}),
    "reevaluate": frozenset({SUPERVISOR}),
    "award": frozenset({ADMIN}),  # with the award notice; the chronograph at the end of the publicity
    "record_contract": frozenset({PARTY, AGENCY}),
    "close": frozenset({ADMIN}),
    "terminate": frozenset({ADMIN}),
})


class HasState(Protocol):
    state: str


def offered_actions(project: HasState, role: str | None) -> tuple[str, ...]:
    """The steps (transition actions, in the table's order) someone in ``role`` may take from the project's state."""
    return tuple(action for action, transition in TRANSITIONS.items()
                 if project.state in transition.sources and role in TAKEN_BY.get(action, ()))


def check_takes(action: str, role: str | None, refusal: str) -> None:
    """Refuse (with ``refusal``) someone whose role does not take the step ``action`` by hand."""
    if role not in TAKEN_BY.get(action, ()):
        raise PermissionDenied(refusal, code=f"may_not_{action}")
