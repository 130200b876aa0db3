"""The expert pool: taxonomy, registration, the draw's pool filter, reviews and ratings."""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from expert_pool.availability import available_experts
from expert_pool.experts import (
    add_leave,
    declare_conflict,
    describe_experts,
    get_expert,
    list_experts,
    register_expert,
    set_expert_status,
    update_expert,
)
from expert_pool.models import Expert, ExpertLeave
from expert_pool.ratings import rate_expert, ratings_of
from expert_pool.reviews import list_review_due, review_expert
from expert_pool.specialties import DATA_FILE, Specialty, load_specialty_file, sync_specialties
from tests.common import factories
from trading.audit import AuditEntry
from trading.database import make_sessionmaker, transaction
from trading.errors import ConfigurationError, Conflict, InvalidInput, NotFound, PermissionDenied
from trading.identifiers import credit_code_check_char, id_number_check_char
from trading.roles import UserRole
from trading.rules.store import RuleSetRecord, get_rule_set

LEVEL_ONE = (
    "A01 规划, A02 投资策划与决策, A03 勘察, A04 设计, A05 监理, A06 工程造价, A07 项目管理, A08 工程施工, "
    "A09 其他工程, B01 机械设备, B02 医疗器械, B03 金属材料, B04 石油及其制品, B05 煤炭煤层气, B06 化工材料, "
    "B07 建筑材料, B08 药品, B09 其他, C01 勘察与调查, C02 公共咨询, C03 经济管理, C04 工商管理, C05 金融, "
    "C06 法律, C07 修理, C08 租赁, C09 交通运输与物流, C10 节能服务, C11 高新技术服务, C12 其他服务"
)
SESSION_START = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 in Jining
SESSION_END = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ON = date(2026, 11, 22)
_serial = itertools.count(1)


@pytest.fixture(scope="module", autouse=True)
async def taxonomy(engine: AsyncEngine) -> None:
    async with transaction(make_sessionmaker(engine)) as session:
        await sync_specialties(session)


def new_id_number() -> str:
    n = next(_serial)
    body = f"37080219{60 + n // 1000 % 40:02d}0101{n % 1000:03d}"
    return body + id_number_check_char(body)


def new_credit_code() -> str:
    body = f"91370811MB{next(_serial):07d}"
    return body + credit_code_check_char(body)


async def new_expert(session: AsyncSession, *, specialties=("A080104",), employer: str | None = None,
                     next_review_due: date | None = date(2027, 11, 22), **overrides) -> Expert:
    values = dict(actor="test", name="王建国", id_number=new_id_number(), employer_credit_code=employer or new_credit_code(),
                  specialties=list(specialties), title="正高级", years_in_field=20, city_code="370800",
                  phone="13905370137", next_review_due=next_review_due)
    values.update(overrides)
    return await register_expert(session, **values)


async def pool(session: AsyncSession, specialties=("A08",), **kwargs) -> list[str]:
    values = dict(specialties=list(specialties), window_start=SESSION_START, window_end=SESSION_END, on_date=ON)
    values.update(kwargs)
    return [expert.code for expert in await available_experts(session, **values)]


async def audit_entries(session: AsyncSession, subject: str) -> list[AuditEntry]:
    return list((await session.scalars(
        select(AuditEntry).where(AuditEntry.subject == subject).order_by(AuditEntry.seq))).all())


# ----------------------------------------------------------------------------- taxonomy


async def test_the_taxonomy_has_every_level_one_code_of_the_reference(session):
    names = dict((await session.execute(select(Specialty.code, Specialty.name).where(Specialty.level == 1))).all())
    expected = dict(item.split(" ") for item in LEVEL_ONE.split(", "))
    assert names == expected
    rows = (await session.scalars(select(Specialty))).all()
    by_code = {row.code: row for row in rows}
    assert len(rows) == len(load_specialty_file()) > 200
    for row in rows:
        assert row.level == (len(row.code) - 1) // 2
        if row.level > 1:
            assert row.parent_code == row.code[:-2] and by_code[row.parent_code].level == row.level - 1
        else:
            assert row.parent_code is None
    assert by_code["A080104"].name == "土建工程" and by_code["A0801"].name == "建筑工程"


