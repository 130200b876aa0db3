"""Browser: the demo tendering party registers a project and publishes its announcement with
the tender documents; later it confirms the winner, and the center issues the award notice
and downloads the signed PDF (real Chromium against `trading serve --demo`)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bidding.tender.projects import Project
from bidding.award.publicity import publish_candidates
from tests.common import award_world
from tests.conftest import SCREENSHOTS, log_in_page
from trading.database import make_engine, make_sessionmaker, transaction
from trading.keys import load_center_keys
from trading.timefmt import CENTER_ZONE

HOSPITAL = "12370800MB12345670"  # the demo tendering party (account "tenderer")


async def test_the_tendering_party_registers_and_announces_a_tender_in_the_browser(portal, page, database_url):
    await log_in_page(page, portal.url, "tenderer")
    await page.goto(portal.url + "/workspace")
    assert "JN-2026-GC-0007" in await page.locator("main").inner_text()
    await page.shot("party-workspace")

    async with page.expect_navigation():
        await page.click("text=进场登记新项目")
    await page.fill("#f-code", "JN-2026-GC-0101")
    await page.fill("#f-title", "济宁市第一人民医院住院楼改造工程")
    await page.select_option("#f-category", "construction")
    await page.select_option("#f-method", "open_tender")
    await page.select_option("#f-region_code", "370800")
    await page.fill("#f-estimate", "12,345,678.90")
    await page.check("input[name=agency_mode][value=self]")
    # First with a mistake: the error sits beside the field and nothing typed is lost.
    await page.fill("#f-estimate", "12,345,678.901")
    async with page.expect_navigation():
        await page.click("form.party-form button[type=submit]")
    assert "最多两位小数" in await page.locator("#e-estimate").inner_text()
    assert await page.input_value("#f-title") == "济宁市第一人民医院住院楼改造工程"
    await page.shot("party-register-error")
    await page.fill("#f-estimate", "12,345,678.90")
    async with page.expect_navigation():
        await page.click("form.party-form button[type=submit]")
    assert page.url.endswith("/party/projects/JN-2026-GC-0101")
    main = await page.locator("main").inner_text()
    assert "已进场登记" in main and "12,345,678.90 元" in main
    await page.shot("party-project-registered")

    async with page.expect_navigation():
        await page.click("nav.tender-tabs >> text=发布招标公告")
    engine = make_engine(database_url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            from trading.database import database_now

            deadline = (await database_now(session) + timedelta(days=25)).astimezone(CENTER_ZONE)
    finally:
        await engine.dispose()
    await page.fill("#f-body", "欢迎符合资格条件的投标人参加投标。")
    await page.fill("#f-bid_deadline", deadline.strftime("%Y-%m-%dT%H:%M"))
    await page.set_input_files("#f-file", files=[{"name": "招标文件.pdf", "mimeType": "application/pdf",
                                                  "buffer": b"%PDF-1.7 tender documents for the browser test"}])
    await page.shot("party-announce-form")
    async with page.expect_navigation():
        await page.click("form.party-form button[type=submit]")
    main = await page.locator("main").inner_text()
    assert "已发布招标公告" in main and "第 1 版 招标文件.pdf" in main
    await page.shot("party-project-announced")


async def test_the_party_confirms_the_winner_and_the_center_issues_and_downloads_the_notice(
        portal, page, browser, database_url, settings):
    keys = load_center_keys(settings)
    engine = make_engine(database_url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            tender = await award_world.tender_in_evaluation(session, keys, [3_900_000_00, 4_000_000_00, 4_100_000_00],
                                                            kind=award_world.PROCUREMENT, party_credit_code=HOSPITAL)
            await award_world.report(session, tender)
            await publish_candidates(session, actor="test", project_code=tender.code)
        code = tender.code

        await log_in_page(page, portal.url, "tenderer")
        await page.goto(f"{portal.url}/party/projects/{code}/result")
        await page.select_option("#f-rank", "1")
        await page.fill("#f-reason", "排名第一，报价最低且满足采购需求")
        async with page.expect_navigation():
            await page.click("button:has-text('确定中标人')")
        assert "已确定为中标人" in await page.locator("main").inner_text()
        await page.shot("party-winner-confirmed")

        async with transaction(make_sessionmaker(engine)) as session:
            await award_world.let_time_pass(session, code, days=8)  # the publicity period is over
            assert await session.scalar(select(Project.state).where(Project.code == code)) in ("publicity", "awarded")
    finally:
        await engine.dispose()

    context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}, accept_downloads=True)
    center = await context.new_page()
    try:
        await log_in_page(center, portal.url, "admin")
        await center.goto(f"{portal.url}/center/tenders/{code}")
        async with center.expect_navigation():
            await center.click("button:has-text('发出中标通知书')")
        text = await center.locator("main").inner_text()
        assert "ZBTZ" in text and "中标结果通知" in text and tender.bidders[1].name in text
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await center.screenshot(path=str(SCREENSHOTS / "center-award-notice-issued.png"), full_page=True)
        async with center.expect_download() as download_info:
            await center.click("#award-notice-pdf")
        download = await download_info.value
        path = await download.path()
        with open(path, "rb") as pdf:
            assert pdf.read(5) == b"%PDF-"
        assert download.suggested_filename.startswith("ZBTZ") and download.suggested_filename.endswith(".pdf")
    finally:
        await context.close()
