"""What the chronograph does next for a tender, and when: one answer, :func:`due_events`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bidding.tender.methods import method_for
from bidding.tender.projects import Project
from trading.rules.store import RuleSetRecord


@dataclass(frozen=True)
class Due:
    # When (None: the tender waits for people).
    at: datetime | None
    # The transition the chronograph then takes, or the effect it runs (the state staying).
    action: str | None = None
    task: str | None = None


def stored_facts(project: Project) -> dict[str, Any]:
    """The facts a project carries itself, which guards may read."""
    return {"documents_issued_at": project.documents_issued_at, "bid_deadline": project.bid_deadline,
            "publicity_started_at": project.publicity_started_at, "suspended_from": project.suspended_from}


def due_events(project: Project, rules: RuleSetRecord) -> Due:
    """The project's next time-driven step under its method and pinned rule set.

    A transition's time comes from the project's facts (documents issued, bid deadline, end of
    publicity); a task's time is set by the package that owns it (the opening sets the end of
    the decryption window) and is the project's stored ``next_due_at``. The lifecycle stores
    ``at`` as the project's ``next_due_at`` after every step.
    """
    method = method_for(project.method)
    action = method.time_driven.get(project.state)
    if action is not None:
        return Due(method.due_at(project.state, rules.values(), stored_facts(project)), action=action)
    task = method.time_driven_tasks.get(project.state)
    if task is not None:
        return Due(project.next_due_at, task=task)
    return Due(None)