async def test_the_taxonomy_file_says_where_it_comes_from():
    text = DATA_FILE.read_text(encoding="utf-8")
    assert "评标专家专业分类标准" in text and "UNCONFIRMED" in text and "extends" in text


async def test_syncing_again_changes_nothing(session):
    assert await sync_specialties(session) == 0


async def test_the_center_extends_the_taxonomy_and_nothing_is_deleted(session, tmp_path: Path):
    extended = DATA_FILE.read_text(encoding="utf-8").replace(
        'A0909 = "土地整理工程"', 'A0909 = "土地整理工程"\nA0910 = "海绵城市工程"').replace(
        'C1207 = "体育产业与管理"', 'C1207 = "体育产业与管理（含场馆运营）"')
    path = tmp_path / "specialties.toml"
    path.write_text(extended, encoding="utf-8")
    assert await sync_specialties(session, actor="test", path=path) == 2
    added = await session.get(Specialty, "A0910")
    assert (added.name, added.parent_code, added.level) == ("海绵城市工程", "A09", 2)
    assert (await session.get(Specialty, "C1207")).name == "体育产业与管理（含场馆运营）"
    entry = (await audit_entries(session, "specialties"))[-1]
    assert entry.action == "specialties.synced" and entry.data == {"file": "specialties.toml", "added": 1, "renamed": ["C1207"]}
    shortened = tmp_path / "short.toml"
    shortened.write_text('[specialties]\nA01 = "规划"\n', encoding="utf-8")
    await sync_specialties(session, path=shortened)
    assert await session.get(Specialty, "A0910") is not None


@pytest.mark.parametrize(("body", "message"), [
    ('A0101 = "国民经济和社会发展规划"\nA01 = "规划"\n', "上级代码 A01"),
    ('A1 = "规划"\n', "格式错误"),
    ('A01 = ""\n', "缺少名称"),
    ('D01 = "产权"\n', "格式错误"),
])
async def test_a_bad_taxonomy_file_is_refused_naming_the_code(tmp_path: Path, body: str, message: str):
    path = tmp_path / "bad.toml"
    path.write_text("[specialties]\n" + body, encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        load_specialty_file(path)
    assert message in caught.value.message and "bad.toml" in caught.value.message


# ------------------------------------------------------------------------- registration


async def test_a_registered_expert_gets_a_public_code_and_is_masked_in_public(session):
    expert = await new_expert(session, name="李秀英", specialties=["a040102", "A040102", "A0601"],
                              employer_name="济宁市建筑设计研究院", next_review_due=None)
    assert re.fullmatch(r"EXP\d{6}", expert.code)
    assert expert.status == "active" and expert.status_changed_at is not None
    today = await session.scalar(select(func.current_date()))
    assert expert.next_review_due == today.replace(year=today.year + 1)
    [public] = await describe_experts(session, [expert])
    assert public["specialties"] == ["A040102", "A0601"]
    assert public["id_number"] == expert.id_number[:4] + "*" * 10 + expert.id_number[-4:]
    assert public["phone"] == "139****0137"
    [full] = await describe_experts(session, [expert], masked=False)
    assert full["id_number"] == expert.id_number and full["phone"] == "13905370137"
    [entry] = await audit_entries(session, f"expert:{expert.code}")
    assert entry.action == "expert.registered"
    logged = json.dumps(entry.data, ensure_ascii=False)
    assert expert.id_number not in logged and "13905370137" not in logged


async def test_codes_follow_each_other(session):
    first, second = await new_expert(session), await new_expert(session)
    assert int(second.code[3:]) > int(first.code[3:])


async def test_the_employer_is_linked_when_it_is_registered(session):
    employer = await factories.organisation(session, "expert_employer", name="济宁学院")
    linked = await new_expert(session, employer=employer.credit_code)
    unknown = await new_expert(session)
    assert linked.employer_id == employer.id
    assert unknown.employer_id is None and len(unknown.employer_credit_code) == 18


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"id_number": "370802197001011234"}, "id_number", "校验位"),
    ({"employer_credit_code": "91370800MA1234567A"}, "employer_credit_code", "校验位"),
    ({"specialties": ["A9999"]}, "specialties", "A9999"),
    ({"specialties": []}, "specialties", "至少"),
    ({"title": "教授"}, "title", "职称"),
    ({"years_in_field": -1}, "years_in_field", "不小于0"),
    ({"city_code": "990000"}, "city_code", "省级"),
    ({"phone": "12345"}, "phone", "联系电话"),
    ({"name": " "}, "name", "姓名"),
])
async def test_registration_refuses_bad_values_in_chinese(session, change, field, message):
    with pytest.raises(InvalidInput) as caught:
        await new_expert(session, **change)
    assert message in caught.value.message
    if field not in ("id_number", "employer_credit_code"):
        assert caught.value.details["field"] == field
    assert await session.scalar(select(func.count()).select_from(Expert)) == 0


