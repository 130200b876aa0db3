"""Server-side form handling for portal pages: errors next to their fields, input kept.

A page handler validates what the user typed (or lets a service refuse it) and, on an
error, renders the same template again with ``FormState``: the values as typed and one
Chinese message per field. Services name the field of a refusal in ``details["field"]``
where they know it; anything else is shown above the form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from trading.errors import DomainError


@dataclass
class FormState:
    """What the user typed and what was wrong with it, for re-rendering a form."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, values: Mapping[str, Any] | None = None) -> FormState:
        return cls(values=dict(values or {}))

    def value(self, name: str, default: Any = "") -> Any:
        return self.values.get(name, default)

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def refuse(self, exc: DomainError) -> None:
        """Attach a service's refusal to its field, or above the form."""
        name = exc.details.get("field") if isinstance(exc.details, dict) else None
        if isinstance(name, str) and name:
            self.error(name, exc.message)
        else:
            self.general.append(exc.message)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.general

    def required(self, *names_and_labels: tuple[str, str]) -> None:
        """Every (name, label) must be filled in."""
        for name, label in names_and_labels:
            if not str(self.values.get(name, "") or "").strip():
                self.error(name, f"请填写{label}")
