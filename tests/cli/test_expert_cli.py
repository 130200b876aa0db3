"""`trading experts`: import with its per-row report, export, and the review list."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from expert_pool.imports import EXPORT_COLUMNS
from expert_pool.models import Expert
from expert_pool.specialties import sync_specialties
from tests.common.expert_samples import EXPECTED_ERRORS, SAMPLE, WITH_ERRORS, sample_rows
from trading.database import make_sessionmaker, transaction
from trading.identifiers import mask_id_number
from trading.spreadsheets import read_rows


@pytest.fixture(scope="module", autouse=True)
async def taxonomy(engine: AsyncEngine) -> None:
    async with transaction(make_sessionmaker(engine)) as session:
        await sync_specialties(session)


async def expert_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(select(func.count()).select_from(Expert))


async def test_the_cli_imports_all_or_nothing_and_exports(cli, engine, tmp_path: Path):
    rejected = await cli("experts", "import", str(WITH_ERRORS))
    assert rejected.exit_code == 1
    for row, column, reason in EXPECTED_ERRORS:
        assert any(line.startswith(f"第 {row} 行「{column}」：") and reason in line
                   for line in rejected.output.splitlines()), (row, column)
    assert "导入未执行" in rejected.output and "Traceback" not in rejected.output
    assert await expert_count(engine) == 0

    checked = await cli("experts", "import", "--dry-run", str(SAMPLE))
    assert checked.exit_code == 0, checked.output
    assert "第 2 行：校验通过 王建国" in checked.output and "试运行" in checked.output
    assert await expert_count(engine) == 0

    imported = await cli("experts", "import", str(SAMPLE))
    assert imported.exit_code == 0, imported.output
    assert f"已导入 {len(sample_rows())} 名专家" in imported.output
    assert "第 2 行：已导入 EXP" in imported.output
    assert await expert_count(engine) == len(sample_rows())

    again = await cli("experts", "import", str(SAMPLE))
    assert again.exit_code == 1 and "已在库中" in again.output

    full, masked = tmp_path / "full.xlsx", tmp_path / "masked.csv"
    assert (await cli("experts", "export", str(full))).exit_code == 0
    exported = await cli("experts", "export", "--masked", str(masked))
    assert exported.exit_code == 0 and "已脱敏" in exported.output
    first = sample_rows()[0]["身份证号码"]
    assert read_rows(full.name, full.read_bytes(), EXPORT_COLUMNS)[0].values["身份证号码"] == first
    assert read_rows(masked.name, masked.read_bytes(), EXPORT_COLUMNS)[0].values["身份证号码"] == mask_id_number(first)


async def test_the_review_list_on_a_date(cli):
    if (await cli("experts", "review-due", "--date", "2030-01-01")).output.startswith("没有"):
        assert (await cli("experts", "import", str(SAMPLE))).exit_code == 0
    later = await cli("experts", "review-due", "--date", "2030-01-01")
    assert later.exit_code == 0, later.output
    assert f"共 {len(sample_rows())} 名专家，其中逾期 {len(sample_rows())} 名" in later.output
    assert "马超  应审定日期 2027-03-31  已逾期 1007 天" in later.output
    quiet = await cli("experts", "review-due", "--date", "2026-11-22")
    assert quiet.exit_code == 0 and "没有到期或逾期待审定的专家" in quiet.output


async def test_a_bad_file_is_one_clear_line(cli, tmp_path: Path):
    bad = tmp_path / "experts.txt"
    bad.write_text("x", encoding="utf-8")
    result = await cli("experts", "import", str(bad))
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == ["错误：不支持的文件类型「experts.txt」：请上传 .csv 或 .xlsx 文件"]
