"""Browser: the public statistics page draws its charts from its tables, and finance staff
work the ledger pages (real Chromium against `trading serve --demo`)."""

from __future__ import annotations

from tests.conftest import log_in_page

HEADER = "交易流水号,付款账号,付款户名,金额（元）,附言,到账日期"


async def test_the_statistics_page_draws_a_chart_from_its_table(portal, page):
    await page.goto(portal.url + "/stats")
    assert await page.locator("h1").first.inner_text() == "交易统计"
    volume = page.locator("#data-volume")
    assert await volume.locator("tbody tr").count() >= 1  # the demo projects registered this month
    # ECharts (served locally) draws into the box above the table: a canvas appears.
    await page.locator("#chart-volume canvas").first.wait_for(state="attached")
    assert await page.locator("#chart-volume").get_attribute("class") == "stats-chart drawn"
    # Its tooltip too is drawn under the pages' style policy (no inline style: conftest fails on one).
    chart = await page.locator("#chart-volume").bounding_box()
    await page.mouse.move(chart["x"] + chart["width"] / 2, chart["y"] + chart["height"] / 2)
    await page.wait_for_timeout(500)
    await page.shot("stats")
    await page.select_option("#f-category", "land_mining")
    async with page.expect_navigation():
        await page.click("#stats-filters button[type=submit]")
    assert "category=land_mining" in page.url
    assert "暂无溢价率可计算" in await page.locator("#table-premium").inner_text()


async def test_finance_staff_open_the_ledger_and_a_bad_statement_is_reported_row_by_row(portal, page, tmp_path):
    await log_in_page(page, portal.url, "finance")
    await page.goto(portal.url + "/workspace")
    async with page.expect_navigation():
        await page.click("a.center-card[href='/center/ledger']")
    assert await page.locator("h1").first.inner_text() == "投标保证金"
    assert await page.locator("#deposit-form").count() == 1
    await page.shot("center-ledger")

    statement = tmp_path / "流水.csv"
    statement.write_bytes(f"{HEADER}\nB-0001,6228480000000001,张三,12.5,JN-2026-GC-0007 91370811MA23456788,2026-11-20\n"
                          .encode("utf-8-sig"))
    await page.goto(portal.url + "/center/ledger/statements")
    await page.set_input_files("#f-file", str(statement))
    async with page.expect_navigation():
        await page.click("#statement-form button[type=submit]")
    report = await page.locator("#statement-errors").inner_text()
    assert "金额（元）" in report and "附言" in report  # the amount's format, and no admitted registration
    await page.shot("center-statement-report")
