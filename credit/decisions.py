"""The two credit decisions at registration, as pure functions of (records, project, moment).

* :func:`eligibility`: refused when a record in force and in scope is serious dishonesty
  (joint sanctions: whichever department recorded it, its scope alone decides where it
  restricts), or is a bribery crime (行贿犯罪) that took effect within the rule set's
  look-back period. A bribery-crime record older than the look-back no longer decides.
* :func:`deposit_requirement`: the deposit negative list (保证金负面清单): a deposit only
  from a bidder with a record of a listed minor-dishonesty kind, in force and in scope,
  that took effect within the list's look-back; the amount is the project's deposit
  setting capped by the rule set (a share of the estimate or budget, and an absolute cap
  where the rule set has one).

Both answers name every record that decided them and say why in plain Chinese. The
database wrappers are in :mod:`credit.checks`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from credit.facts import ProjectFacts, RecordFacts, years_before
from credit.reference import BRIBERY_CRIME, SERIOUS, DepositNegativeList, deposit_negative_list
from trading.money import yuan

SERIOUS_RESTRICTION = "serious_restriction"
BRIBERY_WITHIN_LOOKBACK = "bribery_within_lookback"
DEPOSIT_NEGATIVE_LIST = "deposit_negative_list"


@dataclass(frozen=True)
class DecidingRecord:
    """A record that decided an answer, the ground it decided on, and the reason in Chinese."""

    record: RecordFacts
    ground: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {**self.record.as_dict(), "ground": self.ground, "reason": self.reason}


@dataclass(frozen=True)
class EligibilityAnswer:
    project_code: str
    at: datetime
    admitted: bool
    deciding: tuple[DecidingRecord, ...]

    @property
    def message(self) -> str:
        if self.admitted:
            return f"信用核查通过：未发现限制参加项目 {self.project_code} 的失信记录"
        reasons = "；".join(f"{number}. {item.reason}" for number, item in enumerate(self.deciding, start=1))
        return f"不予报名：存在限制参加项目 {self.project_code} 的失信记录：{reasons}"

    def as_dict(self) -> dict[str, Any]:
        return {"project_code": self.project_code, "at": self.at.isoformat(), "admitted": self.admitted,
                "message": self.message, "deciding_records": [item.as_dict() for item in self.deciding]}


@dataclass(frozen=True)
class DepositAnswer:
    project_code: str
    at: datetime
    amount_fen: int
    cap_fen: int
    requested_fen: int | None
    deciding: tuple[DecidingRecord, ...]
    reasons: tuple[str, ...]

    @property
    def required(self) -> bool:
        return bool(self.deciding)

    @property
    def message(self) -> str:
        return "；".join(self.reasons)

    def as_dict(self) -> dict[str, Any]:
        return {"project_code": self.project_code, "at": self.at.isoformat(), "required": self.required,
                "amount_fen": self.amount_fen, "cap_fen": self.cap_fen, "requested_fen": self.requested_fen,
                "message": self.message, "reasons": list(self.reasons),
                "deciding_records": [item.as_dict() for item in self.deciding]}


def _in_order(records: Iterable[RecordFacts]) -> list[RecordFacts]:
    return sorted(records, key=lambda r: (r.effective_from, r.id if r.id is not None else -1, r.decision_number))


def _applies(record: RecordFacts, project: ProjectFacts, moment: datetime) -> bool:
    return record.in_force(moment) and record.covers(project.category, project.region_code)


def bribery_within_lookback(record: RecordFacts, project: ProjectFacts, moment: datetime) -> bool:
    """A bribery-crime record in force and in scope, taken effect within the look-back.

    Without a look-back in the rule set, every such record in force decides.
    """
    if record.kind != BRIBERY_CRIME or not _applies(record, project, moment):
        return False
    years = project.bribery_lookback_years
    return years is None or record.took_effect_since(years_before(moment, years))


def eligibility(records: Iterable[RecordFacts], project: ProjectFacts, moment: datetime) -> EligibilityAnswer:
    """May the subject of ``records`` take part in ``project`` at ``moment``?"""
    deciding = []
    for record in _in_order(records):
        if record.kind == BRIBERY_CRIME:
            if bribery_within_lookback(record, project, moment):
                years = project.bribery_lookback_years
                window = f"{years} 年追溯期内" if years is not None else "有效期内"
                deciding.append(DecidingRecord(record, BRIBERY_WITHIN_LOOKBACK,
                                               f"{record.describe()}：行贿犯罪记录在规则集规定的{window}"))
        elif record.severity == SERIOUS and _applies(record, project, moment):
            deciding.append(DecidingRecord(record, SERIOUS_RESTRICTION,
                                           f"{record.describe()}：严重失信，限制范围包括本项目的交易类别和地区"
                                           f"（联合惩戒）"))
    return EligibilityAnswer(project.code, moment, not deciding, tuple(deciding))


def deposit_cap(project: ProjectFacts) -> int:
    """The most a deposit may be: the rule set's share of the estimate, and its absolute cap."""
    cap = project.estimate_fen * project.deposit_max_basis_points // 10_000
    if project.deposit_cap_fen is not None:
        cap = min(cap, project.deposit_cap_fen)
    return max(cap, 0)


def deposit_requirement(
    records: Iterable[RecordFacts], project: ProjectFacts, moment: datetime,
    negative_list: DepositNegativeList | None = None,
) -> DepositAnswer:
    """How much bid deposit the subject of ``records`` must pay for ``project`` at ``moment``.

    ``negative_list`` defaults to the configured list (``credit/data``).
    """
    listing = negative_list if negative_list is not None else deposit_negative_list()
    since = years_before(moment, listing.lookback_years)
    deciding = tuple(
        DecidingRecord(record, DEPOSIT_NEGATIVE_LIST,
                       f"{record.describe()}：属于保证金负面清单所列失信情形（近 {listing.lookback_years} 年内）")
        for record in _in_order(records)
        if record.kind in listing.kinds and _applies(record, project, moment) and record.took_effect_since(since)
    )
    cap = deposit_cap(project)
    requested = project.requested_deposit_fen
    if not deciding:
        return DepositAnswer(project.code, moment, 0, cap, requested, (),
                             ("无保证金负面清单所列失信情形，免交投标保证金",))
    wanted = cap if requested is None else max(requested, 0)
    amount = min(wanted, cap)
    basis = (f"上限为估算价/预算金额的 {project.deposit_max_basis_points / 100:g}%"
             + (f"且不超过 {yuan(project.deposit_cap_fen)} 元" if project.deposit_cap_fen is not None else ""))
    setting = "项目未设定保证金金额，按规则上限收取" if requested is None else f"项目设定的保证金为 {yuan(requested)} 元"
    reasons = (*(item.reason for item in deciding),
               f"须缴纳投标保证金 {yuan(amount)} 元（{setting}；{basis}，即 {yuan(cap)} 元）")
    return DepositAnswer(project.code, moment, amount, cap, requested, deciding, reasons)
