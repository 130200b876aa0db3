"""Public statistics (交易统计, /stats): tables first, charts drawn from them.

Every table is built once (:func:`build_tables`) as rows of cells holding the text shown
and, for numbers, a plain value: the page renders the table (the primary content, complete
without JavaScript), ``/static/stats.js`` draws each chart with ECharts from the cells'
``data-value``, and ``/stats/{table}.csv`` writes the same rows as UTF-8 with a BOM so
Excel opens the Chinese correctly.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from litestar import Controller, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import Parameter
from litestar.response import Template
from litestar.status_codes import HTTP_400_BAD_REQUEST
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.reading import statistics as stats
from trading.errors import InvalidInput
from trading.money import yuan
from trading.spreadsheets import csv_cell
from trading.rules.store import TRADING_CATEGORIES
from web.core.forms import FormState

BOM = "\ufeff"


@dataclass
class Cell:
    text: str
    value: str | None = None  # a plain number for charts and CSV (yuan with two decimals, percent, count)


@dataclass
class Table:
    key: str
    title: str
    basis: str  # what is counted and by which date
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    total_rows: int = 0  # the last rows that are totals (not charted)
    chart: dict[str, Any] | None = None
    empty: str = "所选范围内没有进场或成交的项目。"

    @property
    def chart_json(self) -> str:
        return json.dumps(self.chart, ensure_ascii=False) if self.chart else ""


def count(n: int) -> Cell:
    return Cell(str(n), str(n))


def money(fen: int) -> Cell:
    return Cell(yuan(fen), yuan(fen).replace(",", ""))


def rate(value: Fraction | None) -> Cell:
    if value is None:
        return Cell("—")
    return Cell(stats.percent_text(value), stats.decimal_text(value * 100))


def average(value: Fraction | None) -> Cell:
    return Cell("—") if value is None else Cell(stats.decimal_text(value), stats.decimal_text(value))


def rate_tables(key: str, title: str, table: stats.RateTable, *, premium: bool) -> list[Table]:
    label = "溢价率" if premium else "节资率"
    base = "起始价/底价" if premium else "预算/估算金额"
    formula = ("溢价率 =（成交价合计 − 起始价/底价合计）÷ 起始价/底价合计，起始价/底价取项目进场登记的金额" if premium
               else "节资率 =（预算/估算合计 − 成交价合计）÷ 预算/估算合计")
    summary = Table(
        key, f"{title}（按类别）",
        f"按中标通知书发出日期统计已定标项目。{formula}；无{base}的项目不计入，单列其数。{stats.ROUNDING_NOTE}",
        ["交易类别", "项目数", f"{base}合计（元）", "成交价合计（元）",
         "溢价金额（元）" if premium else "节约金额（元）", f"{label}（%）", f"无{base}未计入"],
        chart={"type": "bar", "x": 0, "series": [5], "names": [label], "unit": "%"},
        empty=("所选范围内没有土地和矿业权、国有产权的成交记录，暂无溢价率可计算（溢价率须有成交价和起始价/底价）。"
               if premium else "所选范围内没有已定标的工程建设、政府采购项目，暂无节资率可计算。"))
    for group in table.groups:
        difference = group.difference_fen if premium else -group.difference_fen
        summary.rows.append([Cell(group.category_name), count(group.tenders), money(group.base_fen),
                             money(group.award_fen), money(difference),
                             rate(group.premium if premium else group.savings), count(group.without_base)])
    summary.total_rows = 1 if table.groups else 0
    detail = Table(
        f"{key}_tenders", f"{title}（按项目）", f"每个已定标项目的{base}、成交价和{label}。{stats.ROUNDING_NOTE}",
        ["项目编号", "项目名称", "交易类别", "定标日期", f"{base}（元）", "成交价（元）", f"{label}（%）"],
        empty=summary.empty)
    for tender in table.tenders:
        detail.rows.append([Cell(tender.code), Cell(tender.title), Cell(tender.category_name),
                            Cell(tender.awarded_on.isoformat()), money(tender.base_fen), money(tender.award_fen),
                            rate(tender.premium if premium else tender.savings)])
    return [summary, detail]


async def build_tables(session: AsyncSession, chosen: stats.StatsFilter) -> list[Table]:
    volume = Table(
        "volume", "交易量和交易额（按月、按类别）",
        "进场项目数和预算/估算金额按项目进场登记日期统计；成交项目数和成交金额按中标通知书发出日期统计。",
        ["月份", "交易类别", "进场项目数", "预算/估算金额（元）", "成交项目数", "成交金额（元）"],
        chart={"type": "bar", "x": 0, "group": 1, "series": [2, 4], "names": ["进场项目数", "成交项目数"],
               "unit": "个"})
    for row in await stats.volume_by_month(session, chosen):
        volume.rows.append([Cell(row.month), Cell(row.category_name), count(row.registered), money(row.estimate_fen),
                            count(row.awarded), money(row.award_fen)])
    tables = [volume]
    tables += rate_tables("savings", "节资率", await stats.savings_table(session, chosen), premium=False)
    tables += rate_tables("premium", "溢价率（土地和矿业权、国有产权）", await stats.premium_table(session, chosen),
                          premium=True)
    bids = Table(
        "bids", "投标家数（按类别）",
        f"按投标截止（开标）日期统计已开标项目；投标家数为截止时有效递交的投标文件数（撤回的不计）。{stats.ROUNDING_NOTE}",
        ["交易类别", "开标项目数", "投标文件数", "平均每项目投标家数", "最少", "最多"],
        chart={"type": "bar", "x": 0, "series": [3], "names": ["平均每项目投标家数"], "unit": "家"},
        empty="所选范围内没有已开标的项目。")
    rows = await stats.bids_per_tender(session, chosen)
    for row in rows:
        bids.rows.append([Cell(row.category_name), count(row.tenders), count(row.bids), average(row.average),
                          count(row.fewest), count(row.most)])
    bids.total_rows = 1 if rows else 0
    failures = await stats.failed_tenders(session, chosen)
    failed = Table(
        "failed", "流标情况（按类别）",
        f"按投标截止（开标）日期统计已开标项目；流标率 = 流标项目数 ÷ 开标项目数。{stats.ROUNDING_NOTE}",
        ["交易类别", "开标项目数", "流标项目数", "流标率（%）"],
        chart={"type": "bar", "x": 0, "series": [3], "names": ["流标率"], "unit": "%"},
        empty="所选范围内没有已开标的项目。")
    for group in failures.groups:
        failed.rows.append([Cell(group.category_name), count(group.opened), count(group.failed), rate(group.rate)])
    failed.total_rows = 1 if failures.groups else 0
    failed_list = Table(
        "failed_tenders", "流标项目", "每个流标项目的开标日期、有效投标数和流标原因（开标或评标时记录）。",
        ["项目编号", "项目名称", "交易类别", "开标日期", "有效投标数", "流标原因"], empty="所选范围内没有流标项目。")
    for tender in failures.tenders:
        failed_list.rows.append([Cell(tender.code), Cell(tender.title), Cell(tender.category_name),
                                 Cell(tender.opened_on.isoformat()),
                                 count(tender.valid_bids) if tender.valid_bids is not None else Cell("—"),
                                 Cell(tender.reason)])
    return tables + [bids, failed, failed_list]


TABLE_KEYS = ("volume", "savings", "savings_tenders", "premium", "premium_tenders", "bids", "failed", "failed_tenders")


def csv_bytes(table: Table) -> bytes:
    """The table as CSV: UTF-8 with a byte-order mark; numbers plain (no thousands separators)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([csv_cell(cell.value if cell.value is not None else cell.text) for cell in row])
    return (BOM + out.getvalue()).encode("utf-8")


