"""Evaluation arithmetic (评标计分), pure: the scheme a tender fixes in its documents, price
scores, members' totals, the final score and the ranking. No database, no clock.

Two methods (招标投标法实施条例 第四十九条; 政府采购法实施条例 第三十四条):

- ``comprehensive`` (综合评估法): a price score plus technical/business items scored by
  each member. Price formulas:

  * ``lowest_ratio`` (财政部令第87号 第五十五条, 低价优先法): benchmark = the lowest valid
    price; price score = benchmark / price × price points.
  * ``mean_deviation`` (construction practice): benchmark = mean of the valid prices × K;
    deviation = (price − benchmark) / benchmark × 100; price score = price points −
    deviation × ``deduct_above`` when above, − |deviation| × ``deduct_below`` when below,
    floored at 0.

  A member's total = price score + the member's item scores; the final score = the mean
  of the members' totals.
- ``lowest_price`` (经评审的最低投标价法): ranked by evaluated price, lowest first.

Arithmetic is exact (:class:`fractions.Fraction`); a score is rounded once, at the end, to
2 decimals ROUND_HALF_UP and rendered as a decimal string. Ranking uses the rounded final
score (the published one): equal published scores go to the lower price, then the earlier
bid.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from trading.errors import InvalidInput

COMPREHENSIVE = "comprehensive"
LOWEST_PRICE = "lowest_price"
METHOD_NAMES = {COMPREHENSIVE: "综合评估法", LOWEST_PRICE: "经评审的最低投标价法"}
LOWEST_RATIO = "lowest_ratio"
MEAN_DEVIATION = "mean_deviation"
FORMULA_NAMES = {LOWEST_RATIO: "低价优先法（评标基准价为最低有效报价）", MEAN_DEVIATION: "平均值下浮法（有效报价算术平均值×K）"}
# Where the rule set lacks ``max_ranked_candidates``: 招标投标法实施条例 第五十三条 (≤ 3).
DEFAULT_MAX_CANDIDATES = 3

_DECIMAL = re.compile(r"^(0|[1-9][0-9]{0,8})(\.[0-9]+)?$")


def parse_decimal(value: Any, *, field: str, places: int = 2) -> Fraction:
    """A non-negative decimal string (or int) with at most ``places`` decimals, exactly."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidInput(f"「{field}」应为十进制数字文本，例如 \"12.5\"", code="invalid_decimal", field=field)
    text = str(value).strip()
    match = _DECIMAL.match(text)
    if match is None:
        raise InvalidInput(f"「{field}」应为不小于零的十进制数字，实为「{text}」", code="invalid_decimal", field=field)
    if match.group(2) and len(match.group(2)) - 1 > places:
        raise InvalidInput(f"「{field}」最多保留 {places} 位小数", code="too_many_decimal_places", field=field)
    return Fraction(text)


def round_half_up(value: Fraction, places: int = 2) -> Decimal:
    """``value`` rounded to ``places`` decimals, halves away from zero (ROUND_HALF_UP)."""
    scaled = abs(value) * 10**places
    whole = int(scaled + Fraction(1, 2))  # floor(|x| + 1/2): halves go up
    sign = -1 if value < 0 else 1
    return Decimal(sign * whole).scaleb(-places).quantize(Decimal(1).scaleb(-places))


def render(value: Fraction, places: int = 2) -> str:
    """The one rounding: a score as a decimal string with ``places`` decimals."""
    return f"{round_half_up(value, places):f}"


def _text(value: Fraction) -> str:
    """An exact decimal's shortest spelling (the scheme's own numbers)."""
    return f"{(Decimal(value.numerator) / Decimal(value.denominator)).normalize():f}"


# --------------------------------------------------------------------------- the scheme


@dataclass(frozen=True)
class ScoringItem:
    """A technical or business item (技术/商务评分项) and its maximum points."""

    name: str
    max_points: Fraction


@dataclass(frozen=True)
class PriceFormula:
    kind: str
    k: Fraction | None = None  # mean_deviation: the tender's coefficient K
    deduct_above: Fraction | None = None  # points per 1 % above the benchmark
    deduct_below: Fraction | None = None  # points per 1 % below the benchmark