async def test_one_person_is_registered_once(session):
    expert = await new_expert(session)
    with pytest.raises(Conflict) as caught:
        await new_expert(session, id_number=expert.id_number)
    assert expert.id_number not in caught.value.message and "已在库中" in caught.value.message


async def test_the_profile_can_be_updated_and_the_change_is_audited(session):
    expert = await new_expert(session, specialties=["A0601"])
    updated = await update_expert(session, actor="test", code=expert.code, phone="0537-2345678",
                                  specialties=["A0602", "A0601"], years_in_field=21, title="正高级")
    assert (updated.phone, updated.years_in_field) == ("0537-2345678", 21)
    [public] = await describe_experts(session, [updated])
    assert public["specialties"] == ["A0601", "A0602"] and public["phone"] == "**********78"
    entry = (await audit_entries(session, f"expert:{expert.code}"))[-1]
    assert entry.action == "expert.updated"
    assert entry.data == {"phone": "**********78", "years_in_field": 21, "specialties": ["A0601", "A0602"]}
    count = len(await audit_entries(session, f"expert:{expert.code}"))
    await update_expert(session, actor="test", code=expert.code, title="正高级")  # nothing changes
    assert len(await audit_entries(session, f"expert:{expert.code}")) == count


async def test_status_changes_need_a_reason_and_retirement_is_final(session):
    expert = await new_expert(session)
    with pytest.raises(InvalidInput):
        await set_expert_status(session, actor="test", code=expert.code, status="suspended", reason=" ")
    suspended = await set_expert_status(session, actor="test", code=expert.code, status="suspended",
                                        reason="本人申请暂停一年")
    assert (suspended.status, suspended.status_reason) == ("suspended", "本人申请暂停一年")
    with pytest.raises(Conflict, match="已处于「暂停」"):
        await set_expert_status(session, actor="test", code=expert.code, status="suspended", reason="再次")
    await set_expert_status(session, actor="test", code=expert.code, status="retired", reason="年满七十周岁")
    with pytest.raises(Conflict, match="不能改为"):
        await set_expert_status(session, actor="test", code=expert.code, status="active", reason="恢复")
    with pytest.raises(InvalidInput, match="未知的专家状态"):
        await set_expert_status(session, actor="test", code=expert.code, status="deleted", reason="x")
    actions = [entry.action for entry in await audit_entries(session, f"expert:{expert.code}")]
    assert actions == ["expert.registered", "expert.status_changed", "expert.status_changed"]


async def test_an_unknown_expert_is_not_found_in_chinese(session):
    with pytest.raises(NotFound, match="未找到专家编号"):
        await get_expert(session, "EXP999999")


# ------------------------------------------------------------------- the pool filter


