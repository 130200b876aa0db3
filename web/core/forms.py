"""Server-side form handling for portal pages: errors next to their fields, input kept.

A page handler validates what the user typed (or lets a service refuse it) and, on an
error, renders the same template again with ``FormState``: the values as typed and one
Chinese message per field. Services name the field of a refusal in ``details["field"]``
where they know it; anything else is shown above the form.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from trading.errors import DomainError, InvalidInput
from trading.timefmt import CENTER_ZONE


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

    def refuse(self, exc: DomainError, guess: Callable[[DomainError], str | None] | None = None,
               aliases: Mapping[str, str] | None = None) -> None:
        """Attach a service's refusal to the form's field it names (``aliases`` map the
        service's name to the form's; ``guess`` finds one when it names none), or above the
        form when that field is not on it."""
        named = exc.details.get("field") if isinstance(exc.details, dict) else None
        name = (aliases or {}).get(named, named) if isinstance(named, str) and named else None
        name = name or (guess(exc) if guess else None)
        if name and name in self.values:
            self.error(name, exc.message)
        else:
            self.general.append(exc.message)

    async def attempt(self, session: AsyncSession, act: Callable[[], Awaitable[Any]],
                      guess: Callable[[DomainError], str | None] | None = None,
                      aliases: Mapping[str, str] | None = None) -> Any:
        """Run the service call ``act`` when the form has no error; a refusal is rolled back
        and shown on the form (see ``refuse``), and the answer is then None."""
        if not self.ok:
            return None
        try:
            return await act()
        except DomainError as exc:
            await session.rollback()
            self.refuse(exc, guess, aliases)
            return None

    def read(self, reader: Callable[..., Any], name: str, label: str) -> Any:
        """``reader(value, field=name, label=label)`` on a filled-in field; its refusal goes
        beside the field and the answer is None (so is an empty field's)."""
        if not str(self.value(name) or "").strip():
            return None
        try:
            return reader(self.value(name), field=name, label=label)
        except InvalidInput as exc:
            self.error(name, exc.message)
            return None

    @property
    def ok(self) -> bool:
        return not self.errors and not self.general

    def required(self, *names_and_labels: tuple[str, str]) -> None:
        """Every (name, label) must be filled in."""
        for name, label in names_and_labels:
            if not str(self.values.get(name, "") or "").strip():
                self.error(name, f"请填写{label}")


async def form_values(request: Request) -> dict[str, str]:
    """A urlencoded page form as plain strings (without the CSRF token)."""
    form = await request.form()
    return {key: str(value).strip() for key, value in form.items() if key != "_csrf_token"}


def local_moment(text: str, *, field: str, label: str) -> datetime:
    """A ``datetime-local`` value (``2026-12-20T09:30``), read as the center's time (Asia/Shanghai)."""
    value = (text or "").strip()
    if not value:
        raise InvalidInput(f"请填写{label}", code="time_required", field=field)
    try:
        moment = datetime.fromisoformat(value.replace(" ", "T"))
    except ValueError:
        raise InvalidInput(f"{label}格式有误，应为 2026-12-20 09:30 这样的日期和时间", code="invalid_time", field=field) from None
    return moment.replace(tzinfo=CENTER_ZONE) if moment.tzinfo is None else moment


def day_of(text: str, *, field: str, label: str) -> date:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise InvalidInput(f"{label}格式有误，应为 YYYY-MM-DD", code="invalid_date", field=field) from None
