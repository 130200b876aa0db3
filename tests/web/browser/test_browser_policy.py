"""Browser: the pages' Content-Security-Policy at work in real Chromium against
`trading serve --demo`. Markup injected into a page (as a stored cross-site script would be)
neither runs nor styles anything, and the browser tests' watch (tests/common/content_policy.py)
reports it; the API documentation runs from this server's own files under the policy."""

from __future__ import annotations

INJECTED = ('<script>document.body.dataset.injected = "script"</script>'
            '<img src="/static/portal.css" onerror="document.body.dataset.injected = \'handler\'">'
            '<p id="styled" style="color: rgb(1, 2, 3)">注入的内容</p>')


async def test_a_script_injected_into_a_page_neither_runs_nor_passes_unreported(portal, page, browser):
    async def inject(route):
        answer = await route.fetch()  # the server's own answer, its policy header included
        await route.fulfill(response=answer, body=(await answer.text()).replace("</main>", INJECTED + "</main>"))

    await page.route(portal.url + "/", inject)
    await page.goto(portal.url + "/")
    await page.locator("#styled").wait_for()
    await page.wait_for_timeout(300)
    assert await page.locator("body").get_attribute("data-injected") is None
    assert await page.locator("#styled").evaluate("e => getComputedStyle(e).color") != "rgb(1, 2, 3)"
    # The watch every browser test runs under saw each refusal: it would fail that test.
    refused = {v["directive"] for v in browser.policy.take()}
    assert refused == {"script-src-elem", "script-src-attr", "style-src-attr"}, refused
    # The page's own scripts still run under the same policy (htmx, served from /vendor).
    assert await page.evaluate("typeof window.htmx") == "object"


async def test_the_api_documentation_runs_from_local_files_under_the_policy(portal, page):
    elsewhere = []
    page.on("request", lambda request: request.url.startswith(portal.url) or elsewhere.append(request.url))
    await page.goto(portal.url + "/api/docs")
    await page.locator(".swagger-ui .info .title").wait_for()
    assert "公共资源交易平台 API" in await page.locator(".swagger-ui .info .title").inner_text()
    # The operations are listed, and one opens with its parameters.
    await page.locator(".opblock-summary").first.click()
    await page.locator(".opblock-body").first.wait_for()
    assert not elsewhere, elsewhere