@dataclass(frozen=True)
class EvaluationScheme:
    """The evaluation method and scores a tender fixes in its documents."""

    method: str
    price_points: Fraction = Fraction(0)
    items: tuple[ScoringItem, ...] = ()
    formula: PriceFormula | None = None

    @property
    def total_points(self) -> Fraction:
        return self.price_points + sum((item.max_points for item in self.items), Fraction(0))

    def item(self, name: str) -> ScoringItem | None:
        return next((item for item in self.items if item.name == name), None)

    def to_json(self) -> dict[str, Any]:
        """JSON with decimal strings (no floats: canonical JSON takes none)."""
        if self.method == LOWEST_PRICE:
            return {"method": LOWEST_PRICE}
        formula: dict[str, Any] = {"kind": self.formula.kind}
        if self.formula.kind == MEAN_DEVIATION:
            formula |= {"k": _text(self.formula.k), "deduct_above": _text(self.formula.deduct_above),
                        "deduct_below": _text(self.formula.deduct_below)}
        return {"method": COMPREHENSIVE, "price_points": _text(self.price_points), "price_formula": formula,
                "items": [{"name": item.name, "max_points": _text(item.max_points)} for item in self.items]}

    @classmethod
    def from_json(cls, data: Any) -> EvaluationScheme:
        """Read and check a scheme; every refusal is :class:`InvalidInput` in Chinese."""
        if not isinstance(data, Mapping):
            raise InvalidInput("评标办法应为 JSON 对象", code="invalid_scheme", field="scheme")
        method = data.get("method")
        if method == LOWEST_PRICE:
            return cls(method=LOWEST_PRICE)
        if method != COMPREHENSIVE:
            raise InvalidInput("评标办法应为 comprehensive（综合评估法）或 lowest_price（经评审的最低投标价法）", code="unknown_scheme_method",
                               field="method")
        price_points = parse_decimal(data.get("price_points"), field="price_points")
        if price_points <= 0:
            raise InvalidInput("价格分应大于零", code="invalid_scheme", field="price_points")
        raw_items = data.get("items")
        if not isinstance(raw_items, (list, tuple)) or not raw_items:
            raise InvalidInput("综合评估法须列出技术/商务评分项", code="invalid_scheme", field="items")
        items = []
        for raw in raw_items:
            if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str) or not raw["name"].strip():
                raise InvalidInput("评分项须有名称", code="invalid_scheme", field="items")
            name = raw["name"].strip()
            if len(name) > 100:
                raise InvalidInput("评分项名称不超过100个字符", code="invalid_scheme", field="items")
            points = parse_decimal(raw.get("max_points"), field=f"{name}.max_points")
            if points <= 0:
                raise InvalidInput(f"评分项「{name}」的分值应大于零", code="invalid_scheme", field="items")
            items.append(ScoringItem(name, points))
        if len({item.name for item in items}) != len(items):
            raise InvalidInput("评分项名称不能重复", code="invalid_scheme", field="items")
        raw_formula = data.get("price_formula")
        if not isinstance(raw_formula, Mapping):
            raise InvalidInput("综合评估法须规定价格分计算公式", code="invalid_scheme", field="price_formula")
        kind = raw_formula.get("kind")
        if kind == LOWEST_RATIO:
            formula = PriceFormula(LOWEST_RATIO)
        elif kind == MEAN_DEVIATION:
            k = parse_decimal(raw_formula.get("k"), field="k", places=4)
            if not Fraction(1, 2) <= k <= Fraction(3, 2):
                raise InvalidInput("下浮系数 K 应在 0.5 至 1.5 之间（常见 0.95–1.00）", code="invalid_scheme", field="k")
            formula = PriceFormula(MEAN_DEVIATION, k=k,
                                   deduct_above=parse_decimal(raw_formula.get("deduct_above"), field="deduct_above",
                                                              places=4),
                                   deduct_below=parse_decimal(raw_formula.get("deduct_below"), field="deduct_below",
                                                              places=4))
        else:
            raise InvalidInput("价格分公式应为 lowest_ratio（低价优先法）或 mean_deviation（平均值偏差法）", code="unknown_price_formula",
                               field="price_formula")
        return cls(method=COMPREHENSIVE, price_points=price_points, items=tuple(items), formula=formula)


# --------------------------------------------------------------------------- price scores


def benchmark_price(scheme: EvaluationScheme, prices: Sequence[int]) -> Fraction:
    """The benchmark price (评标基准价) over the valid prices, in fen, exactly."""
    if not prices or any(isinstance(p, bool) or not isinstance(p, int) or p <= 0 for p in prices):
        raise InvalidInput("有效投标报价应为正整数（分）且至少一个", code="no_valid_prices", field="prices")
    if scheme.formula.kind == LOWEST_RATIO:
        return Fraction(min(prices))
    return Fraction(sum(prices), len(prices)) * scheme.formula.k


