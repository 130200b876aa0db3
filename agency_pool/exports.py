"""Export of the pool as CSV or XLSX, in the import's columns (so an export, edited,
imports back) followed by status and rating columns the import ignores."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from agency_pool.imports import IMPORT_COLUMNS
from agency_pool.listing import list_agencies
from trading.errors import InvalidInput
from trading.spreadsheets import write_rows

EXPORT_COLUMNS = (*IMPORT_COLUMNS, "状态", "状态原因", "近期平均评分", "评分次数")
EXPORT_FORMATS = ("csv", "xlsx")


async def export_agencies(session: AsyncSession, *, file_format: str) -> bytes:
    """Every agency of the pool, ordered by public code, as ``csv`` or ``xlsx`` bytes."""
    if file_format not in EXPORT_FORMATS:
        raise InvalidInput(f"不支持的导出格式「{file_format}」：应为 csv 或 xlsx",
                           code="unsupported_file_type", field="format", found=file_format)
    rows = [
        (agency.code, agency.credit_code, agency.name, agency.qualification_level, "、".join(agency.category_names),
         agency.city, agency.status_name, agency.status_reason or "",
         "" if agency.rating_average is None else agency.rating_average, agency.rating_count)
        for agency in await list_agencies(session)
    ]
    return write_rows(f"agencies.{file_format}", EXPORT_COLUMNS, rows)
