"""Interest on a refunded bid deposit at the bank's same-period demand deposit rate.

The rates are center-configured data (``trading/ledger_data/demand-deposit-rates.toml``):
periods with an annual rate in percent, as exact decimal strings. The rule: simple
interest, each day at the rate in force that day, a day's rate being the annual rate / 360
(the day count the People's Bank uses for deposits), from the value date (counted) to the
day the refund is instructed (not counted: 算头不算尾); the exact sum is rounded once, half
up to the fen. No floats anywhere.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

from trading.errors import ConfigurationError, InvalidInput
from trading.fees import round_half_up

DEFAULT_RATES = Path(__file__).parent / "ledger_data" / "demand-deposit-rates.toml"
DAYS_PER_YEAR = 360


@dataclass(frozen=True)
class RatePeriod:
    starts: date
    annual_percent: str  # exact decimal string, e.g. "0.35"
    source: str
    sample: bool = False

    @property
    def annual(self) -> Fraction:
        return Fraction(Decimal(self.annual_percent)) / 100


@dataclass(frozen=True)
class InterestResult:
    interest_fen: int
    days: int
    # (first day, days, annual percent) per rate period used: what the receipt shows.
    segments: tuple[tuple[date, int, str], ...]

    def as_dict(self) -> dict[str, Any]:
        return {"interest_fen": self.interest_fen, "days": self.days, "day_count": f"实际天数/{DAYS_PER_YEAR}",
                "rounding": "合计后四舍五入到分",
                "segments": [{"from": start.isoformat(), "days": days, "annual_percent": rate}
                             for start, days, rate in self.segments]}


@cache
def load_rates(path: Path = DEFAULT_RATES) -> tuple[RatePeriod, ...]:
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"无法读取活期存款利率表 {path}：{exc}") from None
    periods = []
    for entry in document.get("periods", []):
        starts, rate = entry.get("from"), entry.get("annual_percent")
        try:
            if not isinstance(starts, date) or not isinstance(rate, str) or Decimal(rate) < 0:
                raise ValueError
        except (InvalidOperation, ValueError):
            raise ConfigurationError(f"活期存款利率表 {Path(path).name} 中的条目无效：{entry}") from None
        periods.append(RatePeriod(starts, rate, entry.get("source", ""), bool(entry.get("sample", False))))
    if not periods:
        raise ConfigurationError(f"活期存款利率表 {Path(path).name} 没有利率")
    return tuple(sorted(periods, key=lambda period: period.starts))


def demand_interest(principal_fen: int, start: date, end: date,
                    rates: tuple[RatePeriod, ...] | None = None) -> InterestResult:
    """Interest on ``principal_fen`` held from ``start`` (counted) to ``end`` (not counted)."""
    rates = rates if rates is not None else load_rates()
    if isinstance(principal_fen, bool) or not isinstance(principal_fen, int) or principal_fen < 0:
        raise InvalidInput("本金应为不小于零的整数（单位：分）", code="invalid_principal", field="principal_fen")
    if end <= start:
        return InterestResult(0, 0, ())
    if start < rates[0].starts:
        raise ConfigurationError(f"活期存款利率表没有 {start.isoformat()} 的利率")
    total, segments = Fraction(0), []
    for index, period in enumerate(rates):
        following = rates[index + 1].starts if index + 1 < len(rates) else None
        first = max(start, period.starts)
        last = end if following is None else min(end, following)
        if last <= first:
            continue
        days = (last - first).days
        total += principal_fen * period.annual * days / DAYS_PER_YEAR
        segments.append((first, days, period.annual_percent))
    return InterestResult(round_half_up(total), (end - start).days, tuple(segments))