def price_score(scheme: EvaluationScheme, benchmark: Fraction, price_fen: int) -> Fraction:
    """One bid's exact price score against ``benchmark``, within [0, price points]."""
    points = scheme.price_points
    if scheme.formula.kind == LOWEST_RATIO:
        return min(points, benchmark / price_fen * points)
    deviation = (price_fen - benchmark) / benchmark * 100
    deduct = scheme.formula.deduct_above if deviation > 0 else scheme.formula.deduct_below
    return min(points, max(Fraction(0), points - abs(deviation) * deduct))


def price_scores(scheme: EvaluationScheme, prices: Mapping[Any, int]) -> dict[Any, Fraction]:
    """Exact price scores of the valid bids (keyed as given); the same for every member."""
    if scheme.method != COMPREHENSIVE:
        return {}
    benchmark = benchmark_price(scheme, list(prices.values()))
    return {key: price_score(scheme, benchmark, price) for key, price in prices.items()}


# --------------------------------------------------------------------------- members' scores


def check_item_scores(scheme: EvaluationScheme, scores: Any) -> dict[str, Fraction]:
    """A member's technical/business scores: every item, 0..max, at most 2 decimals."""
    if not isinstance(scores, Mapping):
        raise InvalidInput("评分应为「评分项: 分值」的 JSON 对象", code="invalid_scores", field="scores")
    unknown = [name for name in scores if scheme.item(name) is None]
    if unknown:
        raise InvalidInput(f"评标办法中没有评分项「{unknown[0]}」", code="unknown_score_item", field="scores")
    checked = {}
    for item in scheme.items:
        if item.name not in scores:
            raise InvalidInput(f"缺少评分项「{item.name}」的得分", code="missing_item_score", field="scores")
        value = parse_decimal(scores[item.name], field=item.name)
        if value > item.max_points:
            raise InvalidInput(f"评分项「{item.name}」得分不得超过 {_text(item.max_points)} 分",
                               code="item_score_too_high", field="scores")
        checked[item.name] = value
    return checked


def member_total(price: Fraction, items: Mapping[str, Fraction]) -> Fraction:
    return price + sum(items.values(), Fraction(0))


def final_score(member_totals: Sequence[Fraction]) -> Fraction:
    """The mean of the members' totals (exact; round once with :func:`render`)."""
    if not member_totals:
        raise InvalidInput("没有评委的评分", code="no_scores", field="scores")
    return sum(member_totals, Fraction(0)) / len(member_totals)


# --------------------------------------------------------------------------- ranking


@dataclass(frozen=True)
class Offer:
    """A bid still valid after review: its price, its order of submission and its final score."""

    bid_id: int
    price_fen: int
    order: int  # earlier bid = smaller (the tender's bid sequence)
    score: Fraction | None = None  # comprehensive: the exact final score


@dataclass(frozen=True)
class Ranked:
    rank: int
    bid_id: int
    price_fen: int
    score: str | None  # comprehensive: the final score rounded once


def max_candidates(rules: Mapping[str, Any]) -> int:
    value = rules.get("max_ranked_candidates")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else DEFAULT_MAX_CANDIDATES


def ranking_key(scheme: EvaluationScheme, offer: Offer) -> tuple:
    if scheme.method == COMPREHENSIVE:
        return (-round_half_up(offer.score), offer.price_fen, offer.order, offer.bid_id)
    return (offer.price_fen, offer.order, offer.bid_id)


def rank_offers(scheme: EvaluationScheme, offers: Sequence[Offer], limit: int) -> list[Ranked]:
    """At most ``limit`` candidates. Comprehensive: final score desc, then lower price, then
    earlier bid. Lowest price: evaluated price asc, then earlier bid."""
    if scheme.method == COMPREHENSIVE and any(offer.score is None for offer in offers):
        raise InvalidInput("综合评估法须有每个有效投标的最终得分", code="missing_final_score", field="scores")
    ordered = sorted(offers, key=lambda offer: ranking_key(scheme, offer))[:max(limit, 0)]
    return [Ranked(rank, offer.bid_id, offer.price_fen,
                   render(offer.score) if scheme.method == COMPREHENSIVE else None)
            for rank, offer in enumerate(ordered, start=1)]
