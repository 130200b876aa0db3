"""Browser (real Chromium against `trading serve --demo`): the supervisor's live view of an
opening updates by itself while the bidders' keys are handed in through the services, and
an expert scores, closes the stage as chair and signs the report with a key made in the
browser."""

from __future__ import annotations

from sqlalchemy import select

from bidding.evaluation.review import close_stage, record_scores
from bidding.opening.proceedings import hand_in_bidder_half, sign_in, start_opening
from tests.common import evaluation
from tests.common import opening
from tests.conftest import SCREENSHOTS, log_in_page
from tests.common.evaluation import evaluation_with_accounts
from trading.database import make_sessionmaker, transaction
from trading.keys import load_center_keys

PRICES = [96_000_000, 97_500_000, 98_800_000]


async def test_the_supervisors_live_view_of_an_opening_updates_as_keys_are_handed_in(portal, page, settings, engine):
    keys = load_center_keys(settings)  # the server's own keys (the portal made them)
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as session:
        tender, bidders = await opening.tender_with_bids(session, keys, PRICES)
        await start_opening(session, keys, actor="admin", project_code=tender.code)
    await log_in_page(page, portal.url, "supervisor")
    await page.goto(f"{portal.url}/supervision")
    await page.shot("supervision-dashboard")
    await page.click(f'a[href="/supervision/openings/{tender.code}"]')
    rows = page.locator("table.opening-record tbody tr")
    assert await rows.count() == 3
    await page.wait_for_selector('[data-live-status][data-state="live"]')  # subscribed, state re-read
    await page.evaluate("window.notReloaded = true")
    await page.shot("supervision-opening-waiting")

    for number, (code, signing_key) in enumerate(bidders[:2], start=1):
        async with transaction(sessions) as session:
            await sign_in(session, actor=code, project_code=tender.code, bidder_credit_code=code)
            k_b = await opening.k_b_of(session, tender, code, signing_key)
        async with transaction(sessions) as session:
            await hand_in_bidder_half(session, keys, actor=code, project_code=tender.code, bidder_credit_code=code,
                                      k_b_hex=k_b)
        # The server's batch opener decrypts within about a second; the page follows on its own.
        row = page.locator(f'tr[data-bidder="{code}"]')
        await row.locator("td.state", has_text="已解密").wait_for()
        assert await page.locator("[data-decrypted-count]").inner_text() == str(number)
    assert "960,000.00" in await page.locator(f'tr[data-bidder="{bidders[0][0]}"]').inner_text()
    still_waiting = page.locator(f'tr[data-bidder="{bidders[2][0]}"] td.state')
    assert await still_waiting.inner_text() == "待解密"
    assert await page.evaluate("window.notReloaded === true")  # updated in place, never reloaded
    await page.shot("supervision-opening-live")


async def test_an_expert_scores_closes_the_stage_and_signs_with_a_key_made_in_the_browser(
        portal, page, browser, settings, engine, tmp_path):
    keys = load_center_keys(settings)
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as session:
        tender, bidders, experts, names = await evaluation_with_accounts(session, keys, [95_000_000, 99_000_000, 101_000_000])
        code = tender.code
        await evaluation.elect(session, code, experts, experts[0])
        for _ in range(2):  # qualification and preliminary: every member passes every bid
            await evaluation.all_review(session, code, experts, bidders)
            await close_stage(session, actor="chair", project_code=code, expert_id=experts[0].id)
        for expert in experts[1:]:  # the other members have scored already
            for bidder in bidders:
                await record_scores(session, actor="x", project_code=code, expert_id=expert.id,
                                    bidder_credit_code=bidder, scores={"技术方案": "50"})

    # A supervisor follows the evaluation live in a browser of its own.
    watching = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    supervisor = await watching.new_page()
    await log_in_page(supervisor, portal.url, "supervisor")
    await supervisor.goto(f"{portal.url}/supervision/evaluations/{code}")
    await supervisor.wait_for_selector('[data-live-status][data-state="live"]')
    chair_row = supervisor.locator(f'tr[data-member="{experts[0].code}"]')
    assert await chair_row.locator("td.scored").inner_text() == "0 / 3"

    await log_in_page(page, portal.url, names[0])
    await page.goto(f"{portal.url}/workspace")
    await page.click(f'a[href="/expert/evaluations/{code}"]')
    assert "详细评审" in await page.locator(".stage-name").inner_text()

    # A score above the item's maximum is refused beside the field, the number kept.
    first = page.locator(f"#score-{bidders[0]}")
    await first.locator('input[name="item_0"]').fill("61")
    async with page.expect_navigation():
        await first.locator('button[type="submit"]').click()
    first = page.locator(f"#score-{bidders[0]}")
    assert "不得超过 60 分" in await first.locator(".field-error").inner_text()
    assert await first.locator('input[name="item_0"]').input_value() == "61"
    await page.shot("expert-score-refused")
    for bidder, points in zip(bidders, ("55.5", "48", "50")):
        form = page.locator(f"#score-{bidder}")
        await form.locator('input[name="item_0"]').fill(points)
        async with page.expect_navigation():
            await form.locator('button[type="submit"]').click()
    assert await page.locator(f'#score-{bidders[0]} input[name="item_0"]').input_value() == "55.50"
    await page.shot("expert-scored")
    await chair_row.locator("td.scored", has_text="3 / 3").wait_for()  # the supervisor's view followed

    # The chair closes the detailed review: the report is drawn up.
    async with page.expect_navigation():
        await page.click("text=结束详细评审")
    assert "评标报告签署" in await page.locator(".stage-name").inner_text()

    # A signing key made in the browser: the seed downloaded, the verify key registered.
    await page.goto(f"{portal.url}/expert")
    async with page.expect_download() as download_info:
        await page.click("#make-key")
    download = await download_info.value
    key_file = tmp_path / "expert-signing.key"
    await download.save_as(key_file)
    assert len(key_file.read_text().strip()) == 64
    async with page.expect_navigation():
        await page.click('form[action="/expert/key"] button[type=submit]')
    assert "已登记签名公钥" in await page.locator("main").inner_text()

    await page.goto(f"{portal.url}/expert/evaluations/{code}")
    await page.set_input_files("#key-file", str(key_file))
    await page.wait_for_selector("#sign-button:not([disabled])")
    await page.shot("expert-signing")
    async with page.expect_navigation():
        await page.click("#sign-button")
    assert "您已签署评标报告（数字签名）" in await page.locator("main").inner_text()
    await page.shot("expert-signed")
    await chair_row.locator("td.signed", has_text="已签署").wait_for()
    assert "评标报告签署" in await supervisor.locator(".stage-name").inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await supervisor.screenshot(path=str(SCREENSHOTS / "supervision-evaluation-live.png"), full_page=True)
    await watching.close()

    from bidding.evaluation.records import EvaluationMember

    async with sessions() as session:
        member = await session.scalar(select(EvaluationMember).where(EvaluationMember.expert_id == experts[0].id))
        assert member.signature is not None and member.signed_at is not None
