"""Browser: the public pages as a citizen meets them (real Chromium against `trading serve --demo`):
the home, a search from it, the list's filters without JavaScript, a tender's page, and the
same pages on a phone's screen."""

from __future__ import annotations

from cli.demo import PROJECTS

ROAD = PROJECTS[1]  # 城区老旧小区雨污分流改造工程（二期）


async def test_a_visitor_searches_from_the_home_and_opens_a_tender(portal, page):
    await page.goto(portal.url + "/")
    assert "公共资源交易平台" in await page.title()
    assert await page.locator("#category-construction").get_by_text(f"{ROAD[1]}招标公告").count() == 1
    assert await page.locator("#todays-openings").count() == 1
    await page.shot("public-home")

    # A two-word Chinese substring from the middle of the title.
    await page.fill("#home-q", "雨污分流")
    async with page.expect_navigation():
        await page.click(".search-bar button[type=submit]")
    assert "/tenders?q=" in page.url
    rows = page.locator(".listing-row")
    assert await rows.count() == 1
    assert f"{ROAD[1]}招标公告" in await rows.first.inner_text()
    await page.shot("public-search")

    async with page.expect_navigation():
        await rows.first.locator("a.listing-title").click()
    assert page.url.startswith(f"{portal.url}/tenders/{ROAD[0]}")
    assert await page.locator("h1").inner_text() == ROAD[1]
    stages = page.locator(".timeline .stage h2")
    assert (await stages.all_inner_texts())[:4] == ["进场登记", "招标公告与招标文件", "澄清与答疑", "投标截止与开标"]
    assert "济宁市城市建设投资中心" in await page.locator(".facts").inner_text()
    await page.shot("public-tender")


async def test_the_filters_work_without_javascript_and_a_wrong_amount_is_explained_beside_it(portal, browser):
    context = await browser.new_context(locale="zh-CN", java_script_enabled=False)
    try:
        tab = await context.new_page()
        await tab.goto(portal.url + "/tenders")
        await tab.click(".more-filters summary")  # the filters fold away on a phone's screen
        await tab.select_option("#f-category", "government_procurement")
        await tab.fill("#f-min_amount", "1,000,000")
        async with tab.expect_navigation():
            await tab.click(".filter-actions button[type=submit]")
        titles = await tab.locator(".listing-row .listing-title").all_inner_texts()
        assert len(titles) == 1 and PROJECTS[2][1] in titles[0]

        await tab.fill("#f-min_amount", "100.005")
        async with tab.expect_navigation():
            await tab.click(".filter-actions button[type=submit]")
        assert "最低金额应为以元为单位的数字" in await tab.locator("#e-min_amount").inner_text()
        assert await tab.input_value("#f-min_amount") == "100.005"  # kept as typed
        assert await tab.input_value("#f-category") == "government_procurement"
    finally:
        await context.close()


async def test_the_public_pages_fit_a_phone(portal, browser):
    from tests.conftest import SCREENSHOTS

    context = await browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True,
                                        has_touch=True, device_scale_factor=2)
    try:
        tab = await context.new_page()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for path, name in (("/", "public-home-phone"), ("/tenders?q=医院", "public-search-phone"),
                           (f"/tenders/{PROJECTS[0][0]}", "public-tender-phone")):
            await tab.goto(portal.url + path)
            # Nothing wider than the screen: no sideways scrolling of the page itself.
            width = await tab.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (path, width)
            await tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    finally:
        await context.close()
