"""The published service-fee schedule (统一费用收取退付): amount bands as data, one pure fee function.

The schedule is a versioned TOML file in ``trading/ledger_data`` (``service-fee-*.toml``)
naming its source. The fee is computed by 差额定率累进 (计价格〔2002〕1980号): each band's
rate (basis points) applies to the part of the amount inside the band; the parts are
summed exactly (``Fraction``) and rounded once, half up to the fen. So the fee is a
continuous, non-decreasing function of the amount.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from trading.errors import ConfigurationError, InvalidInput

DATA_DIR = Path(__file__).parent / "ledger_data"
DEFAULT_SCHEDULE = DATA_DIR / "service-fee-2002.1.toml"
BASIS = 10_000  # basis points per unit


@dataclass(frozen=True)
class Band:
    lower_fen: int
    upper_fen: int | None  # None: no upper edge
    rates: Mapping[str, int]  # category → basis points
    sample: bool = False
    note: str | None = None


@dataclass(frozen=True)
class FeeSchedule:
    code: str
    version: str
    title: str
    source: str
    note: str
    categories: Mapping[str, str]  # category → Chinese name
    bands: tuple[Band, ...]

    @property
    def label(self) -> str:
        return f"{self.code}@{self.version}"

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "version": self.version, "title": self.title, "source": self.source,
                "note": self.note, "method": "差额定率累进", "categories": dict(self.categories),
                "bands": [{"from_fen": band.lower_fen, "up_to_fen": band.upper_fen,
                           "rates_basis_points": dict(band.rates), "sample": band.sample, "note": band.note}
                          for band in self.bands]}


def round_half_up(value: Fraction) -> int:
    """Round a non-negative exact amount to the nearest fen, halves up."""
    return int((value * 2 + 1) // 2)


def parse_schedule(document: Mapping[str, Any], *, file: str = "<schedule>") -> FeeSchedule:
    def bad(reason: str) -> ConfigurationError:
        return ConfigurationError(f"收费标准文件 {file} 无效：{reason}", file=file)

    head, categories = document.get("schedule", {}), document.get("categories", {})
    if not categories or not all(isinstance(name, str) for name in categories.values()):
        raise bad("缺少 [categories]")
    bands, lower = [], 0
    raw = document.get("bands", [])
    if not raw:
        raise bad("缺少 [[bands]]")
    for index, entry in enumerate(raw):
        upper = entry.get("up_to_fen")
        last = index == len(raw) - 1
        if (upper is None) != last:
            raise bad(f"第 {index + 1} 档：只有最后一档没有上限")
        if upper is not None and (not isinstance(upper, int) or isinstance(upper, bool) or upper <= lower):
            raise bad(f"第 {index + 1} 档：上限应为大于下限的整数（分）")
        rates = {}
        for category in categories:
            rate = entry.get(category)
            if not isinstance(rate, int) or isinstance(rate, bool) or rate < 0:
                raise bad(f"第 {index + 1} 档：{category} 的费率应为不小于零的整数（基点）")
            rates[category] = rate
        bands.append(Band(lower, upper, MappingProxyType(rates), bool(entry.get("sample", False)), entry.get("note")))
        lower = upper if upper is not None else lower
    return FeeSchedule(code=head.get("code", ""), version=str(head.get("version", "")), title=head.get("title", ""),
                       source=head.get("source", ""), note=head.get("note", ""),
                       categories=MappingProxyType(dict(categories)), bands=tuple(bands))


@cache
def load_schedule(path: Path = DEFAULT_SCHEDULE) -> FeeSchedule:
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"无法读取收费标准文件 {path}：{exc}") from None
    return parse_schedule(document, file=Path(path).name)


def exact_fee(amount_fen: int, category: str, schedule: FeeSchedule) -> Fraction:
    """The fee before rounding: Σ over bands of (the amount's part in the band) × rate."""
    total = Fraction(0)
    for band in schedule.bands:
        if amount_fen <= band.lower_fen:
            break
        top = amount_fen if band.upper_fen is None else min(amount_fen, band.upper_fen)
        total += Fraction((top - band.lower_fen) * band.rates[category], BASIS)
    return total


def service_fee(amount_fen: int, category: str, schedule: FeeSchedule | None = None) -> int:
    """The service fee in fen for a winning amount in fen (差额定率累进, half up to the fen once)."""
    schedule = schedule or load_schedule()
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen < 0:
        raise InvalidInput("计费金额应为不小于零的整数（单位：分）", code="invalid_fee_base", field="amount_fen")
    if category not in schedule.categories:
        raise InvalidInput(f"未知的收费类别「{category}」，应为 {'、'.join(schedule.categories)}",
                           code="unknown_fee_category", field="category")
    return round_half_up(exact_fee(amount_fen, category, schedule))
