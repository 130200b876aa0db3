"""Whether a committee's size and make-up satisfy the pinned rule set (Law art. 37)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from trading.errors import InvalidInput, RuleViolation


def _rule(rules: dict[str, Any], key: str) -> dict[str, Any]:
    return rules[key]


def check_committee(rules: dict[str, Any], *, experts: int, representatives: int) -> None:
    """Refuse a committee of ``experts`` drawn experts and the tendering party's
    ``representatives`` when it breaks the rule set, naming the rule and its source.

    ``rules`` is a rule set's ``rules`` mapping (value, unit, source per key).
    """
    if experts < 1 or representatives < 0:
        raise InvalidInput("评标委员会至少应有一名专家，招标人代表人数不能为负", code="invalid_committee_size")
    total = experts + representatives
    size = _rule(rules, "committee_min_size")
    if total < size["value"]:
        raise RuleViolation(f"评标委员会共 {total} 人，少于规定的 {size['value']} 人（{size['source']}）", code="committee_too_small",
                            rule="committee_min_size", source=size["source"])
    odd = rules.get("committee_size_must_be_odd")
    if odd and odd["value"] and total % 2 == 0:
        raise RuleViolation(f"评标委员会成员应为单数，现为 {total} 人（{odd['source']}）", code="committee_size_even",
                            rule="committee_size_must_be_odd", source=odd["source"])
    share = _rule(rules, "committee_min_expert_share")
    minimum = Fraction(share["value"]["numerator"], share["value"]["denominator"])
    if Fraction(experts, total) < minimum:
        raise RuleViolation(
            f"技术、经济等方面专家 {experts} 人，不足成员总数 {total} 人的 {minimum.numerator}/{minimum.denominator}"
            f"（{share['source']}）", code="too_few_experts", rule="committee_min_expert_share", source=share["source"])
