"""Trading rule sets as data: the shipped files carry the legal numbers, bad files are refused."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.errors import NotFound, RuleSetInvalid
from trading.rules import (
    CATALOGUE,
    DATA_DIR,
    UNITS,
    load_rule_set,
    load_rule_sets,
    parse_rule_set,
    required_keys,
)
from trading.rules.catalogue import BOOL, FRACTION, INT, ORDERED_PAIRS

SHIPPED = sorted(DATA_DIR.glob("*.toml"))


# --- Building rule-set files for the tests ---------------------------------------------

def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key} = {toml_value(item)}" for key, item in value.items()) + " }"
    raise TypeError(value)


def dump(document: dict[str, Any]) -> str:
    lines = []
    for name, table in document.items():
        if name == "rules":
            for key, rule in table.items():
                lines.append(f"[rules.{key}]")
                lines += [f"{field} = {toml_value(value)}" for field, value in rule.items()]
        else:
            lines.append(f"[{name}]")
            lines += [f"{field} = {toml_value(value)}" for field, value in table.items()]
    return "\n".join(lines) + "\n"


def valid_value(key: str) -> Any:
    spec = CATALOGUE[key]
    if spec.kind == BOOL:
        return True
    if spec.kind == FRACTION:
        return {"numerator": 1, "denominator": 2}
    return max(spec.minimum, 1)


def rule_table(key: str, value: Any = None) -> dict[str, Any]:
    return {"value": valid_value(key) if value is None else value, "unit": CATALOGUE[key].unit,
            "source": "测试依据 (test source)"}


def minimal_document(category: str = "construction", method: str = "open_tender") -> dict[str, Any]:
    """The smallest valid rule set of a category: every required key, nothing else."""
    return {
        "ruleset": {
            "code": "test-rules", "version": "2024.1", "title": "测试规则", "category": category,
            "method": method, "effective_from": date(2024, 1, 1),
        },
        "rules": {key: rule_table(key) for key in sorted(required_keys(category, method))},
    }


def write(tmp_path: Path, document: dict[str, Any] | str, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else dump(document), encoding="utf-8")
    return path


def refused(tmp_path: Path, document: dict[str, Any] | str, key: str, reason: str) -> RuleSetInvalid:
    """Load the document from a file and check the error names the file, key and reason."""
    with pytest.raises(RuleSetInvalid) as caught:
        load_rule_set(write(tmp_path, document))
    error = caught.value
    assert error.details["file"] == "bad.toml"
    assert error.details["key"] == key
    assert reason in error.details["reason"]
    assert "bad.toml" in error.message and key in error.message
    return error


# --- The shipped rule sets ------------------------------------------------------------

@pytest.mark.parametrize("path", SHIPPED, ids=[path.name for path in SHIPPED])
def test_every_shipped_rule_set_loads_with_sources(path: Path) -> None:
    rule_set = load_rule_set(path)
    assert rule_set.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert required_keys(rule_set.category, rule_set.method) <= set(rule_set.rules)
    for rule in rule_set.rules.values():
        assert rule.source and rule.label
        assert not rule.unconfirmed or rule.note
    json.dumps(rule_set.to_dict(), ensure_ascii=False)


def test_the_three_rule_sets_are_shipped_once_each() -> None:
    rule_sets = load_rule_sets()
    identities = [(rs.code, rs.version) for rs in rule_sets]
    assert len(identities) == len(set(identities))
    assert {"construction-open-tender", "construction-invited-tender", "procurement-public-tender"} <= {
        code for code, _ in identities}


def by_code(code: str):
    return next(rs for rs in load_rule_sets() if rs.code == code)


def test_construction_open_tender_carries_the_tendering_law_numbers() -> None:
    rs = by_code("construction-open-tender")
    assert (rs.category, rs.method, rs.version) == ("construction", "open_tender", "2019.1")
    assert rs.effective_from == date(2019, 3, 2) and rs.effective_to is None
    expected = {
        "tender_docs_to_bid_deadline_min_days": 20,
        "tender_docs_on_sale_min_days": 5,
        "clarification_min_days_before_deadline": 15,
        "docs_objection_min_days_before_deadline": 10,
        "docs_objection_answer_days": 3,
        "min_valid_bids": 3,
        "bid_deposit_max_basis_points": 200,
        "bid_deposit_cap_works_goods_fen": 80_000_000,
        "bid_deposit_cap_survey_design_fen": 10_000_000,
        "withdrawal_deposit_refund_days": 5,
        "deposit_refund_after_contract_days": 5,
        "performance_bond_max_basis_points": 1000,
        "committee_min_size": 5,
        "committee_size_must_be_odd": True,
        "committee_min_expert_share": Fraction(2, 3),
        "expert_min_years_in_field": 8,
        "evaluation_extension_member_share": Fraction(1, 3),
        "max_ranked_candidates": 3,
        "candidate_publicity_within_days": 3,
        "candidate_publicity_min_days": 3,
        "candidate_objection_answer_days": 3,
        "contract_within_days_of_award_notice": 30,
        "report_to_supervisor_days": 15,
        "complaint_period_days": 10,
        "complaint_acceptance_working_days": 3,
        "complaint_decision_working_days": 30,
    }
    assert {key: rs.value(key) for key in expected} == expected
    assert rs.rule("deposit_refund_after_contract_days").unit == "days"
    assert rs.rule("complaint_acceptance_working_days").unit == "working_days"
    assert "第二十四条" in rs.rule("tender_docs_to_bid_deadline_min_days").source


def test_values_marked_check_in_the_reference_are_flagged_unconfirmed() -> None:
    for code in ("construction-open-tender", "construction-invited-tender"):
        rs = by_code(code)
        assert rs.rule("bid_deposit_cap_works_goods_fen").unconfirmed
        assert rs.rule("bid_deposit_cap_survey_design_fen").unconfirmed
        assert not rs.rule("tender_docs_to_bid_deadline_min_days").unconfirmed


def test_platform_settings_say_they_are_the_centers_rule() -> None:
    for rs in load_rule_sets():
        for key in ("decryption_window_minutes", "expert_cooling_off_days", "collusion_signal_lookback_days"):
            assert "交易中心运营规则" in rs.rule(key).source


def test_invited_tendering_needs_three_invitees() -> None:
    rs = by_code("construction-invited-tender")
    assert rs.method == "invited_tender"
    assert rs.value("invited_tender_min_invitees") == 3
    assert "invited_tender_min_invitees" not in by_code("construction-open-tender").rules


def test_procurement_public_tender_counts_working_days() -> None:
    rs = by_code("procurement-public-tender")
    assert (rs.category, rs.method) == ("government_procurement", "public_tender")
    expected = {
        "tender_docs_to_bid_deadline_min_days": 20,
        "min_valid_bids": 3,
        "bid_deposit_max_basis_points": 200,
        "bid_deposit_non_cash_only": True,
        "deposit_refund_after_contract_working_days": 5,
        "deposit_refund_after_award_notice_working_days": 5,
        "performance_bond_max_basis_points": 1000,
        "evaluation_report_working_days": 2,
        "award_decision_working_days": 5,
        "award_notice_working_days": 2,
        "contract_within_days_of_award_notice": 30,
        "contract_publication_working_days": 2,
        "challenge_period_working_days": 7,
        "challenge_answer_working_days": 7,
        "debarment_min_years": 1,
        "debarment_max_years": 3,
        "expert_recusal_lookback_years": 3,
    }
    assert {key: rs.value(key) for key in expected} == expected
    assert rs.rule("deposit_refund_after_contract_working_days").unit == "working_days"
    assert rs.rule("challenge_period_working_days").source.startswith("政府采购法 第五十二条")


def test_an_unknown_rule_is_not_found_in_chinese() -> None:
    rs = by_code("construction-open-tender")
    with pytest.raises(NotFound) as caught:
        rs.rule("no_such_rule")
    assert "no_such_rule" in caught.value.message and "规则集" in caught.value.message


def test_to_dict_is_plain_json() -> None:
    data = by_code("construction-open-tender").to_dict()
    assert data["effective_from"] == "2019-03-02" and data["effective_to"] is None
    assert data["rules"]["committee_min_expert_share"]["value"] == {"numerator": 2, "denominator": 3}
    assert data["rules"]["min_valid_bids"] == {
        "value": 3, "unit": "count", "label": CATALOGUE["min_valid_bids"].label,
        "source": by_code("construction-open-tender").rule("min_valid_bids").source,
        "unconfirmed": False, "note": ""}
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data


def test_the_catalogue_is_consistent() -> None:
    for key, spec in CATALOGUE.items():
        assert key == spec.key and spec.unit in UNITS and spec.label
    for smaller, larger in ORDERED_PAIRS:
        assert CATALOGUE[smaller].unit == CATALOGUE[larger].unit
    assert parse_rule_set(dump(minimal_document()).encode(), "minimal.toml").code == "test-rules"
    assert parse_rule_set(dump(minimal_document("government_procurement", "public_tender")).encode(), "g.toml")


# --- Each validation error --------------------------------------------------------------

def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    refused(tmp_path, '[ruleset]\ncode = "x"\nversion = \n', "<toml>", "第 3 行")


def test_file_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes("[ruleset]\ntitle = \"规则\"\n".encode("gbk"))
    with pytest.raises(RuleSetInvalid) as caught:
        load_rule_set(path)
    assert caught.value.details["key"] == "<file>"


def test_missing_ruleset_table(tmp_path: Path) -> None:
    document = minimal_document()
    del document["ruleset"]
    refused(tmp_path, document, "ruleset", "缺少")


def test_unknown_top_level_table(tmp_path: Path) -> None:
    document = minimal_document()
    document["rule"] = {"x": 1}
    refused(tmp_path, document, "rule", "未知")


@pytest.mark.parametrize("field", ["code", "version", "title", "category", "method", "effective_from"])
def test_missing_ruleset_field(tmp_path: Path, field: str) -> None:
    document = minimal_document()
    del document["ruleset"][field]
    refused(tmp_path, document, f"ruleset.{field}", "缺少必填字段")


def test_unknown_ruleset_field(tmp_path: Path) -> None:
    document = minimal_document()
    document["ruleset"]["effective_until"] = date(2030, 1, 1)
    refused(tmp_path, document, "ruleset.effective_until", "未知字段")


def test_unknown_category(tmp_path: Path) -> None:
    document = minimal_document()
    document["ruleset"]["category"] = "fisheries"
    refused(tmp_path, document, "ruleset.category", "未知的交易类别")


def test_method_not_of_the_category(tmp_path: Path) -> None:
    document = minimal_document()
    document["ruleset"]["method"] = "single_source"
    refused(tmp_path, document, "ruleset.method", "不支持交易方式")


def test_version_must_be_a_quoted_string(tmp_path: Path) -> None:
    document = minimal_document()
    document["ruleset"]["version"] = 2019.1
    refused(tmp_path, document, "ruleset.version", "浮点")
    document["ruleset"]["version"] = 2019
    refused(tmp_path, document, "ruleset.version", "字符串")
    document["ruleset"]["version"] = "v2019"
    refused(tmp_path, document, "ruleset.version", "版本号")


def test_bad_code(tmp_path: Path) -> None:
    document = minimal_document()
    document["ruleset"]["code"] = "Construction Open"
    refused(tmp_path, document, "ruleset.code", "小写字母")


def test_empty_title(tmp_path: Path) -> None:
    document = minimal_document()
    document["ruleset"]["title"] = "  "
    refused(tmp_path, document, "ruleset.title", "不能为空")


def test_effective_date_with_a_time_is_refused(tmp_path: Path) -> None:
    text = dump(minimal_document()).replace("effective_from = 2024-01-01", "effective_from = 2024-01-01T08:00:00")
    refused(tmp_path, text, "ruleset.effective_from", "日期")


def test_effective_to_before_effective_from(tmp_path: Path) -> None:
    document = minimal_document()
    document["ruleset"]["effective_to"] = date(2023, 12, 31)
    refused(tmp_path, document, "ruleset.effective_to", "早于生效日期")
    document["ruleset"]["effective_to"] = date(2024, 1, 1)  # a one-day version is allowed
    assert load_rule_set(write(tmp_path, document, "ok.toml")).applies_on(date(2024, 1, 1))


def test_unknown_rule_key(tmp_path: Path) -> None:
    document = minimal_document()
    document["rules"]["min_valid_bidz"] = {"value": 3, "unit": "count", "source": "x"}
    refused(tmp_path, document, "rules.min_valid_bidz", "未知的规则项")


def test_missing_required_rule(tmp_path: Path) -> None:
    document = minimal_document()
    del document["rules"]["min_valid_bids"]
    refused(tmp_path, document, "rules.min_valid_bids", "缺少必需的规则项")


def test_invited_tender_requires_the_invitee_count(tmp_path: Path) -> None:
    document = minimal_document(method="invited_tender")
    del document["rules"]["invited_tender_min_invitees"]
    refused(tmp_path, document, "rules.invited_tender_min_invitees", "缺少必需的规则项")


def test_wrong_unit_for_the_key(tmp_path: Path) -> None:
    document = minimal_document()
    document["rules"]["tender_docs_to_bid_deadline_min_days"]["unit"] = "working_days"
    refused(tmp_path, document, "rules.tender_docs_to_bid_deadline_min_days.unit", "单位应为 days")


def test_unknown_unit(tmp_path: Path) -> None:
    document = minimal_document()
    document["rules"]["min_valid_bids"]["unit"] = "bids"
    refused(tmp_path, document, "rules.min_valid_bids.unit", "未知的单位")


def test_unknown_rule_field(tmp_path: Path) -> None:
    document = minimal_document()
    document["rules"]["min_valid_bids"]["comment"] = "x"
    refused(tmp_path, document, "rules.min_valid_bids.comment", "未知字段")


@pytest.mark.parametrize("key, value, reason", [
    ("tender_docs_to_bid_deadline_min_days", "20", "应为整数"),
    ("min_valid_bids", True, "应为整数"),
    ("committee_size_must_be_odd", 1, "true 或 false"),
    ("committee_min_expert_share", 1, "分数"),
    ("bid_deposit_max_basis_points", {"numerator": 1, "denominator": 50}, "应为整数"),
])
def test_wrong_value_type(tmp_path: Path, key: str, value: Any, reason: str) -> None:
    document = minimal_document()
    document["rules"][key]["value"] = value
    refused(tmp_path, document, f"rules.{key}.value", reason)


def test_float_value(tmp_path: Path) -> None:
    document = minimal_document()
    document["rules"]["bid_deposit_max_basis_points"]["value"] = 0.02
    refused(tmp_path, document, "rules.bid_deposit_max_basis_points.value", "浮点")


def test_negative_value(tmp_path: Path) -> None:
    document = minimal_document()
    document["rules"]["docs_objection_answer_days"]["value"] = -3
    refused(tmp_path, document, "rules.docs_objection_answer_days.value", "负数")


def test_below_the_keys_minimum(tmp_path: Path) -> None:
    document = minimal_document()
    document["rules"]["committee_min_size"]["value"] = 0
    refused(tmp_path, document, "rules.committee_min_size.value", "不得小于 1")


def test_basis_points_over_10000(tmp_path: Path) -> None:
    document = minimal_document()
    document["rules"]["performance_bond_max_basis_points"]["value"] = 10_001
    refused(tmp_path, document, "rules.performance_bond_max_basis_points.value", "不得大于 10000")


@pytest.mark.parametrize("fraction, key_suffix, reason", [
    ({"numerator": 1, "denominator": 0}, ".denominator", "正整数"),
    ({"numerator": 1, "denominator": -3}, ".denominator", "正整数"),
    ({"numerator": 4, "denominator": 3}, "", "分子不得大于分母"),
    ({"numerator": -1, "denominator": 3}, ".numerator", "负数"),
    ({"numerator": 2}, ".denominator", "缺少"),
    ({"numerator": 2, "denominator": 3, "percent": 66}, ".percent", "未知字段"),
])
def test_bad_fraction(tmp_path: Path, fraction: dict[str, int], key_suffix: str, reason: str) -> None:
    document = minimal_document()
    document["rules"]["committee_min_expert_share"]["value"] = fraction
    refused(tmp_path, document, f"rules.committee_min_expert_share.value{key_suffix}", reason)


@pytest.mark.parametrize("source", [None, "", "   ", 24])
def test_missing_or_empty_source(tmp_path: Path, source: Any) -> None:
    document = minimal_document()
    if source is None:
        del document["rules"]["min_valid_bids"]["source"]
    else:
        document["rules"]["min_valid_bids"]["source"] = source
    refused(tmp_path, document, "rules.min_valid_bids.source", "缺少必填字段" if source is None else "依据")


def test_unconfirmed_rule_must_say_why(tmp_path: Path) -> None:
    document = minimal_document()
    document["rules"]["min_valid_bids"]["unconfirmed"] = True
    refused(tmp_path, document, "rules.min_valid_bids.note", "note")
    document["rules"]["min_valid_bids"]["note"] = "Secondary material; confirm."
    rule = load_rule_set(write(tmp_path, document, "ok.toml")).rule("min_valid_bids")
    assert rule.unconfirmed and rule.note == "Secondary material; confirm."


def test_debarment_minimum_above_maximum(tmp_path: Path) -> None:
    document = minimal_document()
    document["rules"]["debarment_fraud_min_years"] = rule_table("debarment_fraud_min_years", 3)
    document["rules"]["debarment_fraud_max_years"] = rule_table("debarment_fraud_max_years", 1)
    refused(tmp_path, document, "rules.debarment_fraud_min_years.value", "不得大于")


def test_two_files_with_the_same_code_and_version(tmp_path: Path) -> None:
    write(tmp_path, minimal_document(), "a.toml")
    write(tmp_path, minimal_document(), "b.toml")
    with pytest.raises(RuleSetInvalid) as caught:
        load_rule_sets(tmp_path)
    assert caught.value.details["file"] == "b.toml"
    assert "a.toml" in caught.value.details["reason"]


def test_versions_of_one_code_load_side_by_side(tmp_path: Path) -> None:
    old, new = minimal_document(), minimal_document()
    old["ruleset"]["effective_to"] = date(2024, 12, 31)
    new["ruleset"].update(version="2025.1", effective_from=date(2025, 1, 1))
    write(tmp_path, new, "new.toml")
    write(tmp_path, old, "old.toml")
    assert [rs.version for rs in load_rule_sets(tmp_path)] == ["2024.1", "2025.1"]


# --- Properties -------------------------------------------------------------------------

floats = st.floats(allow_nan=True, allow_infinity=True)


@settings(database=None, max_examples=200)
@given(key=st.sampled_from(sorted(CATALOGUE)), number=floats,
       position=st.sampled_from(["value", "numerator", "denominator"]))
def test_any_float_in_a_value_position_is_refused(key: str, number: float, position: str) -> None:
    document = minimal_document()
    rule = rule_table(key)
    if CATALOGUE[key].kind == FRACTION and position != "value":
        rule["value"] = {**rule["value"], position: number}
        expected = f"rules.{key}.value.{position}"
    else:
        rule["value"] = number
        expected = f"rules.{key}.value"
    document["rules"][key] = rule
    with pytest.raises(RuleSetInvalid) as caught:
        parse_rule_set(dump(document).encode(), "float.toml")
    assert caught.value.details["key"] == expected
    assert "浮点" in caught.value.details["reason"]


@settings(database=None, max_examples=200)
@given(points=st.integers(min_value=0, max_value=10_000))
def test_valid_basis_points_load(points: int) -> None:
    document = minimal_document()
    document["rules"]["bid_deposit_max_basis_points"]["value"] = points
    assert parse_rule_set(dump(document).encode(), "bp.toml").value("bid_deposit_max_basis_points") == points


@settings(database=None, max_examples=100)
@given(points=st.integers(min_value=10_001, max_value=2**62))
def test_basis_points_above_10000_are_refused(points: int) -> None:
    document = minimal_document()
    document["rules"]["performance_bond_max_basis_points"]["value"] = points
    with pytest.raises(RuleSetInvalid):
        parse_rule_set(dump(document).encode(), "bp.toml")


int_keys = sorted(key for key, spec in CATALOGUE.items() if spec.kind == INT)


@settings(database=None, max_examples=200)
@given(data=st.data())
def test_valid_integer_values_load(data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(int_keys))
    spec = CATALOGUE[key]
    upper = UNITS[spec.unit].maximum or 2**62
    number = data.draw(st.integers(min_value=spec.minimum, max_value=upper))
    document = minimal_document()
    document["rules"][key] = rule_table(key, number)
    assert parse_rule_set(dump(document).encode(), "int.toml").value(key) == number


@settings(database=None, max_examples=100)
@given(denominator=st.integers(min_value=1, max_value=10**6), data=st.data())
def test_valid_fractions_load_exactly(denominator: int, data: st.DataObject) -> None:
    numerator = data.draw(st.integers(min_value=0, max_value=denominator))
    document = minimal_document()
    document["rules"]["committee_min_expert_share"]["value"] = {"numerator": numerator, "denominator": denominator}
    value = parse_rule_set(dump(document).encode(), "f.toml").value("committee_min_expert_share")
    assert value == Fraction(numerator, denominator)


def test_the_rule_sets_in_force_cite_their_sources_in_chinese_only() -> None:
    """Sources are read in refusals and documents (「…（招标投标法 第三十七条）」): no English
    article numbers. Earlier versions stay as published, pinned by their projects."""
    today = date(2026, 12, 8)
    in_force: dict[tuple[str, str], Any] = {}
    for rs in load_rule_sets():  # sorted by effective date: the last one applying wins
        if rs.applies_on(today):
            in_force[(rs.category, rs.method)] = rs
    assert len(in_force) == 3
    for rs in in_force.values():
        latin = {key: rule.source for key, rule in rs.rules.items() if any("a" <= c.lower() <= "z" for c in rule.source)}
        assert latin == {}, f"{rs.code}@{rs.version}"
