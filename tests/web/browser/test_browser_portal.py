"""Browser: the portal as a new user meets it (real Chromium against `trading serve --demo`)."""

from __future__ import annotations

from tests.conftest import log_in_page


async def test_a_demo_account_signs_in_and_reaches_its_workspace(portal, page):
    await page.goto(portal.url + "/")
    assert "公共资源交易平台" in await page.title()
    await page.shot("home")
    await log_in_page(page, portal.url, "bidder1")
    await page.goto(portal.url + "/workspace")
    assert await page.locator("h1").first.inner_text() == "工作台"
    assert "退出" in await page.locator("header").inner_text()


async def test_a_wrong_password_is_refused_in_chinese_and_the_username_is_kept(portal, page):
    await log_in_page(page, portal.url, "bidder1", password="wrong-password")
    assert page.url.startswith(portal.url + "/login")
    assert await page.input_value("input[name=username]") == "bidder1"
    assert "密码" in await page.locator("main").inner_text()