async def test_a_request_is_served_by_the_specialty_and_everything_below_it(session):
    works = await new_expert(session, specialties=["A080104"])  # 土建工程, under A0801 under A08
    building = await new_expert(session, specialties=["A0801"])
    broad = await new_expert(session, specialties=["A08"])
    design = await new_expert(session, specialties=["A040103"])
    assert await pool(session, ["A08"]) == [works.code, building.code, broad.code]
    assert await pool(session, ["A0801"]) == [works.code, building.code]
    assert await pool(session, ["A080104"]) == [works.code]
    assert await pool(session, ["A080105"]) == []
    assert await pool(session, ["A0802"]) == []
    assert await pool(session, ["A0401", "A080104"]) == [works.code, design.code]
    with pytest.raises(InvalidInput, match="A9999"):
        await pool(session, ["A9999"])


async def test_only_active_experts_are_drawn(session):
    codes = {}
    for status in ("active", "suspended", "retired", "under_review"):
        expert = await new_expert(session)
        if status != "active":
            await set_expert_status(session, actor="test", code=expert.code, status=status, reason="测试")
        codes[status] = expert.code
    assert await pool(session) == [codes["active"]]


async def test_an_expert_overdue_for_review_is_not_drawn_but_one_due_today_is(session):
    overdue = await new_expert(session, next_review_due=ON - timedelta(days=1))
    due_today = await new_expert(session, next_review_due=ON)
    assert await pool(session) == [due_today.code]
    assert await pool(session, on_date=ON - timedelta(days=1)) == [overdue.code, due_today.code]


async def test_an_expert_on_leave_during_the_session_is_not_drawn(session):
    on_leave = await new_expert(session)
    before = await new_expert(session)
    after = await new_expert(session)
    inside = await new_expert(session)
    await add_leave(session, actor="test", code=on_leave.code, starts_at=SESSION_START - timedelta(days=3),
                    ends_at=SESSION_START + timedelta(hours=1), reason="出差")
    # Half-open periods: a leave that ends as the session starts, or starts as it ends, does not clash.
    await add_leave(session, actor="test", code=before.code, starts_at=SESSION_START - timedelta(days=3),
                    ends_at=SESSION_START)
    await add_leave(session, actor="test", code=after.code, starts_at=SESSION_END,
                    ends_at=SESSION_END + timedelta(days=2))
    await add_leave(session, actor="test", code=inside.code, starts_at=SESSION_START + timedelta(hours=2),
                    ends_at=SESSION_START + timedelta(hours=3))
    assert await pool(session) == [before.code, after.code]
    with pytest.raises(InvalidInput, match="晚于开始时间"):
        await add_leave(session, actor="test", code=before.code, starts_at=SESSION_END, ends_at=SESSION_START)
    with pytest.raises(InvalidInput, match="带时区"):
        await add_leave(session, actor="test", code=before.code, starts_at=datetime(2026, 12, 1),
                        ends_at=datetime(2026, 12, 2))


async def test_experts_of_an_excluded_organisation_are_not_drawn(session):
    bidder = await factories.organisation(session, "bidder")
    employed = await new_expert(session, employer=bidder.credit_code)
    other = await new_expert(session)
    assert await pool(session, exclude_credit_codes=[bidder.credit_code.lower()]) == [other.code]
    assert await pool(session) == [employed.code, other.code]
    with pytest.raises(InvalidInput):
        await pool(session, exclude_credit_codes=["91370800MA1234567A"])


async def test_a_declared_conflict_with_an_excluded_organisation_keeps_the_expert_out(session):
    agency = await factories.organisation(session, "agency")
    conflicted = await new_expert(session)
    elsewhere = await new_expert(session)
    conflict = await declare_conflict(session, actor="test", code=conflicted.code, credit_code=agency.credit_code,
                                      reason="近三年曾在该代理机构任职")
    assert conflict.organisation_id == agency.id
    await declare_conflict(session, actor="test", code=elsewhere.code, credit_code=new_credit_code(), reason="配偶任职")
    assert await pool(session, exclude_credit_codes=[agency.credit_code]) == [elsewhere.code]
    with pytest.raises(Conflict, match="已申报"):
        await declare_conflict(session, actor="test", code=conflicted.code, credit_code=agency.credit_code,
                               reason="重复")


