"""The agency pool: agencies enter by import or registration, carry status, declared ties
and ratings, and only eligible agencies make up an agency draw's pool."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from agency_pool import imports as agency_imports
from agency_pool.agencies import (
    Agency,
    AgencyStatus,
    get_agency,
    register_agency,
    set_agency_status,
    update_agency,
)
from agency_pool.eligibility import eligible_agencies
from agency_pool.exports import EXPORT_COLUMNS, export_agencies
from agency_pool.imports import IMPORT_COLUMNS, import_agencies
from agency_pool.listing import list_agencies
from agency_pool.ratings import RECENT_RATINGS, rate_agency, rating_summary
from agency_pool.ties import declare_tie, ties_of
from cli.demo import DEMO_PASSWORD, load_demo_data
from tests.common import factories
from tests.conftest import create_database_from_template, invoke_cli
from trading.audit import AuditEntry
from trading.database import make_engine, make_sessionmaker, run_as_server_admin, transaction
from trading.errors import Conflict, InvalidInput, NotFound
from trading.organisations import Organisation
from trading.rules.store import TRADING_CATEGORIES
from trading.sealed_draw import pool_digest, sorted_pool
from trading.spreadsheets import ImportRejected, RowError, read_rows, write_rows
from web.app import create_app

SAMPLES = Path(__file__).resolve().parents[2] / "agency_pool" / "samples"
SAMPLE = SAMPLES / "agencies.csv"
SAMPLE_WITH_ERRORS = SAMPLES / "agencies-with-errors.csv"
SAMPLE_CODES = ["AG-001", "AG-002", "AG-003", "AG-004", "AG-005", "AG-006", "AG-007", "AG-008", "AG-010", "AG-青山招标"]
QINGSHAN = "91370800MA3C5K8E74"  # the demo city's agency, in the sample as AG-青山招标
PARTY = factories.credit_code(9_000_001)  # a tendering party, not registered on the platform
OTHER_PARTY = factories.credit_code(9_000_002)

# The report for agency_pool/samples/agencies-with-errors.csv, exactly (row 6 is blank).
EXPECTED_REPORT = [
    RowError(3, "统一社会信用代码", "统一社会信用代码校验位错误：第18位应为「X」，实为「0」"),
    RowError(4, "资质等级", "未知的资质等级「特级」：应为甲级、乙级、暂定级之一"),
    RowError(4, "服务类别", "未知的交易类别「水利工程」：应为工程建设、政府采购、土地和矿业权、国有产权之一"),
    RowError(5, "机构名称", "机构名称不能为空"),
    RowError(7, "机构编号", "机构编号「AG-101」与第 2 行重复"),
    RowError(8, "机构编号", "机构编号「AG 106」格式不正确：只能由字母、数字、汉字、连字符（-）和下划线（_）组成，"
                          "以字母、数字或汉字开头，最长40个字符"),
    RowError(8, "所在地区", "未知的行政区划代码「999999」"),
    RowError(9, "统一社会信用代码", "统一社会信用代码与第 2 行重复"),
    RowError(10, "服务类别", "服务类别不能为空：至少填写一个交易类别"),
    RowError(11, "统一社会信用代码", "统一社会信用代码应为18位，实为17位"),
    RowError(11, "所在地区", "行政区划代码应为6位数字，实为「37080」"),
]


async def import_sample(session: AsyncSession, path: Path = SAMPLE, **options):
    await factories.region(session)
    return await import_agencies(session, actor="test:admin", filename=path.name, data=path.read_bytes(), **options)


async def new_agency(session: AsyncSession, code: str, categories=("construction",), **values) -> Agency:
    return await factories.agency(session, code, categories, **values)


async def count(session: AsyncSession, model, *where) -> int:
    return await session.scalar(select(func.count()).select_from(model).where(*where))


async def audit_actions(session: AsyncSession, subject: str) -> list[str]:
    return list((await session.scalars(select(AuditEntry.action).where(AuditEntry.subject == subject)
                                       .order_by(AuditEntry.seq))).all())


def sample_table() -> list[list[str]]:
    return list(csv.reader(io.StringIO(SAMPLE.read_text(encoding="utf-8"))))


# ------------------------------------------------------------------------------ import


async def test_the_sample_file_enters_every_agency_into_the_pool(session):
    summary = await import_sample(session)
    assert summary.registered == SAMPLE_CODES and summary.rows == 10 and not summary.dry_run
    assert "新入库 10 家" in summary.describe()
    listed = await list_agencies(session)
    assert [agency.code for agency in listed] == SAMPLE_CODES  # UTF-8 byte order: the CJK code last
    qingshan = listed[-1]
    assert (qingshan.credit_code, qingshan.name, qingshan.qualification_level) == (QINGSHAN, "山东青山招标代理有限公司", "甲级")
    assert qingshan.categories == ["construction", "government_procurement"] and qingshan.status == "active"
    roles = (await session.scalars(select(Organisation.roles).where(Organisation.credit_code == QINGSHAN))).one()
    assert roles == ["agency"]
    assert await audit_actions(session, "agency:AG-青山招标") == ["agency.registered"]
    assert await audit_actions(session, "agency_pool") == ["agencies.imported"]


async def test_importing_the_same_file_again_changes_nothing(session):
    await import_sample(session)
    again = await import_sample(session)
    assert again.registered == [] and again.updated == [] and again.unchanged == SAMPLE_CODES
    assert await audit_actions(session, "agency:AG-001") == ["agency.registered"]


async def test_the_error_file_is_rejected_with_every_bad_cell_reported(session):
    with pytest.raises(ImportRejected) as rejected:
        await import_sample(session, SAMPLE_WITH_ERRORS)
    assert rejected.value.errors == EXPECTED_REPORT
    assert rejected.value.details["errors"][0] == {"row": 3, "column": "统一社会信用代码",
                                                   "reason": "统一社会信用代码校验位错误：第18位应为「X」，实为「0」"}
    assert rejected.value.message.startswith("导入未执行，文件中有 11 处错误")


async def test_a_rejected_file_imports_nothing_not_even_its_good_rows(session):
    await factories.region(session)
    before = (await count(session, Agency), await count(session, Organisation), await count(session, AuditEntry))
    with pytest.raises(ImportRejected):
        await import_sample(session, SAMPLE_WITH_ERRORS)
    after = (await count(session, Agency), await count(session, Organisation), await count(session, AuditEntry))
    assert after == before
    with pytest.raises(NotFound):
        await get_agency(session, "AG-101")  # row 2 of the file is valid, and still not imported


async def test_a_row_failing_while_writing_rolls_back_the_rows_before_it(session, monkeypatch):
    real_register = agency_imports.register_agency

    async def register_then_fail(session, **values):
        if values["code"] == "AG-003":
            raise Conflict("机构编号「AG-003」已被使用", code="AG-003")  # as if registered concurrently
        return await real_register(session, **values)

    monkeypatch.setattr(agency_imports, "register_agency", register_then_fail)
    await factories.region(session)
    before = (await count(session, Agency), await count(session, AuditEntry))
    with pytest.raises(ImportRejected) as rejected:
        await import_sample(session)
    assert rejected.value.errors == [RowError(4, "机构编号", "机构编号「AG-003」已被使用")]
    assert (await count(session, Agency), await count(session, AuditEntry)) == before


async def test_a_dry_run_reports_without_writing(session):
    await factories.region(session)
    before = await count(session, AuditEntry)
    summary = await import_sample(session, dry_run=True)
    assert summary.dry_run and summary.registered == SAMPLE_CODES and "试运行" in summary.describe()
    assert await count(session, Agency) == 0 and await count(session, AuditEntry) == before


async def test_an_xlsx_file_imports_like_the_csv(session):
    await factories.region(session)
    table = sample_table()
    data = write_rows("agencies.xlsx", table[0], table[1:])
    summary = await import_agencies(session, actor="test", filename="机构库.xlsx", data=data)
    assert summary.registered == SAMPLE_CODES


async def test_an_imported_row_for_a_known_agency_updates_it(session):
    await import_sample(session)
    table = sample_table()
    table[1][3], table[1][4] = "乙级", "政府采购；工程建设"  # AG-001: level down, same categories
    data = write_rows("agencies.csv", table[0], table[1:])
    summary = await import_agencies(session, actor="test", filename="agencies.csv", data=data)
    assert summary.updated == ["AG-001"] and len(summary.unchanged) == 9
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.subject == "agency:AG-001",
                                                          AuditEntry.action == "agency.updated"))
    assert entry.data == {"changes": {"qualification_level": ["甲级", "乙级"]}}


async def test_rows_clashing_with_the_pool_are_reported(session):
    await import_sample(session)
    bidder = await factories.organisation(session, "bidder", name="济宁鲁建建设集团有限公司")
    ag002_credit = sample_table()[2][1]
    rows = [
        ["AG-001", factories.credit_code(), "另一家公司", "甲级", "工程建设", "370800"],
        ["AG-900", ag002_credit, "济宁诚信招标代理有限公司", "乙级", "工程建设", "370800"],
        ["AG-901", bidder.credit_code, "济宁鲁建建设集团有限公司", "乙级", "工程建设", "370800"],
    ]
    with pytest.raises(ImportRejected) as rejected:
        await import_agencies(session, actor="test", filename="a.csv", data=write_rows("a.csv", IMPORT_COLUMNS, rows))
    assert [(error.row, error.column) for error in rejected.value.errors] == [
        (2, "统一社会信用代码"), (3, "机构编号"), (4, "统一社会信用代码")]
    reasons = [error.reason for error in rejected.value.errors]
    assert "不能改为其他单位" in reasons[0]
    assert reasons[1] == "该单位已以机构编号「AG-002」入库"
    assert reasons[2] == "该单位「济宁鲁建建设集团有限公司」已登记，但不具有招标代理机构角色"


@pytest.mark.parametrize(("filename", "data", "message"), [
    ("agencies.txt", b"x", "不支持的文件类型"),
    ("agencies.csv", "机构编号,机构名称\nAG-1,某公司\n".encode(), "导入未执行"),
    ("agencies.csv", ",".join(IMPORT_COLUMNS).encode() + b"\n", "没有数据行"),
])
async def test_unusable_files_are_refused_in_chinese(session, filename, data, message):
    with pytest.raises(InvalidInput, match=message):
        await import_agencies(session, actor="test", filename=filename, data=data)


# ------------------------------------------------------------------------------ export


async def test_the_export_reimports_unchanged_and_shows_status_and_rating(session):
    await import_sample(session)
    await set_agency_status(session, actor="test", code="AG-004", status="suspended", reason="年度考核不合格")
    await rate_agency(session, actor="user:2:tenderer", code="AG-001", project_code="JN-2026-GC-0007",
                      score=87, comment="服务规范", rater_role="tendering_party")
    for file_format in ("csv", "xlsx"):
        data = await export_agencies(session, file_format=file_format)
        rows = read_rows(f"export.{file_format}", data, EXPORT_COLUMNS)
        assert [row.values["机构编号"] for row in rows] == SAMPLE_CODES
        assert rows[0].values["近期平均评分"] == "87" or rows[0].values["近期平均评分"] == "87.0"
        assert rows[0].values["评分次数"] == "1" and rows[0].values["服务类别"] == "工程建设、政府采购"
        assert (rows[3].values["状态"], rows[3].values["状态原因"]) == ("暂停", "年度考核不合格")
        again = await import_agencies(session, actor="test", filename=f"export.{file_format}", data=data)
        assert again.unchanged == SAMPLE_CODES


async def test_an_unknown_export_format_is_refused(session):
    with pytest.raises(InvalidInput, match="不支持的导出格式"):
        await export_agencies(session, file_format="pdf")


# ---------------------------------------------------------------------------- services


async def test_registering_an_agency_registers_its_organisation_with_the_agency_role(session):
    credit = factories.credit_code()
    agency = await new_agency(session, " ag－青山招标 ", credit_code=credit, categories=["工程建设", "land_mining"])
    assert agency.code == "AG-青山招标"  # full-width hyphen and case normalised
    assert agency.categories == ["construction", "land_mining"] and agency.status == "active"
    org = await session.get(Organisation, agency.organisation_id)
    assert org.credit_code == credit and org.roles == ["agency"]
    assert await audit_actions(session, f"organisation:{credit}") == ["organisation.registered"]


async def test_an_agency_organisation_already_registered_is_reused(session):
    org = await factories.organisation(session, "agency")
    agency = await new_agency(session, "AG-500", credit_code=org.credit_code)
    assert agency.organisation_id == org.id
    with pytest.raises(Conflict, match="已以机构编号「AG-500」入库"):
        await new_agency(session, "AG-501", credit_code=org.credit_code)


async def test_an_organisation_without_the_agency_role_cannot_enter_the_pool(session):
    org = await factories.organisation(session, "bidder")
    with pytest.raises(Conflict, match="不具有招标代理机构角色"):
        await new_agency(session, "AG-502", credit_code=org.credit_code)


async def test_a_code_is_used_once(session):
    await new_agency(session, "AG-503")
    with pytest.raises(Conflict, match="已被使用"):
        await new_agency(session, "ag-503")


@pytest.mark.parametrize(("values", "field"), [
    ({"code": "AG 1"}, "code"),
    ({"code": "-AG"}, "code"),
    ({"code": "A" * 41}, "code"),
    ({"credit_code": "91370800MA3C5K8E75"}, "credit_code"),
    ({"name": "  "}, "name"),
    ({"qualification_level": "特级"}, "qualification_level"),
    ({"categories": []}, "categories"),
    ({"categories": ["水利"]}, "categories"),
    ({"city": "999999"}, "city"),
])
async def test_bad_agency_values_are_refused_naming_the_field(session, values, field):
    await factories.region(session)
    arguments = {"credit_code": factories.credit_code(), "code": "AG-600", "name": "某招标公司",
                 "qualification_level": "甲级", "categories": ["construction"], "city": "370800", **values}
    with pytest.raises(InvalidInput) as caught:
        await register_agency(session, actor="test", **arguments)
    # Credit codes are checked by trading.identifiers, whose errors name themselves by code.
    assert caught.value.details.get("field") == field or caught.value.code == f"invalid_{field}"
    assert not caught.value.message.isascii()


async def test_an_update_records_what_changed_and_a_no_op_records_nothing(session):
    await new_agency(session, "AG-510")
    agency = await update_agency(session, actor="test", code="AG-510", qualification_level="甲级",
                                 categories=["government_procurement", "construction"], name="AG-510招标代理有限公司")
    assert agency.categories == ["construction", "government_procurement"]
    await update_agency(session, actor="test", code="AG-510", qualification_level="甲级")
    assert await audit_actions(session, "agency:AG-510") == ["agency.registered", "agency.updated"]
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "agency.updated",
                                                          AuditEntry.subject == "agency:AG-510"))
    assert entry.data["changes"] == {"qualification_level": ["乙级", "甲级"],
                                     "categories": [["construction"], ["construction", "government_procurement"]]}


async def test_status_changes_need_a_reason_and_revocation_is_final(session):
    await new_agency(session, "AG-520")
    with pytest.raises(InvalidInput, match="原因"):
        await set_agency_status(session, actor="test", code="AG-520", status="suspended", reason=" ")
    with pytest.raises(InvalidInput, match="未知的代理机构状态"):
        await set_agency_status(session, actor="test", code="AG-520", status="retired", reason="x")
    with pytest.raises(Conflict, match="已是「正常」状态"):
        await set_agency_status(session, actor="test", code="AG-520", status="active", reason="x")
    agency = await set_agency_status(session, actor="test", code="AG-520", status="suspended", reason="投诉核查中")
    assert (agency.status, agency.status_reason) == ("suspended", "投诉核查中") and agency.status_changed_at
    await set_agency_status(session, actor="test", code="AG-520", status="active", reason="核查完毕，恢复")
    await set_agency_status(session, actor="test", code="AG-520", status="revoked", reason="串通投标被查处")
    with pytest.raises(Conflict, match="已被取消入库资格"):
        await set_agency_status(session, actor="test", code="AG-520", status="active", reason="申请恢复")
    entries = (await session.scalars(select(AuditEntry.data).where(AuditEntry.action == "agency.status_changed",
                                                                   AuditEntry.subject == "agency:AG-520")
                                     .order_by(AuditEntry.seq))).all()
    assert [(e["from"], e["to"]) for e in entries] == [("active", "suspended"), ("suspended", "active"),
                                                      ("active", "revoked")]


async def test_a_tie_is_declared_once_with_its_reason(session):
    await new_agency(session, "AG-530")
    tie = await declare_tie(session, actor="test", code="AG-530", party_credit_code=PARTY.lower(), reason="同一控股股东")
    assert tie.party_credit_code == PARTY and tie.declared_by == "test"
    with pytest.raises(Conflict, match="已申报"):
        await declare_tie(session, actor="test", code="AG-530", party_credit_code=PARTY, reason="再次申报")
    with pytest.raises(InvalidInput, match="统一社会信用代码"):
        await declare_tie(session, actor="test", code="AG-530", party_credit_code="123", reason="x")
    assert [t.reason for t in await ties_of(session, "AG-530")] == ["同一控股股东"]
    assert await audit_actions(session, "agency:AG-530") == ["agency.registered", "agency.tie_declared"]


async def test_an_unknown_agency_is_not_found(session):
    with pytest.raises(NotFound, match="AG-999"):
        await set_agency_status(session, actor="test", code="AG-999", status="suspended", reason="x")


# ------------------------------------------------------------------------- eligibility


async def test_only_active_agencies_serving_the_category_and_untied_to_the_party_are_eligible(session):
    await new_agency(session, "AG-701", categories=["construction"])
    await new_agency(session, "AG-702", categories=["government_procurement"])
    await new_agency(session, "AG-703", categories=["construction", "government_procurement"])
    await new_agency(session, "AG-704", categories=["construction"])
    await new_agency(session, "AG-705", categories=["construction"])
    await set_agency_status(session, actor="test", code="AG-704", status="suspended", reason="暂停")
    await declare_tie(session, actor="test", code="AG-705", party_credit_code=PARTY, reason="子公司")

    def codes(agencies):
        return [agency.code for agency in agencies]

    assert codes(await eligible_agencies(session, category="construction", tendering_party_credit_code=PARTY)) \
        == ["AG-701", "AG-703"]
    # The tie concerns PARTY only.
    assert codes(await eligible_agencies(session, category="construction", tendering_party_credit_code=OTHER_PARTY)) \
        == ["AG-701", "AG-703", "AG-705"]
    assert codes(await eligible_agencies(session, category="government_procurement",
                                         tendering_party_credit_code=PARTY)) == ["AG-702", "AG-703"]


async def test_an_agency_is_never_eligible_for_its_own_organisation(session):
    org = await factories.organisation(session, "agency", "tendering_party")
    await new_agency(session, "AG-710", credit_code=org.credit_code)
    assert await eligible_agencies(session, category="construction", tendering_party_credit_code=org.credit_code) == []


async def test_eligibility_refuses_an_unknown_category_or_a_bad_credit_code(session):
    with pytest.raises(InvalidInput, match="未知的交易类别"):
        await eligible_agencies(session, category="工程建设", tendering_party_credit_code=PARTY)
    with pytest.raises(InvalidInput, match="统一社会信用代码"):
        await eligible_agencies(session, category="construction", tendering_party_credit_code="91370800MA3C5K8E75")


async def test_the_filtered_sample_pool_is_the_pool_of_the_specs_agency_draw_vector(session):
    await import_sample(session)
    await set_agency_status(session, actor="test", code="AG-004", status="suspended", reason="年度考核不合格")
    await declare_tie(session, actor="test", code="AG-005", party_credit_code=PARTY, reason="招标人参股")
    await set_agency_status(session, actor="test", code="AG-008", status="revoked", reason="违法违规被清出")
    pool = [agency.code for agency in await eligible_agencies(session, category="construction",
                                                              tendering_party_credit_code=PARTY)]
    assert pool == ["AG-001", "AG-002", "AG-010", "AG-青山招标"] == sorted_pool(pool)
    assert pool_digest(pool) == "d46dd3b353466f6dcee5cf323868e4d2752841eadf089ef6a292b406c3deb55e"


AGENCY_SPECS = st.lists(
    st.tuples(
        st.sets(st.sampled_from(list(TRADING_CATEGORIES)), min_size=1),
        st.sampled_from(list(AgencyStatus)),
        st.booleans(),  # tied to PARTY
        st.booleans(),  # tied to OTHER_PARTY
    ),
    max_size=6,
)
PROPERTY_CODES = ["AG-青山招标", "AG-010", "AG-B", "AG-002", "AG_9", "AG-001"]


@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=AGENCY_SPECS, category=st.sampled_from(list(TRADING_CATEGORIES)))
async def test_eligible_agencies_never_returns_a_tied_inactive_or_non_serving_agency(session, specs, category):
    await factories.region(session)
    async with session.begin_nested() as example:
        expected = []
        for code, (categories, status, tied, tied_elsewhere) in zip(PROPERTY_CODES, specs):
            await new_agency(session, code, categories=sorted(categories))
            if status is not AgencyStatus.ACTIVE:
                await set_agency_status(session, actor="test", code=code, status=status.value, reason="测试")
            if tied:
                await declare_tie(session, actor="test", code=code, party_credit_code=PARTY, reason="测试")
            if tied_elsewhere:
                await declare_tie(session, actor="test", code=code, party_credit_code=OTHER_PARTY, reason="测试")
            if status is AgencyStatus.ACTIVE and category in categories and not tied:
                expected.append(code)
        eligible = await eligible_agencies(session, category=category, tendering_party_credit_code=PARTY)
        for agency in eligible:
            assert agency.status == "active" and category in agency.categories
            assert PARTY not in [tie.party_credit_code for tie in await ties_of(session, agency.code)]
        assert [agency.code for agency in eligible] == sorted_pool(expected)
        await example.rollback()


# ----------------------------------------------------------------------------- ratings


async def test_the_rating_average_covers_the_most_recent_ratings(session):
    await new_agency(session, "AG-800")
    assert await rating_summary(session, "AG-800") is None
    scores = [0, 0] + [90] * (RECENT_RATINGS - 2) + [80, 85]  # the two zeros fall out of the window
    for number, score in enumerate(scores):
        await rate_agency(session, actor=f"user:{number}:rater", code="AG-800", project_code=f"JN-2026-GC-{number:04d}",
                          score=score, comment="", rater_role="supervisor" if number % 2 else "tendering_party")
    summary = await rating_summary(session, "AG-800")
    assert (summary.average, summary.count) == (88.5, RECENT_RATINGS)  # (8 * 90 + 80 + 85) / 10
    listed = {agency.code: agency for agency in await list_agencies(session)}
    assert (listed["AG-800"].rating_average, listed["AG-800"].rating_count) == (88.5, RECENT_RATINGS)


@pytest.mark.parametrize(("values", "error", "message"), [
    ({"score": 101}, InvalidInput, "0–100"),
    ({"score": -1}, InvalidInput, "0–100"),
    ({"score": True}, InvalidInput, "整数"),
    ({"rater_role": "bidder"}, InvalidInput, "招标人/采购人或监督人员"),
    ({"project_code": " "}, InvalidInput, "项目编号"),
    ({"code": "AG-404"}, NotFound, "AG-404"),
])
async def test_bad_ratings_are_refused(session, values, error, message):
    await new_agency(session, "AG-810")
    arguments = {"code": "AG-810", "project_code": "JN-2026-GC-0007", "score": 80, "comment": "",
                 "rater_role": "tendering_party", **values}
    with pytest.raises(error, match=message):
        await rate_agency(session, actor="user:2:tenderer", **arguments)


async def test_a_rater_rates_an_agency_once_per_project_and_is_audited(session):
    await new_agency(session, "AG-820")
    rating = await rate_agency(session, actor="user:2:tenderer", code="AG-820", project_code="JN-2026-GC-0007",
                               score=75, comment=" 资料归档不及时 ", rater_role="tendering_party")
    assert (rating.rater, rating.comment) == ("user:2:tenderer", "资料归档不及时")
    with pytest.raises(Conflict, match="已评价过"):
        await rate_agency(session, actor="user:2:tenderer", code="AG-820", project_code="JN-2026-GC-0007",
                          score=90, comment="", rater_role="tendering_party")
    await rate_agency(session, actor="user:8:supervisor", code="AG-820", project_code="JN-2026-GC-0007",
                      score=70, comment="", rater_role="supervisor")
    assert await audit_actions(session, "agency:AG-820") == ["agency.registered", "agency.rated", "agency.rated"]
    assert (await rating_summary(session, "AG-820")).average == 72.5


# ---------------------------------------------------------------------- API and command line


async def demo_database(server_url: str, template_url: str, hint: str) -> str:
    """A database of its own (the API and the command line commit), with the demo city."""
    url = await create_database_from_template(server_url, template_url, hint)
    engine = make_engine(url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            await load_demo_data(session, pools=False)
    finally:
        await engine.dispose()
    return url


async def drop_database(server_url: str, url: str) -> None:
    await run_as_server_admin(server_url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


@pytest.fixture(scope="module")
async def client(server_url, template_url, settings) -> AsyncIterator[AsyncTestClient]:
    url = await demo_database(server_url, template_url, "agency_pool_api")
    async with AsyncTestClient(app=create_app(settings, url=url)) as test_client:
        yield test_client
    await drop_database(server_url, url)


async def bearer(client: AsyncTestClient, username: str) -> dict[str, str]:
    answer = await client.post("/api/auth/token", json={"username": username, "password": DEMO_PASSWORD})
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def upload(path: Path) -> dict:
    return {"file": (path.name, path.read_bytes(), "text/csv")}


async def test_the_api_imports_for_administrators_only_and_lists_for_everyone(client):
    anonymous = await client.post("/api/agencies/import", files=upload(SAMPLE))
    assert anonymous.status_code == 401
    tenderer = await client.post("/api/agencies/import", files=upload(SAMPLE), headers=await bearer(client, "tenderer"))
    assert tenderer.status_code == 403 and tenderer.json()["error"]["message"] == "您的角色无权执行此操作"

    admin = await bearer(client, "admin")
    rejected = await client.post("/api/agencies/import", files=upload(SAMPLE_WITH_ERRORS), headers=admin)
    assert rejected.status_code == 400
    error = rejected.json()["error"]
    assert error["code"] == "import_rejected"
    assert error["details"]["errors"] == [e.as_dict() for e in EXPECTED_REPORT]  # all of them, not the first five

    checked = await client.post("/api/agencies/import?dry_run=true", files=upload(SAMPLE), headers=admin)
    assert checked.status_code == 201 and checked.json()["dry_run"] is True
    assert (await client.get("/api/agencies")).json() == []

    imported = await client.post("/api/agencies/import", files=upload(SAMPLE), headers=admin)
    assert imported.status_code == 201, imported.text
    # The demo city's agency organisation is reused for AG-青山招标.
    assert imported.json()["registered"] == SAMPLE_CODES

    listed = await client.get("/api/agencies")
    assert listed.status_code == 200
    body = listed.json()
    assert [agency["code"] for agency in body] == SAMPLE_CODES
    assert body[-1] == {"code": "AG-青山招标", "name": "山东青山招标代理有限公司", "qualification_level": "甲级",
                        "categories": ["construction", "government_procurement"],
                        "category_names": ["工程建设", "政府采购"], "city": "370800", "city_name": "济宁市",
                        "status": "active", "status_name": "正常", "rating_average": None, "rating_count": 0}


async def test_the_api_exports_for_administrators_only(client):
    assert (await client.get("/api/agencies/export")).status_code == 401
    supervisor = await client.get("/api/agencies/export", headers=await bearer(client, "supervisor"))
    assert supervisor.status_code == 403
    admin = await bearer(client, "admin")
    for file_format in ("csv", "xlsx"):
        answer = await client.get(f"/api/agencies/export?format={file_format}", headers=admin)
        assert answer.status_code == 200
        assert f'filename="agencies.{file_format}"' in answer.headers["content-disposition"]
        assert read_rows(f"x.{file_format}", answer.content, EXPORT_COLUMNS) is not None
    unknown = await client.get("/api/agencies/export?format=pdf", headers=admin)
    assert unknown.status_code == 400 and "不支持的导出格式" in unknown.json()["error"]["message"]


@pytest.fixture(scope="module")
async def cli_env(server_url, template_url, settings) -> AsyncIterator[dict[str, str | None]]:
    url = await demo_database(server_url, template_url, "agency_pool_cli")
    yield {"DATABASE_URL": url, "TRADING_VAR_DIR": str(settings.var_dir), "TRADING_SIGNING_KEY": None,
           "TRADING_KEK": None}
    await drop_database(server_url, url)


async def run_cli(env, *args: str):
    return await anyio.to_thread.run_sync(invoke_cli, list(args), env)


async def test_the_command_line_prints_the_full_report_and_exits_non_zero(cli_env):
    result = await run_cli(cli_env, "agencies", "import", str(SAMPLE_WITH_ERRORS))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines[0] == "导入未执行：文件 agencies-with-errors.csv 中有 11 处错误："
    assert [line.strip() for line in lines[1:]] == [error.describe() for error in EXPECTED_REPORT]


async def test_the_command_line_dry_run_imports_and_exports(cli_env, tmp_path):
    checked = await run_cli(cli_env, "agencies", "import", "--dry-run", str(SAMPLE))
    assert checked.exit_code == 0, checked.output
    assert "试运行" in checked.output and "新入库 10 家" in checked.output
    exported = tmp_path / "pool.csv"
    empty = await run_cli(cli_env, "agencies", "export", str(exported))
    assert empty.exit_code == 0 and len(exported.read_bytes().decode("utf-8-sig").splitlines()) == 1

    imported = await run_cli(cli_env, "agencies", "import", str(SAMPLE))
    assert imported.exit_code == 0, imported.output
    assert "导入完成" in imported.output and "AG-青山招标" in imported.output
    again = await run_cli(cli_env, "agencies", "import", str(SAMPLE))
    assert again.exit_code == 0 and "无变化 10 家" in again.output

    workbook = tmp_path / "pool.xlsx"
    result = await run_cli(cli_env, "agencies", "export", str(workbook))
    assert result.exit_code == 0, result.output
    assert [row.values["机构编号"] for row in read_rows("pool.xlsx", workbook.read_bytes(), EXPORT_COLUMNS)] == SAMPLE_CODES
    bad = await run_cli(cli_env, "agencies", "export", str(tmp_path / "pool.pdf"))
    assert bad.exit_code == 1 and bad.output.strip() == "错误：不支持的导出格式「pdf」：应为 csv 或 xlsx"
