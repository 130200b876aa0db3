"""Evaluation arithmetic: the scheme as the tender documents fix it, price scores under both
formulas, one rounding at the end (ROUND_HALF_UP), and a ranking that depends only on the
bids, never on their order, and never names more candidates than the rules allow."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bidding.evaluation.scoring import (
    COMPREHENSIVE,
    LOWEST_PRICE,
    EvaluationScheme,
    Offer,
    benchmark_price,
    check_item_scores,
    final_score,
    max_candidates,
    member_total,
    price_score,
    price_scores,
    rank_offers,
    render,
    round_half_up,
)
from trading.canonical import canon
from trading.errors import InvalidInput

LOWEST_RATIO_SCHEME = {"method": "comprehensive", "price_points": "30",
                       "price_formula": {"kind": "lowest_ratio"},
                       "items": [{"name": "施工组织设计", "max_points": "40"}, {"name": "企业业绩", "max_points": "30"}]}
MEAN_DEVIATION_SCHEME = {"method": "comprehensive", "price_points": "40",
                         "price_formula": {"kind": "mean_deviation", "k": "0.97", "deduct_above": "2",
                                           "deduct_below": "1"},
                         "items": [{"name": "技术方案", "max_points": "60"}]}


def scheme(data=LOWEST_RATIO_SCHEME) -> EvaluationScheme:
    return EvaluationScheme.from_json(data)


prices = st.lists(st.integers(1, 10**12), min_size=1, max_size=12)


@st.composite
def comprehensive_schemes(draw) -> EvaluationScheme:
    points = draw(st.integers(1, 10_000)) / Fraction(100)
    if draw(st.booleans()):
        formula = {"kind": "lowest_ratio"}
    else:
        formula = {"kind": "mean_deviation", "k": str(Decimal(draw(st.integers(5000, 15000))) / 10000),
                   "deduct_above": str(Decimal(draw(st.integers(0, 100_000))) / 10000),
                   "deduct_below": str(Decimal(draw(st.integers(0, 100_000))) / 10000)}
    return EvaluationScheme.from_json({"method": "comprehensive", "price_points": render(points),
                                       "price_formula": formula, "items": [{"name": "技术", "max_points": "70"}]})


# --------------------------------------------------------------------------- the scheme


def test_the_scheme_round_trips_through_canonical_json():
    for data in (LOWEST_RATIO_SCHEME, MEAN_DEVIATION_SCHEME, {"method": "lowest_price"}):
        parsed = scheme(data)
        assert EvaluationScheme.from_json(json.loads(canon(parsed.to_json()))) == parsed
    assert scheme().total_points == 100
    assert scheme(MEAN_DEVIATION_SCHEME).to_json()["price_formula"]["k"] == "0.97"


@pytest.mark.parametrize(("change", "field"), [
    ({"method": "best_guess"}, "method"),
    ({"price_points": 30.0}, "price_points"),  # floats are refused: money and points are exact
    ({"price_points": "0"}, "price_points"),
    ({"price_points": "30.123"}, "price_points"),
    ({"items": []}, "items"),
    ({"items": [{"name": "甲", "max_points": "10"}, {"name": "甲", "max_points": "20"}]}, "items"),
    ({"price_formula": {"kind": "mean_deviation", "k": "0.3", "deduct_above": "1", "deduct_below": "1"}}, "k"),
    ({"price_formula": {"kind": "median"}}, "price_formula"),
])
def test_a_malformed_scheme_is_refused_in_chinese(change, field):
    with pytest.raises(InvalidInput) as refused:
        EvaluationScheme.from_json({**LOWEST_RATIO_SCHEME, **change})
    assert refused.value.details["field"] == field


# --------------------------------------------------------------------------- price scores


def test_the_lowest_ratio_formula_of_mof_order_87():
    scores = price_scores(scheme(), {"a": 900_000_00, "b": 1_000_000_00, "c": 1_200_000_00})
    assert scores["a"] == 30 and scores["b"] == Fraction(27) and scores["c"] == Fraction(45, 2)
    assert render(scores["b"]) == "27.00"


def test_the_mean_deviation_formula_with_k():
    # mean 1,000,000 yuan × 0.97 = 970,000: 970,000 full; 1% above −2; 1% below −1.
    tender = scheme(MEAN_DEVIATION_SCHEME)
    offered = {"at": 97_000_000, "above": 97_970_000, "below": 96_030_000, "far": 105_000_000_00}
    mean_of_three = benchmark_price(tender, [97_000_000, 100_000_000, 103_000_000])
    assert mean_of_three == Fraction(97_000_000)
    benchmark = Fraction(97_000_000)
    assert price_score(tender, benchmark, offered["at"]) == 40
    assert price_score(tender, benchmark, offered["above"]) == 38
    assert price_score(tender, benchmark, offered["below"]) == 39
    assert price_score(tender, benchmark, offered["far"]) == 0  # floored at zero


@given(comprehensive_schemes(), prices)
def test_price_scores_stay_within_zero_and_the_price_points(tender, offered):
    scores = price_scores(tender, dict(enumerate(offered)))
    assert all(0 <= score <= tender.price_points for score in scores.values())


@given(prices)
def test_the_lowest_valid_price_gets_full_points_under_lowest_ratio(offered):
    scores = price_scores(scheme(), dict(enumerate(offered)))
    lowest = min(offered)
    assert all(scores[i] == 30 for i, price in enumerate(offered) if price == lowest)
    # a lower price never scores less
    for i, a in enumerate(offered):
        for j, b in enumerate(offered):
            if a < b:
                assert scores[i] > scores[j]


def test_rounding_happens_once_at_the_end_half_up():
    assert render(Fraction(2675, 1000)) == "2.68"  # float rounding would give 2.67
    assert render(Fraction(1, 3) * 3) == "1.00"
    assert round_half_up(Fraction(-5, 1000)) == Decimal("-0.01")
    # three members at 80.00667, 80.00667 and 80: once at the end gives 80.00; rounding each
    # member's total first would give 80.01
    totals = [Fraction(80) + Fraction(1, 300) * 2, Fraction(80) + Fraction(1, 300) * 2, Fraction(80)]
    assert render(final_score(totals)) == "80.00"
    assert render(sum((Fraction(render(t)) for t in totals), Fraction(0)) / 3) == "80.01"
    assert render(final_score([Fraction(8005, 100), Fraction(8000, 100)])) == "80.03"  # 80.025 → 80.03


def test_member_scores_are_checked_against_the_items():
    tender = scheme()
    assert check_item_scores(tender, {"施工组织设计": "35.5", "企业业绩": 30}) == \
        {"施工组织设计": Fraction(71, 2), "企业业绩": Fraction(30)}
    for bad, message in (({"施工组织设计": "41", "企业业绩": "1"}, "不得超过"),
                         ({"施工组织设计": "35"}, "缺少"),
                         ({"施工组织设计": "35.555", "企业业绩": "1"}, "小数"),
                         ({"施工组织设计": "-1", "企业业绩": "1"}, "不小于零"),
                         ({"施工组织设计": "1", "企业业绩": "1", "人情分": "5"}, "没有评分项")):
        with pytest.raises(InvalidInput, match=message):
            check_item_scores(tender, bad)
    assert member_total(Fraction(27), {"a": Fraction(30), "b": Fraction(1, 2)}) == Fraction(115, 2)


# --------------------------------------------------------------------------- ranking


offers_strategy = st.lists(
    st.tuples(st.integers(1, 5).map(lambda p: p * 10_000_000), st.integers(0, 10_000).map(lambda s: Fraction(s, 100))),
    min_size=1, max_size=10)


def _offers(rows) -> list[Offer]:
    return [Offer(bid_id=100 + i, price_fen=price, order=i + 1, score=score) for i, (price, score) in enumerate(rows)]


@given(offers_strategy, st.integers(0, 12), st.randoms(use_true_random=False), st.sampled_from([COMPREHENSIVE,
                                                                                                 LOWEST_PRICE]))
def test_the_ranking_is_a_function_of_the_bids_alone_and_never_too_long(rows, limit, rnd, method):
    tender = scheme() if method == COMPREHENSIVE else scheme({"method": "lowest_price"})
    offers = _offers(rows)
    shuffled = offers[:]
    rnd.shuffle(shuffled)
    ranked = rank_offers(tender, offers, limit)
    assert ranked == rank_offers(tender, shuffled, limit)
    assert len(ranked) == min(limit, len(offers))
    assert [r.rank for r in ranked] == list(range(1, len(ranked) + 1))
    assert len({r.bid_id for r in ranked}) == len(ranked)
    by_id = {offer.bid_id: offer for offer in offers}
    chosen = {r.bid_id for r in ranked}
    for earlier, later in zip(ranked, ranked[1:]):
        a, b = by_id[earlier.bid_id], by_id[later.bid_id]
        if method == COMPREHENSIVE:
            assert Decimal(earlier.score) >= Decimal(later.score)  # a higher total never ranks below a lower one
            if earlier.score == later.score:
                assert (a.price_fen, a.order) < (b.price_fen, b.order)
        else:
            assert (a.price_fen, a.order) < (b.price_fen, b.order)
    # nobody left out beats anybody chosen
    for offer in offers:
        if offer.bid_id in chosen or not ranked:
            continue
        last = by_id[ranked[-1].bid_id]
        if method == COMPREHENSIVE:
            assert round_half_up(offer.score) <= round_half_up(last.score)
        else:
            assert offer.price_fen >= last.price_fen


def test_ties_go_to_the_lower_price_then_the_earlier_bid():
    offers = [Offer(1, 100, order=3, score=Fraction(90)), Offer(2, 99, order=2, score=Fraction(90)),
              Offer(3, 99, order=1, score=Fraction(8999, 100)), Offer(4, 99, order=4, score=Fraction(90))]
    assert [r.bid_id for r in rank_offers(scheme(), offers, 3)] == [2, 4, 1]
    cheapest = [Offer(1, 100, order=2), Offer(2, 100, order=1), Offer(3, 101, order=0)]
    assert [r.bid_id for r in rank_offers(scheme({"method": "lowest_price"}), cheapest, 3)] == [2, 1, 3]


def test_the_number_of_candidates_comes_from_the_rules_with_a_default_of_three():
    assert max_candidates({"max_ranked_candidates": 2}) == 2
    assert max_candidates({}) == 3


@given(comprehensive_schemes())
def test_any_valid_scheme_round_trips_through_its_json(tender):
    assert EvaluationScheme.from_json(json.loads(canon(tender.to_json()))) == tender


@given(comprehensive_schemes(), st.integers(1, 10**10), st.integers(1, 10**10))
def test_under_mean_deviation_the_benchmark_scores_full_and_further_away_never_scores_more(tender, near, far):
    if tender.formula.kind != "mean_deviation":
        return
    benchmark = Fraction(10**10)
    assert price_score(tender, benchmark, 10**10) == tender.price_points
    for side in (1, -1):
        a, b = sorted((near, far))
        closer, further = 10**10 + side * (a - 1), 10**10 + side * (b - 1)
        if further > 0:
            assert price_score(tender, benchmark, closer) >= price_score(tender, benchmark, further)


@given(comprehensive_schemes(), prices, st.lists(st.integers(0, 7000), min_size=1, max_size=9))
def test_a_final_score_stays_within_zero_and_the_schemes_total(tender, offered, item_points):
    price = next(iter(price_scores(tender, dict(enumerate(offered))).values()))
    totals = [member_total(price, {"技术": Fraction(p, 100)}) for p in item_points]
    final = final_score(totals)
    assert 0 <= final <= tender.total_points
    assert min(totals) <= final <= max(totals)