async def test_the_rule_set_qualification_and_the_draws_own_filter_narrow_the_pool(session):
    senior = await new_expert(session, title="副高级", years_in_field=8)
    junior = await new_expert(session, title="中级", years_in_field=15)
    novice = await new_expert(session, title="正高级", years_in_field=7)
    assert await pool(session) == [senior.code, junior.code, novice.code]
    assert await pool(session, min_years_in_field=8, senior_title_only=True) == [senior.code]
    # The draw's bookings and cooling-off come in through extra_filter.
    assert await pool(session, extra_filter=Expert.code != junior.code) == [senior.code, novice.code]


async def test_a_window_must_be_a_real_period_with_time_zones(session):
    with pytest.raises(InvalidInput, match="晚于开始时间"):
        await pool(session, window_start=SESSION_END, window_end=SESSION_START)
    with pytest.raises(InvalidInput, match="带时区"):
        await pool(session, window_start=datetime(2026, 12, 1, 9), window_end=datetime(2026, 12, 1, 17))


EMPLOYERS = [f"91370811MC{n:07d}" for n in range(4)]
EMPLOYERS = [code + credit_code_check_char(code) for code in EMPLOYERS]
HOURS = st.integers(min_value=-12, max_value=20)
EXPERT_SPECS = st.lists(
    st.tuples(
        st.sampled_from(EMPLOYERS),
        st.lists(st.tuples(HOURS, st.integers(min_value=1, max_value=12)), max_size=2),  # leave: start, length
        st.sampled_from(["A080104", "A0801", "A0601", "B02"]),
        st.sampled_from(EMPLOYERS + [None]),  # declared conflict
    ),
    min_size=1, max_size=6,
)


@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=EXPERT_SPECS, excluded=st.sets(st.sampled_from(EMPLOYERS), max_size=3))
async def test_the_pool_never_holds_an_excluded_employer_or_an_expert_on_leave(session, specs, excluded):
    async with session.begin_nested() as example:
        expected = []
        for employer, leaves, specialty, conflict_with in specs:
            expert = await new_expert(session, employer=employer, specialties=[specialty])
            for start, length in leaves:
                await add_leave(session, actor="test", code=expert.code,
                                starts_at=SESSION_START + timedelta(hours=start),
                                ends_at=SESSION_START + timedelta(hours=start + length))
            if conflict_with is not None:
                await declare_conflict(session, actor="test", code=expert.code, credit_code=conflict_with,
                                       reason="测试")
            clash = any(start < 8 and start + length > 0 for start, length in leaves)  # the session lasts 8 hours
            if (specialty.startswith("A08") and employer not in excluded and conflict_with not in excluded
                    and not clash):
                expected.append(expert.code)
        drawn = await available_experts(session, specialties=["A08"], window_start=SESSION_START,
                                        window_end=SESSION_END, exclude_credit_codes=sorted(excluded), on_date=ON)
        for expert in drawn:
            assert expert.employer_credit_code not in excluded
            assert not await session.scalar(select(exists().where(
                ExpertLeave.expert_id == expert.id, ExpertLeave.starts_at < SESSION_END,
                ExpertLeave.ends_at > SESSION_START)))
        assert [expert.code for expert in drawn] == sorted(expected)
        await example.rollback()


async def test_the_list_filters_by_specialty_subtree_and_status(session):
    works = await new_expert(session, specialties=["A080104"])
    cost = await new_expert(session, specialties=["A0601"])
    await set_expert_status(session, actor="test", code=cost.code, status="suspended", reason="测试")
    assert [e.code for e in await list_experts(session, specialty="A08")] == [works.code]
    assert [e.code for e in await list_experts(session, status="suspended")] == [cost.code]
    assert [e.code for e in await list_experts(session)] == [works.code, cost.code]


# ------------------------------------------------------------------------ annual review


