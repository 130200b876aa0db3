"""The credit decisions as pure functions: a blacklisted bidder is refused and told why, joint
sanctions follow the record's scope, bribery records count within the look-back, and the
deposit negative list decides who pays a deposit and how much — with hypothesis for the
invariants."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from credit.decisions import (
    BRIBERY_WITHIN_LOOKBACK,
    DEPOSIT_NEGATIVE_LIST,
    SERIOUS_RESTRICTION,
    deposit_cap,
    deposit_requirement,
    eligibility,
)
from credit.facts import (
    ACTIVE,
    REPAIRED,
    REVOKED,
    ProjectFacts,
    RecordFacts,
    describe_period,
    period_end,
    period_start,
    region_covers,
    years_before,
)
from credit.reference import (
    BRIBERY_CRIME,
    MINOR,
    SERIOUS,
    DepositNegativeList,
    deposit_negative_list,
    departments,
    record_kinds,
)
from trading.rules import load_rule_sets
from trading.rules.store import TRADING_CATEGORIES

UTC = timezone.utc
NOW = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
KINDS = record_kinds()
LISTED = deposit_negative_list()


def record(kind: str = "collusive_bidding", *, id: int = 1, department: str = "housing",
           start: datetime = period_start(date(2026, 3, 1)), end: datetime | None = period_end(date(2028, 2, 29)),
           categories=(), regions=(), status: str = ACTIVE, number: str = "济住建罚〔2026〕12号") -> RecordFacts:
    return RecordFacts(id=id, subject_type="organisation", subject_key="91371700MA3NXA01J5",
                       department=department, department_name=departments()[department].name, kind=kind,
                       kind_name=KINDS[kind].name, severity=KINDS[kind].severity, decision_number=number,
                       act="串通投标", effective_from=start, effective_to=end, categories=frozenset(categories),
                       region_codes=frozenset(regions), status=status)


def project(category: str = "construction", region: str = "370811", estimate: int = 12_300_000_00,
            requested: int | None = None, basis_points: int = 200, cap: int | None = 80_000_000,
            lookback: int | None = 3) -> ProjectFacts:
    return ProjectFacts(code="JN-2026-GC-0008", category=category, region_code=region, estimate_fen=estimate,
                        requested_deposit_fen=requested, deposit_max_basis_points=basis_points, deposit_cap_fen=cap,
                        bribery_lookback_years=lookback)


# ----------------------------------------------------------------------- eligibility


def test_a_bidder_without_records_is_admitted():
    answer = eligibility([], project(), NOW)
    assert answer.admitted and answer.deciding == ()
    assert "信用核查通过" in answer.message


def test_a_blacklisted_bidder_is_refused_and_told_which_record_decided():
    answer = eligibility([record()], project(), NOW)
    assert not answer.admitted
    [deciding] = answer.deciding
    assert deciding.ground == SERIOUS_RESTRICTION and deciding.record.id == 1
    for named in ("住房和城乡建设局", "串通投标（情节严重）", "济住建罚〔2026〕12号", "2026-03-01 至 2028-02-29"):
        assert named in answer.message
    assert answer.message.startswith("不予报名")


def test_joint_sanctions_restrict_wherever_the_scope_says_whoever_recorded_it():
    # A 住建 record scoped to everything restricts a government procurement project too.
    assert not eligibility([record()], project(category="government_procurement"), NOW).admitted
    # A 财政 record scoped to government procurement does not restrict construction.
    procurement_only = record("procurement_serious_violation", department="finance",
                              categories=["government_procurement"])
    assert eligibility([procurement_only], project(), NOW).admitted
    assert not eligibility([procurement_only], project(category="government_procurement"), NOW).admitted


def test_a_region_scope_covers_its_province_and_city_levels():
    assert region_covers("370000", "370811") and region_covers("370800", "370811")
    assert region_covers("370811", "370811") and not region_covers("370802", "370811")
    assert not region_covers("371700", "370811") and not region_covers("370100", "370811")
    assert not eligibility([record(regions=["370000"])], project(), NOW).admitted
    assert eligibility([record(regions=["371700"])], project(), NOW).admitted


@pytest.mark.parametrize("status", [REPAIRED, REVOKED])
def test_repaired_or_revoked_records_never_decide(status):
    assert eligibility([record(status=status)], project(), NOW).admitted


def test_expiry_is_by_time_and_the_end_date_is_the_last_day_in_force():
    last_day = record(start=period_start(date(2025, 1, 1)), end=period_end(date(2026, 11, 22)))
    assert last_day.period == "2025-01-01 至 2026-11-22"
    late_evening = datetime(2026, 11, 22, 15, 59, tzinfo=UTC)  # 23:59 in Shanghai
    assert not eligibility([last_day], project(), late_evening).admitted
    assert eligibility([last_day], project(), late_evening + timedelta(minutes=1)).admitted
    not_yet = record(start=NOW + timedelta(seconds=1), end=None)
    assert eligibility([not_yet], project(), NOW).admitted
    assert describe_period(not_yet.effective_from, None).endswith("起长期有效")


def test_a_bribery_record_decides_within_the_rule_sets_look_back_only():
    recent = record(BRIBERY_CRIME, department="court", start=years_before(NOW, 2), end=None, number="（2024）鲁08刑终12号")
    old = replace(recent, id=2, effective_from=years_before(NOW, 3))  # exactly 3 years ago: outside
    answer = eligibility([recent, old], project(lookback=3), NOW)
    assert not answer.admitted
    assert [(item.record.id, item.ground) for item in answer.deciding] == [(1, BRIBERY_WITHIN_LOOKBACK)]
    assert "3 年追溯期内" in answer.message and "行贿犯罪" in answer.message
    assert eligibility([old], project(lookback=3), NOW).admitted
    assert not eligibility([old], project(lookback=5), NOW).admitted
    # A rule set without the look-back: every bribery record in force decides.
    assert not eligibility([old], project(lookback=None), NOW).admitted


def test_every_deciding_record_is_listed_in_order():
    records = [record(id=3, start=datetime(2026, 5, 1, tzinfo=UTC), number="B"),
               record("court_defaulter", id=2, department="court", start=datetime(2026, 1, 1, tzinfo=UTC), number="A"),
               record("abandoned_award", id=4)]  # minor: never restricts
    answer = eligibility(records, project(), NOW)
    assert [item.record.id for item in answer.deciding] == [2, 3]
    assert "1. 人民法院认定的「失信被执行人」" in answer.message and "2. 住房和城乡建设局" in answer.message
    assert [item["record_id"] for item in answer.as_dict()["deciding_records"]] == [2, 3]


# --------------------------------------------------------------------------- deposit


def test_a_bidder_without_a_negative_list_record_pays_no_deposit():
    for records in ([], [record("poor_performance")], [record()]):
        answer = deposit_requirement(records, project(requested=50_000_00), NOW)
        assert not answer.required and answer.amount_fen == 0
        assert answer.reasons == ("无保证金负面清单所列失信情形，免交投标保证金",)


def test_a_negative_list_record_asks_the_projects_deposit_within_the_cap():
    listed = record("contract_refusal", number="济住建信〔2026〕3号")
    answer = deposit_requirement([listed], project(requested=50_000_00), NOW)
    assert answer.required and answer.amount_fen == 50_000_00
    assert answer.deciding[0].ground == DEPOSIT_NEGATIVE_LIST
    assert "济住建信〔2026〕3号" in answer.message and "保证金负面清单" in answer.message
    assert "50,000.00 元" in answer.message
    # 2% of 12,300,000 yuan is 246,000 yuan: a larger setting is capped.
    capped = deposit_requirement([listed], project(requested=300_000_00), NOW)
    assert capped.amount_fen == capped.cap_fen == 246_000_00
    # No setting: the most the rule set allows.
    assert deposit_requirement([listed], project(), NOW).amount_fen == 246_000_00


def test_the_absolute_cap_applies_where_the_rule_set_has_one():
    big = project(estimate=86_500_000_00)  # 2% would be 1,730,000 yuan
    assert deposit_cap(big) == 80_000_000
    assert deposit_cap(replace(big, deposit_cap_fen=None)) == 1_730_000_00


def test_a_negative_list_record_counts_within_the_lists_look_back_only():
    listed = record("contract_refusal", start=years_before(NOW, LISTED.lookback_years), end=None)
    assert not deposit_requirement([listed], project(), NOW).required
    recent = replace(listed, effective_from=years_before(NOW, LISTED.lookback_years) + timedelta(days=1))
    assert deposit_requirement([recent], project(), NOW).required


def test_the_negative_list_is_configured_data_with_sample_items():
    assert LISTED.sample and len(LISTED.items) == 5 and all(item.sample for item in LISTED.items)
    assert all(KINDS[kind].severity == MINOR for kind in LISTED.kinds)
    assert KINDS[BRIBERY_CRIME].severity == SERIOUS and KINDS["court_defaulter"].severity == SERIOUS


def test_project_facts_come_from_the_pinned_rule_sets_values():
    for rule_set in load_rule_sets():
        rules = rule_set.to_dict()["rules"]
        facts = ProjectFacts.from_rules(code="P", category=rule_set.category, region_code="370800",
                                        estimate_fen=1_000_000, requested_deposit_fen=None, rules=rules)
        assert facts.deposit_max_basis_points == 200 and facts.bribery_lookback_years == 3
        assert facts.deposit_cap_fen == (80_000_000 if rule_set.category == "construction" else None)


# ------------------------------------------------------------------------ properties

REGIONS = ["370000", "370800", "370811", "370802", "371700", "371702"]
MOMENTS = st.datetimes(min_value=datetime(2019, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC))


@st.composite
def records(draw, kinds=st.sampled_from(sorted(KINDS))):
    kind = draw(kinds)
    start = draw(MOMENTS)
    days = draw(st.none() | st.integers(min_value=1, max_value=4000))
    return RecordFacts(
        id=draw(st.integers(min_value=1, max_value=10_000)), subject_type="organisation",
        subject_key="91371700MA3NXA01J5", department=draw(st.sampled_from(sorted(departments()))),
        department_name="部门", kind=kind, kind_name=KINDS[kind].name, severity=KINDS[kind].severity,
        decision_number=draw(st.text(min_size=1, max_size=8)), act="行为", effective_from=start,
        effective_to=start + timedelta(days=days) if days else None,
        categories=frozenset(draw(st.sets(st.sampled_from(sorted(TRADING_CATEGORIES)), max_size=2))),
        region_codes=frozenset(draw(st.sets(st.sampled_from(REGIONS), max_size=2))),
        status=draw(st.sampled_from([ACTIVE, ACTIVE, ACTIVE, REPAIRED, REVOKED])))


projects = st.builds(
    ProjectFacts, code=st.just("P-1"), category=st.sampled_from(sorted(TRADING_CATEGORIES)),
    region_code=st.sampled_from(["370811", "370802", "371702"]),
    estimate_fen=st.integers(min_value=0, max_value=10**13),
    requested_deposit_fen=st.none() | st.integers(min_value=0, max_value=10**11),
    deposit_max_basis_points=st.integers(min_value=0, max_value=10_000),
    deposit_cap_fen=st.none() | st.integers(min_value=0, max_value=10**10),
    bribery_lookback_years=st.none() | st.integers(min_value=1, max_value=10))
negative_lists = st.builds(
    DepositNegativeList, title=st.just("测试清单"),
    kinds=st.frozensets(st.sampled_from(sorted(code for code, kind in KINDS.items() if kind.severity == MINOR))),
    lookback_years=st.integers(min_value=1, max_value=5))


@settings(max_examples=300, deadline=None)
@given(records=st.lists(records(), max_size=8), project=projects, moment=MOMENTS, listing=negative_lists)
def test_a_record_outside_its_period_or_scope_never_decides(records, project, moment, listing):
    outside = [r for r in records
               if not (r.effective_from <= moment and (r.effective_to is None or moment < r.effective_to))
               or not r.covers(project.category, project.region_code) or r.status != ACTIVE]
    inside = [r for r in records if r not in outside]
    for answer in (eligibility(records, project, moment), deposit_requirement(records, project, moment, listing)):
        for item in answer.deciding:
            assert item.record not in outside
            assert item.record.in_force(moment) and item.record.covers(project.category, project.region_code)
    assert eligibility(records, project, moment) == eligibility(inside, project, moment)
    assert deposit_requirement(records, project, moment, listing) == deposit_requirement(inside, project, moment, listing)


@settings(max_examples=300, deadline=None)
@given(records=st.lists(records(), max_size=6), added=records(st.sampled_from(
    sorted(code for code, kind in KINDS.items() if kind.severity == SERIOUS))), project=projects, moment=MOMENTS)
def test_adding_a_serious_record_never_turns_a_refusal_into_an_admission(records, added, project, moment):
    before = eligibility(records, project, moment)
    after = eligibility([*records, added], project, moment)
    if not before.admitted:
        assert not after.admitted
        assert {item.record for item in before.deciding} <= {item.record for item in after.deciding}
    assert not (before.admitted is False and after.admitted is True)


@settings(max_examples=300, deadline=None)
@given(records=st.lists(records(), max_size=8), project=projects, moment=MOMENTS, listing=negative_lists)
def test_the_deposit_never_exceeds_the_cap(records, project, moment, listing):
    answer = deposit_requirement(records, project, moment, listing)
    assert 0 <= answer.amount_fen <= answer.cap_fen == deposit_cap(project)
    assert answer.cap_fen <= project.estimate_fen * project.deposit_max_basis_points // 10_000
    if project.deposit_cap_fen is not None:
        assert answer.cap_fen <= project.deposit_cap_fen
    if answer.required and project.requested_deposit_fen is not None:
        assert answer.amount_fen == min(project.requested_deposit_fen, answer.cap_fen)


@settings(max_examples=300, deadline=None)
@given(records=st.lists(records(), max_size=8), project=projects, moment=MOMENTS, listing=negative_lists)
def test_no_record_on_the_negative_list_means_no_deposit(records, project, moment, listing):
    off_list = [r for r in records if r.kind not in listing.kinds]
    answer = deposit_requirement(off_list, project, moment, listing)
    assert not answer.required and answer.amount_fen == 0 and answer.deciding == ()
    for item in deposit_requirement(records, project, moment, listing).deciding:
        assert item.record.kind in listing.kinds
