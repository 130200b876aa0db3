"""Public statistics on known tenders: volume and amount per category and month, the savings
rate of construction and procurement, the premium rate of a land deal over its reserve,
bids per tender and the failed tender with its reason; filters, CSV for Excel, and rate
arithmetic that agrees with a plain exact computation for any amounts."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bidding.reading import statistics as stats
from bidding.tender.lifecycle import apply_transition
from bidding.tender.projects import Project
from cli.demo import PROJECTS, load_demo_data
from tests.common import award_world as world
from tests.common.award_world import award
from trading.database import make_sessionmaker, transaction
from trading.errors import InvalidInput
from trading.settings import Settings
from web.app import create_app

ESTIMATE = 500_000_000  # every tender of tests.common.award_world is registered with 5,000,000.00 yuan
FAIL_REASON = "两家投标被评标委员会否决，有效投标不足三家"


@dataclass
class World:
    works: str  # construction, awarded at 4,500,000.00: savings 10 %
    goods: str  # procurement, awarded at 4,200,000.00: savings 16 %
    failed: str  # construction, failed in evaluation
    land: str  # a land deal (re-labelled), sold at 5,500,000.00 over a 5,000,000.00 reserve: premium 10 %
    month: str


@pytest.fixture(scope="module")
async def known(engine: AsyncEngine, keys) -> World:
    async with transaction(make_sessionmaker(engine)) as session:
        await load_demo_data(session, pools=False)
        works = await award(session, keys, [450_000_000, 470_000_000, 480_000_000])
        goods = await award(session, keys, [420_000_000, 430_000_000, 440_000_000], kind=world.PROCUREMENT)
        failing = await world.tender_in_evaluation(session, keys, [100_000_000, 200_000_000, 300_000_000])
        await apply_transition(session, actor="test", project_code=failing.code, action="fail",
                               facts={"valid_bids": 1, "reason": FAIL_REASON})
        land = await award(session, keys, [550_000_000, 560_000_000, 570_000_000])
        # No land rule set ships yet: the awarded tender stands for a land deal, its estimate the reserve.
        await session.execute(update(Project).where(Project.code == land).values(category="land_mining"))
        month = await session.scalar(select(func.to_char(func.timezone(stats.ZONE, func.now()), "YYYY-MM")))
    return World(works, goods, failing.code, land, month)


EVERYTHING = stats.StatsFilter()


async def test_volume_counts_registrations_and_awards_per_category_and_month(known, session):
    rows = {(row.month, row.category): row for row in await stats.volume_by_month(session, EVERYTHING)}
    demo_construction = sum(estimate for _, _, category, *_, estimate in PROJECTS if category == "construction")
    demo_procurement = sum(estimate for _, _, category, *_, estimate in PROJECTS if category == "government_procurement")
    construction = rows[(known.month, "construction")]
    assert (construction.registered, construction.estimate_fen) == (4, demo_construction + 2 * ESTIMATE)
    assert (construction.awarded, construction.award_fen) == (1, 450_000_000)
    procurement = rows[(known.month, "government_procurement")]
    assert (procurement.registered, procurement.estimate_fen) == (2, demo_procurement + ESTIMATE)
    assert (procurement.awarded, procurement.award_fen) == (1, 420_000_000)
    land = rows[(known.month, "land_mining")]
    assert (land.registered, land.awarded, land.award_fen) == (1, 1, 550_000_000)
    assert [row.category for row in await stats.volume_by_month(session, stats.StatsFilter(category="land_mining"))] \
        == ["land_mining"]


async def test_the_savings_rate_compares_budgets_with_award_prices_exactly(known, session):
    table = await stats.savings_table(session, EVERYTHING)
    assert [(t.code, t.savings) for t in table.tenders] == [(known.works, Fraction(1, 10)),
                                                          (known.goods, Fraction(16, 100))]
    by_category = {group.category: group for group in table.groups}
    assert by_category["construction"].savings == Fraction(1, 10)
    assert by_category["government_procurement"].savings == Fraction(4, 25)
    total = by_category[""]  # (10,000,000.00 − 8,700,000.00) ÷ 10,000,000.00
    assert (total.base_fen, total.award_fen, total.savings) == (2 * ESTIMATE, 870_000_000, Fraction(13, 100))
    assert stats.percent_text(total.savings) == "13.00%"


async def test_the_premium_rate_of_a_land_deal_is_over_its_reserve_and_absent_data_is_said_plainly(known, session):
    table = await stats.premium_table(session, EVERYTHING)
    [tender] = table.tenders
    assert (tender.code, tender.base_fen, tender.award_fen, tender.premium) == (
        known.land, ESTIMATE, 550_000_000, Fraction(1, 10))
    assert (await stats.premium_table(session, stats.StatsFilter(category="state_property"))).empty
    assert known.land not in [t.code for t in (await stats.savings_table(session, EVERYTHING)).tenders]


async def test_bids_per_tender_and_failed_tenders_count_the_opened_tenders(known, session):
    rows = {row.category: row for row in await stats.bids_per_tender(session, EVERYTHING)}
    assert (rows["construction"].tenders, rows["construction"].bids, rows["construction"].average) == (2, 6, 3)
    assert (rows[""].tenders, rows[""].bids, rows[""].average_text) == (4, 12, "3.00")
    failures = await stats.failed_tenders(session, EVERYTHING)
    groups = {row.category: row for row in failures.groups}
    assert (groups["construction"].opened, groups["construction"].failed, groups["construction"].rate) == (
        2, 1, Fraction(1, 2))
    assert groups[""].rate == Fraction(1, 4)
    [failed] = failures.tenders
    assert (failed.code, failed.valid_bids, failed.reason) == (known.failed, 1, FAIL_REASON)


async def test_filters_narrow_by_date_category_and_region(known, session):
    this_year = int(known.month[:4])
    assert (await stats.savings_table(session, stats.stats_filter(year=str(this_year)))).tenders
    assert not (await stats.savings_table(session, stats.stats_filter(year=str(this_year - 1)))).tenders
    assert (await stats.savings_table(session, stats.stats_filter(region="370000"))).tenders  # Shandong: Jining in it
    assert not (await stats.savings_table(session, stats.stats_filter(region="110000"))).tenders
    only = await stats.savings_table(session, stats.stats_filter(category="government_procurement"))
    assert [t.code for t in only.tenders] == [known.goods]
    with pytest.raises(InvalidInput) as backwards:
        stats.stats_filter(date_from="2026-05-01", date_to="2026-04-30")
    assert backwards.value.details["field"] == "date_to" and "不能早于" in backwards.value.message
    with pytest.raises(InvalidInput) as bad_year:
        stats.stats_filter(year="26")
    assert bad_year.value.details["field"] == "year"


# ----------------------------------------------------------------------------- the page


@pytest.fixture(scope="module")
async def client(known, settings: Settings, database_url: str) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


async def test_the_public_page_shows_every_table_with_its_chart_data_and_csv(client, known):
    page = await client.get("/stats")
    assert page.status_code == 200
    for title in ("交易量和交易额", "节资率（按类别）", "溢价率（土地和矿业权、国有产权）（按项目）", "投标家数（按类别）",
                  "流标情况（按类别）", "流标项目"):
        assert title in page.text
    assert 'data-value="3.00"' in page.text  # bids per tender
    assert 'data-value="13.00"' in page.text and "13.00%" in page.text and FAIL_REASON in page.text
    assert "data-chart=" in page.text and "/vendor/echarts/echarts.min.js" in page.text and "<noscript>" in page.text
    assert (await client.get("/vendor/echarts/echarts.min.js")).status_code == 200
    assert (await client.get("/static/stats.js")).status_code == 200

    exported = await client.get("/stats/export/savings", params={"category": "construction"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert exported.content.startswith("\ufeff".encode()) and "attachment" in exported.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["交易类别", "项目数"] and rows[1][0] == "工程建设"
    assert rows[1][1:6] == ["1", "5000000.00", "4500000.00", "500000.00", "10.00"]
    assert (await client.get("/stats/export/nothing")).status_code == 404


async def test_a_bad_filter_is_refused_beside_the_field_and_kept(client, known):
    page = await client.get("/stats", params={"date_from": "2026-05-01", "date_to": "2026-04-30", "category": "land_mining"})
    assert page.status_code == 400
    assert '<p class="field-error" id="e-date_to">截止日期不能早于起始日期</p>' in page.text
    assert 'value="2026-05-01"' in page.text and 'value="land_mining" selected' in page.text
    procurement = await client.get("/stats", params={"category": "government_procurement", "year": known.month[:4]})
    assert procurement.status_code == 200 and known.goods in procurement.text and known.works not in procurement.text
    premium = await client.get("/stats", params={"category": "state_property"})
    assert "暂无溢价率可计算" in premium.text


# ----------------------------------------------------------------------------- arithmetic

AMOUNTS = st.integers(min_value=1, max_value=10**15)  # fen: up to ten trillion yuan


@given(st.lists(st.tuples(AMOUNTS, st.integers(min_value=0, max_value=10**15)), min_size=1, max_size=20))
def test_the_savings_rate_agrees_with_a_plain_exact_computation(pairs):
    budget = sum(b for b, _ in pairs)
    award = sum(a for _, a in pairs)
    expected = Fraction(budget - award, budget)
    assert stats.aggregate_savings(pairs) == expected
    # The shown percentage: half up to two decimals, as decimal arithmetic with ample precision rounds it.
    with localcontext() as context:
        context.prec = 80
        reference = (Decimal(budget - award) * 100 / Decimal(budget)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    reference = abs(reference) if reference == 0 else reference  # a tiny loss rounds to 0.00%, not -0.00%
    assert stats.percent_text(expected) == f"{reference}%"


@given(AMOUNTS, st.integers(min_value=0, max_value=10**15))
def test_a_premium_is_the_negative_of_a_saving(reserve, award):
    assert stats.premium_rate(reserve, award) == -stats.savings_rate(reserve, award)


def test_halves_round_away_from_zero():
    assert stats.percent_text(Fraction(1, 800)) == "0.13%"  # 0.125 %
    assert stats.percent_text(Fraction(-1, 800)) == "-0.13%"
    assert stats.percent_text(None) == "—"
    assert stats.decimal_text(Fraction(5, 2), 0) == "3"