async def test_experts_due_and_overdue_for_review_are_listed(session):
    overdue = await new_expert(session, next_review_due=ON - timedelta(days=10))
    today = await new_expert(session, next_review_due=ON)
    soon = await new_expert(session, next_review_due=ON + timedelta(days=20))
    await new_expert(session, next_review_due=ON + timedelta(days=60))
    retired = await new_expert(session, next_review_due=ON - timedelta(days=5))
    await set_expert_status(session, actor="test", code=retired.code, status="retired", reason="退休")
    due = await list_review_due(session, on_date=ON, within_days=30)
    assert [(item.expert.code, item.overdue, item.days_left) for item in due] == [
        (overdue.code, True, -10), (today.code, False, 0), (soon.code, False, 20)]
    assert [item.expert.code for item in await list_review_due(session, on_date=ON, within_days=0)] == [
        overdue.code, today.code]


async def test_passing_the_review_moves_it_a_year_and_returns_the_expert_to_the_pool(session):
    expert = await new_expert(session, next_review_due=ON - timedelta(days=10))
    assert await pool(session) == []
    passed = await review_expert(session, actor="test", code=expert.code, decision="pass", reason="年度考核合格")
    assert passed.next_review_due == date(2027, 11, 12)
    assert await pool(session) == [expert.code]
    [_, entry] = await audit_entries(session, f"expert:{expert.code}")
    assert entry.action == "expert.review_passed"
    assert entry.data == {"previous_due": "2026-11-12", "next_review_due": "2027-11-12", "reason": "年度考核合格"}


async def test_an_expert_under_review_who_passes_becomes_active(session):
    expert = await new_expert(session, next_review_due=date(2028, 2, 29))
    await set_expert_status(session, actor="test", code=expert.code, status="under_review", reason="年度审定")
    passed = await review_expert(session, actor="test", code=expert.code, decision="pass")
    assert (passed.status, passed.next_review_due) == ("active", date(2029, 2, 28))


async def test_the_review_can_suspend_or_retire_with_a_reason(session):
    first, second = await new_expert(session), await new_expert(session)
    with pytest.raises(InvalidInput, match="原因"):
        await review_expert(session, actor="test", code=first.code, decision="suspend")
    suspended = await review_expert(session, actor="test", code=first.code, decision="suspend",
                                    reason="年度考核不合格，暂停一年")
    retired = await review_expert(session, actor="test", code=second.code, decision="retire", reason="本人申请退出")
    assert (suspended.status, suspended.status_reason) == ("suspended", "年度考核不合格，暂停一年")
    assert retired.status == "retired"
    assert (await audit_entries(session, f"expert:{second.code}"))[-1].action == "expert.review_retired"
    with pytest.raises(Conflict, match="已退出"):
        await review_expert(session, actor="test", code=second.code, decision="pass")
    with pytest.raises(InvalidInput, match="审定结论"):
        await review_expert(session, actor="test", code=first.code, decision="maybe")


# ------------------------------------------------------------------------------ ratings


async def construction_rules(session: AsyncSession) -> RuleSetRecord:
    return await get_rule_set(session, "construction-open-tender", "2019.1")


async def test_the_rule_sets_carry_the_dynamic_management_thresholds(session):
    rules = await construction_rules(session)
    assert rules.rule("expert_rating_window")["value"] == 5
    assert rules.rule("expert_rating_suspend_below_average")["value"] == 60
    assert rules.rule("expert_rating_suspend_at_or_below")["value"] == 40
    assert "动态管理" in rules.rule("expert_rating_window")["source"]


async def test_a_rating_at_or_below_the_floor_suspends_the_expert_with_an_audit_entry(session):
    rules = await construction_rules(session)
    supervisor = await factories.user(session, UserRole.SUPERVISOR)
    expert = await new_expert(session)
    outcome = await rate_expert(session, actor="test", rule_set=rules, expert_code=expert.code,
                                project_code="JN-2026-GC-0007", rater_user_id=supervisor.id,
                                rater_role="supervisor", score=40, comment="评审意见明显偏离招标文件")
    assert outcome.suspended and outcome.rule == "expert_rating_suspend_at_or_below"
    refreshed = await get_expert(session, expert.code)
    assert refreshed.status == "suspended" and "expert_rating_suspend_at_or_below" in refreshed.status_reason
    entry = (await audit_entries(session, f"expert:{expert.code}"))[-1]
    assert entry.action == "expert.auto_suspended"
    assert entry.data["rule"] == "expert_rating_suspend_at_or_below"
    assert entry.data["rule_set"] == "construction-open-tender@2019.1"
    assert (entry.data["score"], entry.data["threshold"]) == (40, 40)
    assert await pool(session) == []


