"""The plain facts the credit decisions work on: a record, a project, a period.

No database here. A record's effective period is half-open, ``[effective_from,
effective_to)`` in UTC, ``effective_to`` None for an open end; departments decide by day,
so a date given for the start means 00:00 of that day in the center's zone, and a date
given for the end means its whole day is still in force (the period ends at 00:00 of the
next day). Scope: an empty set of categories or regions means "all".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from trading.timefmt import CENTER_ZONE

ACTIVE = "active"
REPAIRED = "repaired"
REVOKED = "revoked"
STATUS_NAMES = {ACTIVE: "有效", REPAIRED: "已信用修复", REVOKED: "已撤销"}
# Shown, never stored: expiry and future start are by time.
EXPIRED = "expired"
PENDING = "pending"
SHOWN_STATUS_NAMES = {**STATUS_NAMES, EXPIRED: "已过期", PENDING: "尚未生效"}


def period_start(value: date | datetime) -> datetime:
    """A start given as a date is 00:00 of that day in the center's zone."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(), CENTER_ZONE)


def period_end(value: date | datetime | None) -> datetime | None:
    """An end given as a date keeps that whole day in force: 00:00 of the next day."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.combine(value + timedelta(days=1), time(), CENTER_ZONE)


def last_day(effective_to: datetime | None) -> date | None:
    """The last day in force, in the center's zone, of a period ending at ``effective_to``."""
    if effective_to is None:
        return None
    return (effective_to - timedelta(microseconds=1)).astimezone(CENTER_ZONE).date()


def first_day(effective_from: datetime) -> date:
    return effective_from.astimezone(CENTER_ZONE).date()


def describe_period(effective_from: datetime, effective_to: datetime | None) -> str:
    start = first_day(effective_from).isoformat()
    end = last_day(effective_to)
    return f"{start} 起长期有效" if end is None else f"{start} 至 {end.isoformat()}"


def years_before(moment: datetime, years: int) -> datetime:
    """The same instant ``years`` years earlier (29 February falls back to the 28th)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def region_covers(scope_code: str, region_code: str) -> bool:
    """Whether a scope region (GB/T 2260) covers a project region: itself, or as its
    province (``xx0000``) or city (``xxxx00``)."""
    if scope_code == region_code:
        return True
    if scope_code.endswith("0000"):
        return region_code[:2] == scope_code[:2]
    if scope_code.endswith("00"):
        return region_code[:4] == scope_code[:4]
    return False


def covering_regions(region_code: str) -> list[str]:
    """Every scope code that covers ``region_code`` (for SQL array overlap)."""
    return sorted({region_code, region_code[:4] + "00", region_code[:2] + "0000"})


@dataclass(frozen=True)
class RecordFacts:
    """One credit record as the decisions see it."""

    id: int | None
    subject_type: str
    subject_key: str
    department: str
    department_name: str
    kind: str
    kind_name: str
    severity: str
    decision_number: str
    act: str
    effective_from: datetime
    effective_to: datetime | None = None
    categories: frozenset[str] = frozenset()  # empty: every trading category
    region_codes: frozenset[str] = frozenset()  # empty: every region
    status: str = ACTIVE

    def in_force(self, moment: datetime) -> bool:
        """Active, and ``moment`` lies in the effective period."""
        return (self.status == ACTIVE and self.effective_from <= moment
                and (self.effective_to is None or moment < self.effective_to))

    def covers(self, category: str, region_code: str) -> bool:
        """The record's scope includes the category and the region."""
        return ((not self.categories or category in self.categories)
                and (not self.region_codes or any(region_covers(code, region_code) for code in self.region_codes)))

    def took_effect_since(self, since: datetime) -> bool:
        return self.effective_from > since

    @property
    def period(self) -> str:
        return describe_period(self.effective_from, self.effective_to)

    def describe(self) -> str:
        """Department, kind, decision number and period, as the subject is told."""
        return (f"{self.department_name}认定的「{self.kind_name}」记录（决定文书号：{self.decision_number}，"
                f"有效期：{self.period}）")

    def as_dict(self) -> dict[str, Any]:
        return {"record_id": self.id, "department": self.department, "department_name": self.department_name,
                "kind": self.kind, "kind_name": self.kind_name, "severity": self.severity,
                "decision_number": self.decision_number, "act": self.act,
                "effective_from": self.effective_from.isoformat(),
                "effective_to": self.effective_to.isoformat() if self.effective_to else None,
                "period": self.period, "categories": sorted(self.categories),
                "region_codes": sorted(self.region_codes)}


@dataclass(frozen=True)
class ProjectFacts:
    """What the decisions need to know of a project; built by its caller (bidding/).

    ``requested_deposit_fen`` is the project's deposit setting (None: the most the rule
    set allows). The rule values come from the project's pinned rule set.
    """

    code: str
    category: str
    region_code: str
    estimate_fen: int
    requested_deposit_fen: int | None
    deposit_max_basis_points: int
    deposit_cap_fen: int | None = None
    bribery_lookback_years: int | None = None

    @classmethod
    def from_rules(cls, *, code: str, category: str, region_code: str, estimate_fen: int,
                   requested_deposit_fen: int | None, rules: Mapping[str, Any]) -> ProjectFacts:
        """From a pinned rule set's ``content["rules"]`` (each rule a dict with ``value``)."""

        def value(key: str) -> Any:
            rule = rules.get(key)
            return rule["value"] if rule is not None else None

        return cls(code=code, category=category, region_code=region_code, estimate_fen=estimate_fen,
                   requested_deposit_fen=requested_deposit_fen,
                   deposit_max_basis_points=value("bid_deposit_max_basis_points") or 0,
                   deposit_cap_fen=value("bid_deposit_cap_works_goods_fen"),
                   bribery_lookback_years=value("bribery_record_lookback_years"))