def _filter_of(form: FormState) -> stats.StatsFilter | None:
    try:
        return stats.stats_filter(**form.values)
    except InvalidInput as exc:
        form.refuse(exc)
        return None


Query = Annotated[str, Parameter(max_length=40)]


class StatsPageController(Controller):
    path = "/stats"
    include_in_schema = False

    @get("/", name="stats.index")
    async def index(self, session: AsyncSession, year: Query = "", date_from: Query = "", date_to: Query = "",
                    category: Query = "", region: Query = "") -> Template:
        """交易统计: the tables (and their charts) under the filters asked for."""
        form = FormState.of({"year": year, "date_from": date_from, "date_to": date_to, "category": category,
                             "region": region})
        chosen = _filter_of(form)
        tables = await build_tables(session, chosen) if chosen is not None else []
        return Template("stats/index.html", status_code=200 if form.ok else HTTP_400_BAD_REQUEST, context={
            "form": form, "tables": tables, "query": urlencode(chosen.as_query()) if chosen else "",
            "years": [(str(y), f"{y}年") for y in await stats.year_choices(session)],
            "categories": list(TRADING_CATEGORIES.items()),
            "regions": [(code, f"{name}（{code}）") for code, name in await stats.region_choices(session)]})

    @get("/export/{key:str}", name="stats.csv")
    async def csv_file(self, key: str, session: AsyncSession, year: Query = "", date_from: Query = "",
                       date_to: Query = "", category: Query = "", region: Query = "") -> Response[bytes]:
        if key not in TABLE_KEYS:
            raise NotFoundException("没有这张统计表")
        form = FormState.of({"year": year, "date_from": date_from, "date_to": date_to, "category": category,
                             "region": region})
        chosen = _filter_of(form)
        if chosen is None:
            raise InvalidInput("；".join([*form.general, *form.errors.values()]), code="invalid_form")
        table = next(t for t in await build_tables(session, chosen) if t.key == key)
        name = f"交易统计-{table.title}.csv"
        return Response(csv_bytes(table), media_type="text/csv", headers={
            "Content-Disposition": f"attachment; filename=\"{key}.csv\"; filename*=UTF-8''{quote(name)}"})