async def test_a_low_average_over_the_window_suspends_but_not_before_the_window_is_full(session):
    rules = await construction_rules(session)
    party = await factories.user(session, UserRole.TENDERING_PARTY)
    expert = await new_expert(session)
    scores = [70, 55, 58, 62]  # four ratings: the window of 5 is not full yet
    for number, score in enumerate(scores):
        outcome = await rate_expert(session, actor="test", rule_set=rules, expert_code=expert.code,
                                    project_code=f"JN-2026-GC-{number:04d}", rater_user_id=party.id,
                                    rater_role="tendering_party", score=score)
        assert not outcome.suspended
    outcome = await rate_expert(session, actor="test", rule_set=rules, expert_code=expert.code,
                                project_code="JN-2026-GC-0099", rater_user_id=party.id, rater_role="tendering_party",
                                score=54)  # total 299 < 60 × 5
    assert outcome.suspended and outcome.rule == "expert_rating_suspend_below_average"
    entry = (await audit_entries(session, f"expert:{expert.code}"))[-1]
    assert entry.action == "expert.auto_suspended"
    assert entry.data["scores"] == [54, 62, 58, 55, 70] and entry.data["threshold"] == 60
    assert len(await ratings_of(session, expert.code)) == 5


async def test_an_average_exactly_at_the_threshold_does_not_suspend(session):
    rules = await construction_rules(session)
    party = await factories.user(session, UserRole.TENDERING_PARTY)
    expert = await new_expert(session)
    for number, score in enumerate([60, 50, 70, 60, 60]):
        outcome = await rate_expert(session, actor="test", rule_set=rules, expert_code=expert.code,
                                    project_code=f"JN-2026-CG-{number:04d}", rater_user_id=party.id,
                                    rater_role="tendering_party", score=score)
    assert not outcome.suspended and (await get_expert(session, expert.code)).status == "active"


async def test_ratings_are_checked(session):
    rules = await construction_rules(session)
    party = await factories.user(session, UserRole.TENDERING_PARTY)
    bidder = await factories.user(session, UserRole.BIDDER)
    expert = await new_expert(session)
    rate = dict(actor="test", rule_set=rules, expert_code=expert.code, project_code="JN-2026-GC-0007",
                rater_user_id=party.id, rater_role="tendering_party", score=90)
    for change, error in [({"score": 101}, InvalidInput), ({"score": True}, InvalidInput),
                          ({"rater_role": "bidder"}, InvalidInput), ({"project_code": " "}, InvalidInput),
                          ({"rater_user_id": bidder.id}, PermissionDenied), ({"rater_user_id": 10**6}, NotFound)]:
        with pytest.raises(error):
            await rate_expert(session, **{**rate, **change})
    await rate_expert(session, **rate)
    with pytest.raises(Conflict, match="已对专家"):
        await rate_expert(session, **rate)


async def test_a_rule_set_without_the_thresholds_refuses_ratings(session):
    rules = await construction_rules(session)
    stripped = RuleSetRecord(code="test-rules", version="1", title="测试", category="construction",
                             method="open_tender", effective_from=date(2024, 1, 1), sha256="0" * 64,
                             content={"rules": {key: value for key, value in rules.content["rules"].items()
                                                if not key.startswith("expert_rating")}})
    party = await factories.user(session, UserRole.TENDERING_PARTY)
    expert = await new_expert(session)
    with pytest.raises(ConfigurationError, match="expert_rating_window"):
        await rate_expert(session, actor="test", rule_set=stripped, expert_code=expert.code,
                          project_code="JN-2026-GC-0007", rater_user_id=party.id, rater_role="tendering_party",
                          score=90)
