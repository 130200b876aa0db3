"""Bulk import and export of experts: the sample files, the error report, all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from expert_pool.experts import describe_experts, get_expert
from expert_pool.imports import EXPORT_COLUMNS, REQUIRED_COLUMNS, export_experts, import_experts
from expert_pool.models import Expert
from expert_pool.specialties import sync_specialties
from tests.common import factories
from tests.common.expert_samples import EXPECTED_ERRORS, SAMPLE, WITH_ERRORS, sample_rows
from trading.audit import AuditEntry
from trading.database import make_sessionmaker, transaction
from trading.errors import InvalidInput
from trading.identifiers import mask_id_number, validate_credit_code, validate_id_number
from trading.organisations import register_organisation
from trading.spreadsheets import ImportRejected, read_rows, write_rows

@pytest.fixture(scope="module", autouse=True)
async def taxonomy(engine: AsyncEngine) -> None:
    async with transaction(make_sessionmaker(engine)) as session:
        await sync_specialties(session)


async def expert_count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Expert))


async def import_file(session: AsyncSession, path: Path, **kwargs):
    return await import_experts(session, actor="test", filename=path.name, data=path.read_bytes(), **kwargs)


def test_the_sample_file_is_valid_data():
    rows = sample_rows()
    assert 25 <= len(rows) <= 40
    assert len({row["身份证号码"] for row in rows}) == len(rows)
    for row in rows:
        assert validate_id_number(row["身份证号码"]) == row["身份证号码"]
        assert validate_credit_code(row["工作单位统一社会信用代码"]) == row["工作单位统一社会信用代码"]
    assert len({row["工作单位统一社会信用代码"] for row in rows}) >= 5
    assert len({row["专业代码"].split(";")[0][:3] for row in rows}) >= 5  # several level-1 specialties


async def test_the_sample_file_imports_every_expert(session):
    jining_college = await register_organisation(session, actor="test", credit_code="12370800MB2345678H",
                                                 name="济宁学院", roles=["expert_employer"],
                                                 region_code=(await factories.region(session)).code)
    result = await import_file(session, SAMPLE)
    rows = sample_rows()
    assert result.count == len(rows) == await expert_count(session)
    assert [row.row for row in result.rows] == list(range(2, len(rows) + 2))
    first = await get_expert(session, result.rows[0].code)
    assert (first.name, first.id_number, first.title, first.years_in_field) == (
        "王建国", rows[0]["身份证号码"], "正高级", 30)
    assert first.employer_id == jining_college.id
    [described] = await describe_experts(session, [first], masked=False)
    assert described["specialties"] == ["A080104", "A080105"]
    chen = await get_expert(session, result.rows[4].code)
    assert chen.next_review_due.isoformat() == "2027-06-30"
    summary = await session.scalar(select(AuditEntry).where(AuditEntry.action == "experts.imported"))
    assert summary.data["count"] == len(rows) and summary.data["file"] == "experts.csv"
    imported = await session.scalar(select(func.count()).select_from(AuditEntry)
                                    .where(AuditEntry.action == "expert.imported"))
    assert imported == len(rows)


async def test_the_same_file_as_xlsx_imports_the_same_way(session):
    rows = sample_rows()
    columns = list(rows[0])
    xlsx = write_rows("experts.xlsx", columns, [[row[column] for column in columns] for row in rows])
    result = await import_experts(session, actor="test", filename="experts.xlsx", data=xlsx)
    assert result.count == len(rows)
    names = (await session.scalars(select(Expert.name).order_by(Expert.code))).all()
    assert list(names) == [row["姓名"] for row in rows]


async def test_the_error_file_is_reported_cell_by_cell_and_nothing_is_imported(session):
    with pytest.raises(ImportRejected) as caught:
        await import_file(session, WITH_ERRORS)
    report = caught.value.errors
    assert [(error.row, error.column) for error in report] == [(row, column) for row, column, _ in EXPECTED_ERRORS]
    for error, (_, _, reason) in zip(report, EXPECTED_ERRORS):
        assert reason in error.reason
    assert caught.value.details["errors"][0] == {"row": 3, "column": "身份证号码",
                                                 "reason": report[0].reason}
    assert "导入未执行" in caught.value.message
    for row in read_rows(WITH_ERRORS.name, WITH_ERRORS.read_bytes(), REQUIRED_COLUMNS):
        assert row.values["身份证号码"] not in " ".join(error.reason for error in report)
    assert await expert_count(session) == 0
    assert await session.scalar(select(func.count()).select_from(AuditEntry)
                                .where(AuditEntry.action.like("expert%"))) == 0


async def test_an_import_of_experts_already_in_the_pool_is_refused_whole(session):
    await import_file(session, SAMPLE)
    before = await expert_count(session)
    with pytest.raises(ImportRejected) as caught:
        await import_file(session, SAMPLE)
    assert len(caught.value.errors) == len(sample_rows())
    first = caught.value.errors[0]
    assert (first.row, first.column) == (2, "身份证号码")
    assert f"{mask_id_number(sample_rows()[0]['身份证号码'])} 的专家已在库中（EXP" in first.reason
    assert await expert_count(session) == before


async def test_a_dry_run_checks_everything_and_writes_nothing(session):
    result = await import_file(session, SAMPLE, dry_run=True)
    assert result.dry_run and result.count == len(sample_rows())
    assert all(row.code is None for row in result.rows)
    assert await expert_count(session) == 0
    with pytest.raises(ImportRejected):
        await import_file(session, WITH_ERRORS, dry_run=True)


async def test_a_missing_column_is_named(session):
    text = SAMPLE.read_text(encoding="utf-8").replace("联系电话", "电话", 1)
    with pytest.raises(ImportRejected) as caught:
        await import_experts(session, actor="test", filename="experts.csv", data=text.encode())
    assert [(error.row, error.column, error.reason) for error in caught.value.errors] == [(1, "联系电话", "表头缺少此列")]


async def test_a_file_with_only_a_header_or_of_another_type_is_refused(session):
    with pytest.raises(InvalidInput, match="没有专家数据"):
        await import_experts(session, actor="test", filename="experts.csv", data=",".join(REQUIRED_COLUMNS).encode())
    with pytest.raises(InvalidInput, match=".csv 或 .xlsx"):
        await import_experts(session, actor="test", filename="experts.txt", data=SAMPLE.read_bytes())


async def test_a_gb18030_csv_from_excel_imports(session):
    data = SAMPLE.read_text(encoding="utf-8").encode("gb18030")
    result = await import_experts(session, actor="test", filename="专家.csv", data=data)
    assert result.count == len(sample_rows())


async def test_the_full_export_gives_back_what_was_imported(session):
    await import_file(session, SAMPLE)
    content = await export_experts(session, actor="test", filename="experts.csv", masked=False)
    exported = read_rows("experts.csv", content, EXPORT_COLUMNS)
    originals = sample_rows()
    assert len(exported) == len(originals)
    for row, original in zip(exported, originals):
        for column in REQUIRED_COLUMNS + ("工作单位名称",):
            if column == "专业代码":  # listed in code order
                assert row.values[column] == ";".join(sorted(original[column].split(";")))
            else:
                assert row.values[column] == original[column], column
        assert row.values["专家编号"].startswith("EXP") and row.values["状态"] == "在库"
    entry = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "experts.exported"))).one()
    assert entry.data == {"file": "experts.csv", "masked": False, "count": len(originals)}


async def test_the_masked_export_hides_id_and_phone_numbers(session):
    await import_file(session, SAMPLE)
    for filename in ("experts.csv", "experts.xlsx"):
        content = await export_experts(session, actor="test", filename=filename, masked=True)
        exported = read_rows(filename, content, EXPORT_COLUMNS)
        for row, original in zip(exported, sample_rows()):
            assert row.values["身份证号码"] == mask_id_number(original["身份证号码"])
            assert row.values["联系电话"] == original["联系电话"][:3] + "****" + original["联系电话"][-4:]
            assert row.values["姓名"] == original["姓名"]
    with pytest.raises(InvalidInput):
        await export_experts(session, actor="test", filename="experts.pdf", masked=True)


async def test_a_failing_statement_never_shows_the_personal_numbers_it_carried(session):
    """A database error is logged and may be printed: its text must not carry the values
    (here an ID-card number), only the statement."""
    from sqlalchemy import text as sql
    from sqlalchemy.exc import DBAPIError

    id_number = "370802199001011234"
    await session.execute(sql("CREATE TEMPORARY TABLE too_short (id_number varchar(4))"))
    with pytest.raises(DBAPIError) as caught:
        async with session.begin_nested():
            await session.execute(sql("INSERT INTO too_short VALUES (:id)"), {"id": id_number})
    assert "too long" in str(caught.value) and id_number not in str(caught.value)


def expert_rows(count: int) -> list[list[str]]:
    """``count`` valid experts in the columns of REQUIRED_COLUMNS, employed by a hundred organisations."""
    return [[f"专家{chr(0x4E00 + i % 2000)}", factories.id_number(i), factories.credit_code(1 + i % 100), "A080104;A080105",
             "中级", str(i % 40), "370800", f"139{i:08d}"] for i in range(count)]


async def test_45000_experts_import_in_one_go_below_the_50000_row_limit(session):
    """One lookup per kind, not one bind parameter per row (asyncpg takes at most 32,767)."""
    data = write_rows("experts.csv", REQUIRED_COLUMNS, expert_rows(45_000))
    result = await import_experts(session, actor="test", filename="experts.csv", data=data)
    assert result.count == 45_000 == await expert_count(session)
    last = await get_expert(session, result.rows[-1].code)
    assert (last.id_number, result.rows[-1].row) == (factories.id_number(44_999), 45_001)
    [described] = await describe_experts(session, [last], masked=False)
    assert described["specialties"] == ["A080104", "A080105"]
    assert await session.scalar(select(func.count()).select_from(AuditEntry)
                                .where(AuditEntry.action == "expert.imported")) == 45_000


async def test_an_over_long_employer_name_is_a_row_error_not_a_database_failure(session):
    columns = [*REQUIRED_COLUMNS, "工作单位名称"]
    rows = [row + [name] for row, name in zip(expert_rows(3), ["济宁学院", "某" * 201, "某" * 200])]
    with pytest.raises(ImportRejected) as caught:
        await import_experts(session, actor="test", filename="experts.csv", data=write_rows("e.csv", columns, rows))
    assert [(error.row, error.column, error.reason) for error in caught.value.errors] == [
        (3, "工作单位名称", "工作单位名称过长：最多200个字符，实为201个")]


@pytest.mark.parametrize("due", ["0001-01-01", "1899-12-31", "9999-12-31", "2100-01-01"])
async def test_an_implausible_review_date_is_refused_for_its_row(session, due):
    columns = [*REQUIRED_COLUMNS, "下次审定日期"]
    rows = [row + [day] for row, day in zip(expert_rows(2), ["2027-06-30", due])]
    with pytest.raises(ImportRejected) as caught:
        await import_experts(session, actor="test", filename="experts.csv", data=write_rows("e.csv", columns, rows))
    [error] = caught.value.errors
    assert (error.row, error.column) == (3, "下次审定日期") and "不合理" in error.reason and due in error.reason
