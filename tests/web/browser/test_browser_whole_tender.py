"""Browser: one government procurement tender the whole way through the portal's pages, each
step by the role who does it, each role in a browser context of its own (real Chromium
against `trading serve --demo`): the tendering party registers the project, sets the
evaluation scheme on its project page and publishes the announcement with its documents;
three bidders register (finance confirms the deposit the demo credit data asks of one of
them, on the ledger page), make their keys in the browser, seal and submit their bids; the
deadline passes and the app's chronograph starts the opening; the bidders decrypt in the
browser while a supervisor's live view fills in; the center finishes the opening and
requests the committee on the tender's page; the supervisor witnesses the committee draw,
the experts confirm their summons; the center starts the evaluation session; the experts
score and sign the report; the center publishes the candidates, the party confirms the
winner, the center issues the award notice and downloads the signed PDF, which anyone then
verifies on the public verification page.

Not through the pages, and said where it happens:
- the clock: the tender's periods (the bid deadline, the decryption window, the committee's
  session, the publicity) are moved into the past in the database. The database clock is the
  platform's clock (every guard and the chronograph read it), so this is time passing;
- user accounts for the pool's experts (the demo has one expert account; there is no page or
  command that creates accounts): made in the module's set-up, as tests/system/test_whole_tender.py.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bidding.award.award_notice import AwardNotice
from bidding.opening.proceedings import opening_record
from bidding.tender.projects import Project
from bidding.tender.registrations import Registration
from cli.demo import ACCOUNTS, DEMO_PASSWORD
from expert_pool.committees import CommitteeDraw, CommitteeGroup, CommitteeMember, CommitteeRequest
from expert_pool.models import Expert, ExpertSpecialty
from tests.conftest import SCREENSHOTS, log_in_page
from tests.common.live_server import LiveServer
from tests.common.portal import assert_unique_ids
from trading.accounts import create_user
from trading.database import database_now, make_sessionmaker, transaction
from trading.keys import CenterKeys, load_center_keys
from trading.money import yuan
from trading.organisations import Organisation
from trading.timefmt import CENTER_ZONE

CODE = "JN-2026-ZC-B0001"
TITLE = "济宁市第一人民医院医用设备采购"
ESTIMATE_FEN = 1_000_000_00  # one million yuan
BIDDERS = {  # demo account → (organisation, price in fen)
    "bidder1": ("91370800MA1234567Q", 960_000_00),
    "bidder2": ("91370811MA23456788", 975_000_00),  # on the deposit negative list: pays a deposit
    "bidder3": ("91370802MA3456789Q", 988_000_00),
}
SPECIALTY = "A08"  # the demo pool's experts with the most members
SCHEME = {"method": "comprehensive", "price_points": "40", "price_formula": {"kind": "lowest_ratio"},
          "items": [{"name": "技术方案", "max_points": "60"}]}  # as the party's form sets it
TECHNICAL = {"bidder1": "52", "bidder2": "48", "bidder3": "45"}  # every expert's points, per bidder
DEMO_EXPERT_ID = next(account.id_number for account in ACCOUNTS if account.username == "expert")


# --------------------------------------------------------------------------- the world


class FastPortal(LiveServer):
    """`trading serve --demo`, its chronograph ticking every second (the default is 10 s)."""

    def env(self) -> dict[str, str]:
        return {**super().env(), "TRADING_CHRONOGRAPH_SECONDS": "1", "TRADING_DEADLINE_WATCH_SECONDS": "1"}


@pytest.fixture(scope="module")
def portal(settings, database_url) -> Iterator[FastPortal]:
    """This module's portal (overrides conftest's): the demo city, loaded by `serve --demo`."""
    server = FastPortal(settings, database_url, demo=True).start(timeout=180)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def keys(portal, settings) -> CenterKeys:
    return load_center_keys(settings)  # the served portal's keys (made at its first start)


@pytest.fixture(scope="module")
async def experts(portal, engine: AsyncEngine) -> dict[int, tuple[str, str]]:
    """An account for every pool expert of the specialty (matched by ID number, as an expert
    logs in); the demo expert keeps its own. Answers expert id → (expert code, username)."""
    accounts = {}
    async with transaction(make_sessionmaker(engine)) as session:
        employer = await session.scalar(select(Organisation).where(Organisation.credit_code == "12370800MB2345678H"))
        of_specialty = select(ExpertSpecialty.expert_id).where(ExpertSpecialty.specialty_code.startswith(SPECIALTY))
        for expert in (await session.scalars(select(Expert).where(Expert.id.in_(of_specialty))
                                             .order_by(Expert.id))).all():
            username = "expert" if expert.id_number == DEMO_EXPERT_ID else f"wt-{expert.code.lower()}"
            if username != "expert":
                await create_user(session, actor="test", username=username, display_name=expert.name, role="expert",
                                  password=DEMO_PASSWORD, organisation_id=employer.id, id_number=expert.id_number)
            accounts[expert.id] = (expert.code, username)
    return accounts


# --------------------------------------------------------------------------- small helpers


async def shot(page: Any, name: str) -> None:
    await assert_unique_ids(page, name)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"whole-tender-{name}.png"), full_page=True)


class Desks:
    """One browser context per person (in the center's time zone), signed in once, closed at the end."""

    def __init__(self, browser: Any, url: str) -> None:
        self.browser, self.url, self.pages, self.contexts = browser, url, {}, []

    async def open(self, username: str | None) -> Any:
        key = username or "public"
        if key not in self.pages:
            context = await self.browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai",
                                                     viewport={"width": 1280, "height": 900}, accept_downloads=True)
            context.set_default_timeout(20_000)
            self.contexts.append(context)
            page = await context.new_page()
            if username:
                await log_in_page(page, self.url, username)
            self.pages[key] = page
        return self.pages[key]

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


async def submit(page: Any, button: Any) -> None:
    """Click a form's submit button and wait for the page the server answers with."""
    async with page.expect_navigation():
        await button.click()


async def sql(engine: AsyncEngine, statement: str, **params: Any) -> None:
    """The controllable clock: move a stored time, committed, as time passing would."""
    async with engine.begin() as conn:
        await conn.execute(text(statement), params)


async def in_session(engine: AsyncEngine, act: Callable[[Any], Awaitable[Any]]) -> Any:
    async with transaction(make_sessionmaker(engine)) as session:
        return await act(session)


async def state_of(engine: AsyncEngine) -> str:
    return await in_session(engine, lambda s: s.scalar(select(Project.state).where(Project.code == CODE)))


async def wait_for(what: str, check: Callable[[], Awaitable[Any]], seconds: float = 30.0) -> Any:
    """Poll until ``check()`` gives something true (the app's workers act on their own)."""
    deadline = time.monotonic() + seconds
    while not (value := await check()):
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        await asyncio.sleep(0.3)
    return value


async def wait_for_state(engine: AsyncEngine, state: str) -> None:
    async def reached() -> bool:
        return await state_of(engine) == state
    await wait_for(f"the tender to be {state}", reached)


# --------------------------------------------------------------------------- the clock


async def deadline_passes(engine: AsyncEngine) -> None:
    """The 25 days to the bid deadline go by (the documents were issued as long before it)."""
    await sql(engine, "UPDATE projects SET documents_issued_at = documents_issued_at - (bid_deadline - "
                      "clock_timestamp()) - interval '1 second', bid_deadline = clock_timestamp() - interval "
                      "'1 second', next_due_at = clock_timestamp() - interval '1 second' WHERE code = :c", c=CODE)


async def decryption_window_ends(engine: AsyncEngine) -> None:
    """The decryption window's time runs out; the chronograph closes it."""
    await sql(engine, "UPDATE opening_sessions SET window_ends_at = clock_timestamp() - interval '1 second' "
                      "WHERE project_id = (SELECT id FROM projects WHERE code = :c)", c=CODE)
    await sql(engine, "UPDATE projects SET bid_deadline = clock_timestamp() - interval '31 minutes', "
                      "next_due_at = clock_timestamp() - interval '1 second' WHERE code = :c", c=CODE)

    async def closed() -> bool:
        return bool((await in_session(engine, lambda s: opening_record(s, CODE)))["closed_at"])
    await wait_for("the decryption window closed", closed)


async def committee_session_starts(engine: AsyncEngine, request_id: int) -> None:
    """The committee's session is due, and with it the unsealing of its draws."""
    await sql(engine, "UPDATE committee_requests SET starts_at = now() - interval '1 minute', "
                      "ends_at = now() + interval '3 hours' WHERE id = :r", r=request_id)
    await sql(engine, "UPDATE draws SET unseal_at = now() - interval '1 minute' WHERE draw_id IN ("
                      "SELECT cd.draw_id FROM committee_draws cd JOIN committee_groups g ON g.id = cd.group_id "
                      "WHERE g.request_id = :r)", r=request_id)


async def publicity_period_passes(engine: AsyncEngine) -> None:
    await sql(engine, "UPDATE projects SET publicity_started_at = publicity_started_at - interval '8 days', "
                      "next_due_at = clock_timestamp() - interval '1 second' WHERE code = :c", c=CODE)


# --------------------------------------------------------------------------- the steps


async def party_registers_and_announces(desks: Desks, engine: AsyncEngine) -> None:
    party = await desks.open("tenderer")
    await party.goto(desks.url + "/workspace")
    await submit(party, party.locator("text=进场登记新项目"))
    await party.fill("#f-code", CODE)
    await party.fill("#f-title", TITLE)
    await party.select_option("#f-category", "government_procurement")
    await party.select_option("#f-method", "public_tender")
    await party.select_option("#f-region_code", "370800")
    await party.fill("#f-estimate", "1,000,000.00")
    await party.check("input[name=agency_mode][value=self]")
    await submit(party, party.locator("form.party-form button[type=submit]"))
    assert party.url.endswith(f"/party/projects/{CODE}")
    assert "已进场登记" in await party.locator("main").inner_text()
    await shot(party, "01-party-registered")

    # The evaluation method is part of the tender documents: set on the project page before the announcement.
    await party.select_option("#f-method", SCHEME["method"])
    await party.fill("#f-price_points", SCHEME["price_points"])
    await party.select_option("#f-price_formula", SCHEME["price_formula"]["kind"])
    await party.fill("#f-items", "\n".join(f"{i['name']} {i['max_points']}" for i in SCHEME["items"]))
    await submit(party, party.locator("form.scheme-form button[type=submit]"))
    assert not await party.locator(".field-error").count(), await party.locator("main").inner_text()
    assert "综合评估法：价格分 40 分" in await party.locator("p.scheme-current").inner_text()

    await submit(party, party.locator("nav.tender-tabs >> text=发布招标公告"))
    now = await in_session(engine, database_now)
    deadline = (now + timedelta(days=25)).astimezone(CENTER_ZONE)
    await party.fill("#f-body", "欢迎符合资格条件的供应商参加投标。")
    await party.fill("#f-bid_deadline", deadline.strftime("%Y-%m-%dT%H:%M"))
    await party.set_input_files("#f-file", files=[{"name": "招标文件.pdf", "mimeType": "application/pdf",
                                                   "buffer": b"%PDF-1.7 procurement documents"}])
    await submit(party, party.locator("form.party-form button[type=submit]"))
    main = await party.locator("main").inner_text()
    assert "已发布招标公告" in main and "第 1 版 招标文件.pdf" in main
    await shot(party, "02-party-announced")
    await wait_for_state(engine, "bidding")  # the documents are out: the chronograph opens the bidding


async def bidder_registers(desks: Desks, engine: AsyncEngine, account: str) -> int:
    """Register on the bidder's page; answers the deposit required (fen) by the credit decision."""
    bidder = await desks.open(account)
    await bidder.goto(desks.url + "/bidder/")
    await submit(bidder, bidder.locator("tr", has_text=CODE).get_by_role("button", name="报名"))
    assert "准予报名" in await bidder.locator("main").inner_text()
    credit_code = BIDDERS[account][0]
    return await in_session(engine, lambda s: s.scalar(
        select(Registration.deposit_required_fen)
        .join(Project, Project.id == Registration.project_id)
        .join(Organisation, Organisation.id == Registration.bidder_organisation_id)
        .where(Project.code == CODE, Organisation.credit_code == credit_code)))


async def finance_confirms_deposit(desks: Desks, account: str, amount_fen: int) -> None:
    finance = await desks.open("finance")
    await finance.goto(desks.url + "/center/ledger")
    credit_code = BIDDERS[account][0]
    await finance.fill("#f-project_code", CODE)
    await finance.fill("#f-bidder_credit_code", credit_code)
    await finance.fill("#f-amount", yuan(amount_fen).replace(",", ""))
    await finance.fill("#f-account", "6222020200112233445")
    await finance.fill("#f-account_name", "任城宏远建筑工程有限公司")
    await finance.fill("#f-bank_reference", f"DEP-{credit_code[-6:]}")
    await finance.fill("#f-value_date", datetime.now(CENTER_ZONE).date().isoformat())
    await submit(finance, finance.locator("#deposit-form button[type=submit]"))
    assert not await finance.locator(".field-error").count(), await finance.locator("main").inner_text()
    await finance.goto(f"{desks.url}/center/ledger?project={CODE}")
    assert f"DEP-{credit_code[-6:]}" in await finance.locator("main").inner_text()
    await shot(finance, "04-finance-deposit-confirmed")


async def bidder_makes_key(desks: Desks, account: str, folder: Path) -> Path:
    """The identity key made in the browser: the key file downloaded, the verify key registered."""
    bidder = await desks.open(account)
    await bidder.goto(desks.url + "/bidder/key")
    await bidder.wait_for_selector("#key-tools:not([hidden])")
    async with bidder.expect_download() as download_info:
        await bidder.click("#generate")
    key_file = folder / f"{account}.key"
    await (await download_info.value).save_as(key_file)
    key_file.chmod(0o600)
    verify_key = await bidder.input_value("#f-verify_key")
    await submit(bidder, bidder.locator("#register-key"))
    assert verify_key in await bidder.locator("#registered-key").inner_text()
    return key_file


async def bidder_seals_and_submits(desks: Desks, account: str, key_file: Path, folder: Path) -> str:
    bidder = await desks.open(account)
    price = yuan(BIDDERS[account][1])
    offer = folder / f"{account}-报价文件.txt"
    offer.write_text(f"{TITLE} 投标文件\n投标报价：{price} 元\n", encoding="utf-8")
    await bidder.goto(f"{desks.url}/bidder/tenders/{CODE}/bid")
    await bidder.wait_for_selector("#sealing:not([hidden])")
    await bidder.set_input_files("#key-file", str(key_file))
    await bidder.wait_for_selector("#key-status.ok")
    await bidder.fill("#f-price_yuan", price)
    await bidder.fill("#f-duration_days", "60")
    await bidder.set_input_files("#f-documents", [str(offer)])
    await bidder.click("#seal-submit")
    await bidder.wait_for_selector("#receipt-digest", timeout=60_000)
    result = await bidder.inner_text("#result")
    assert "投标文件已递交" in result and f"{price} 元" in result and "核验通过" in result
    return await bidder.inner_text("#receipt-digest")


async def bidder_decrypts(desks: Desks, account: str, key_file: Path) -> None:
    bidder = await desks.open(account)
    await bidder.goto(f"{desks.url}/bidder/tenders/{CODE}/opening")
    await bidder.wait_for_selector("#decrypt-panel:not([hidden])")
    await bidder.set_input_files("#key-file", str(key_file))
    await bidder.wait_for_selector("#own-price", timeout=30_000)  # the batch opener's event, live
    assert "已解密" in await bidder.inner_text("#own-state")
    assert f"{yuan(BIDDERS[account][1])} 元" in await bidder.inner_text("#own-price")


async def center_requests_committee(desks: Desks, engine: AsyncEngine) -> int:
    """The center requests the committee on the tender's page; answers the request's id."""
    center = await desks.open("admin")
    await center.goto(f"{desks.url}/center/tenders/{CODE}")
    starts = (await in_session(engine, database_now) + timedelta(hours=2)).astimezone(CENTER_ZONE)
    await center.fill("#f-evaluation_starts_at", starts.strftime("%Y-%m-%dT%H:%M"))
    await center.fill("#f-evaluation_ends_at", (starts + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"))
    await center.fill("#f-place", "济宁市公共资源交易中心 第1评标室")
    await center.fill("#f-specialty", SPECIALTY)
    await center.fill("#f-count", "5")
    await center.fill("#f-reserve_count", "1")
    await submit(center, center.locator("form.committee-form button[type=submit]"))
    assert not await center.locator(".field-error, .form-errors").count(), await center.locator("main").inner_text()
    assert "已申请抽取评标委员会" in await center.locator("main").inner_text()
    return await in_session(engine, lambda s: s.scalar(select(CommitteeRequest.id).where(
        CommitteeRequest.project_code == CODE)))


async def supervisor_witnesses_draws(desks: Desks, engine: AsyncEngine, request_id: int) -> None:
    draw_ids = await in_session(engine, lambda s: s.scalars(
        select(CommitteeDraw.draw_id).join(CommitteeGroup, CommitteeGroup.id == CommitteeDraw.group_id)
        .where(CommitteeGroup.request_id == request_id).order_by(CommitteeDraw.id)))
    supervisor = await desks.open("supervisor")
    for number, draw_id in enumerate(draw_ids.all(), start=1):
        await supervisor.goto(f"{desks.url}/supervision/draws/{draw_id}")
        await supervisor.fill("#f-value", f"监督员现场掷骰 4-2-{number}")
        await submit(supervisor, supervisor.locator("form.witness-form button[type=submit]"))
        assert f"监督员现场掷骰 4-2-{number}" in await supervisor.locator("td.witness").inner_text()
    await shot(supervisor, "09-supervisor-witnessed-draw")


async def experts_confirm_summons(desks: Desks, engine: AsyncEngine, experts: dict[int, tuple[str, str]],
                                  request_id: int) -> list[tuple[str, str]]:
    """Every invited expert confirms on its own page; answers (expert code, username) of each."""
    invited = (await in_session(engine, lambda s: s.scalars(
        select(CommitteeMember.expert_id).where(CommitteeMember.request_id == request_id,
                                                CommitteeMember.status == "invited")
        .order_by(CommitteeMember.id)))).all()
    assert len(invited) == 5, invited
    members = [experts[expert_id] for expert_id in invited]
    for number, (_, username) in enumerate(members):
        expert = await desks.open(username)
        await expert.goto(desks.url + "/expert")
        await submit(expert, expert.locator("article.summons-invited button[value=confirm]"))
        assert await expert.locator("article.summons-confirmed").count() == 1
        if number == 0:
            await shot(expert, "10-expert-confirmed-summons")
    return members


async def expert_page(desks: Desks, username: str) -> Any:
    expert = await desks.open(username)
    await expert.goto(f"{desks.url}/expert/evaluations/{CODE}")
    return expert


async def chair_closes_stage(desks: Desks, chair: str, next_stage: str) -> None:
    page = await expert_page(desks, chair)
    await submit(page, page.locator(f'form[action="/expert/evaluations/{CODE}/close-stage"] button'))
    assert next_stage in await page.locator(".stage-name").inner_text()


async def experts_evaluate(desks: Desks, members: list[tuple[str, str]], folder: Path) -> None:
    chair_code, chair = members[0]
    for _, username in members[:3]:  # a majority elects the chair
        page = await expert_page(desks, username)
        await page.select_option("#f-candidate", chair_code)
        await submit(page, page.locator(f'form[action="/expert/evaluations/{CODE}/chair-vote"] button'))
    for stage, next_stage in (("资格审查", "初步评审"), ("初步评审", "详细评审")):
        for number, (_, username) in enumerate(members):
            page = await expert_page(desks, username)
            assert stage in await page.locator(".stage-name").inner_text()
            for credit_code, _ in BIDDERS.values():
                form = page.locator(f"#review-{credit_code}")
                await form.locator("input[name=verdict][value=pass]").check()
                await submit(page, form.locator("button[type=submit]"))
            if number == 0 and stage == "资格审查":
                await shot(page, "12-expert-reviewed")
        await chair_closes_stage(desks, chair, next_stage)
    for number, (_, username) in enumerate(members):
        page = await expert_page(desks, username)
        for account, (credit_code, _) in BIDDERS.items():
            form = page.locator(f"#score-{credit_code}")
            await form.locator('input[name="item_0"]').fill(TECHNICAL[account])
            await submit(page, form.locator("button[type=submit]"))
        if number == 0:
            await shot(page, "13-expert-scored")
    await chair_closes_stage(desks, chair, "评标报告签署")

    # The chair signs with a key made in its browser; the others confirm with their accounts.
    page = await desks.open(chair)
    await page.goto(desks.url + "/expert")
    async with page.expect_download() as download_info:
        await page.click("#make-key")
    key_file = folder / "chair-signing.key"
    await (await download_info.value).save_as(key_file)
    await submit(page, page.locator('form[action="/expert/key"] button[type=submit]'))
    assert "已登记签名公钥" in await page.locator("main").inner_text()
    page = await expert_page(desks, chair)
    await page.set_input_files("#key-file", str(key_file))
    await page.wait_for_selector("#sign-button:not([disabled])")
    await submit(page, page.locator("#sign-button"))
    assert "您已签署评标报告（数字签名）" in await page.locator("main").inner_text()
    await shot(page, "14-chair-signed")
    for _, username in members[1:]:
        page = await expert_page(desks, username)
        await page.check("form.confirm-form input[name=confirm]")
        await submit(page, page.locator("form.confirm-form button[type=submit]"))
        assert "您已签署评标报告（账号确认）" in await page.locator("main").inner_text() or \
            "本轮评标已结束" in await page.locator("main").inner_text()
    page = await expert_page(desks, chair)
    assert "本轮评标已结束" in await page.locator("main").inner_text()  # every member signed: it completes
    report = await page.locator("table.report").inner_text()
    assert all(yuan(price) in report for _, price in BIDDERS.values())
    await shot(page, "15-evaluation-completed")


# --------------------------------------------------------------------------- the tender


async def test_a_procurement_tender_through_the_pages_by_each_role_from_registration_to_award_notice(
        portal, browser, engine, keys, experts, tmp_path):
    desks = Desks(browser, portal.url)
    try:
        # 1. The tendering party registers the project and publishes the announcement.
        await party_registers_and_announces(desks, engine)

        # 2. The bidders register; finance confirms the deposit the credit decision asks for;
        # each makes its key and seals and submits its bid in the browser.
        deposits = {}
        for account in BIDDERS:
            required = await bidder_registers(desks, engine, account)
            if required:
                await finance_confirms_deposit(desks, account, required)
                deposits[account] = required
        assert list(deposits) == ["bidder2"], deposits  # the demo credit data: bidder2 on the negative list
        bidder2 = await desks.open("bidder2")
        await bidder2.goto(f"{portal.url}/bidder/tenders/{CODE}")
        assert await bidder2.locator("table.deposit .status-paid").count() == 1  # the deposit paid, as it sees
        await shot(bidder2, "03-bidder-registered-deposit-paid")
        key_files, receipts = {}, {}
        for account in BIDDERS:
            key_files[account] = await bidder_makes_key(desks, account, tmp_path)
            receipts[account] = await bidder_seals_and_submits(desks, account, key_files[account], tmp_path)
        assert all(re.fullmatch(r"[0-9a-f]{64}", digest) for digest in receipts.values())
        assert len(set(receipts.values())) == len(BIDDERS)  # a signed receipt each
        await shot(desks.pages["bidder3"], "05-bidder-bid-submitted")

        # 3. The bid deadline passes (controllable clock, see the module's docstring): the
        # chronograph starts the opening by itself (the center's halves opened, the window open).
        await deadline_passes(engine)
        await wait_for_state(engine, "opening")

        # 4. A supervisor watches the live opening while each bidder decrypts in its browser.
        supervisor = await desks.open("supervisor")
        await supervisor.goto(f"{portal.url}/supervision/openings/{CODE}")
        await supervisor.wait_for_selector('[data-live-status][data-state="live"]')
        await supervisor.evaluate("window.notReloaded = true")
        assert await supervisor.locator("table.opening-record tbody tr").count() == len(BIDDERS)
        await shot(supervisor, "06-supervisor-opening-waiting")
        for number, account in enumerate(BIDDERS, start=1):
            await bidder_decrypts(desks, account, key_files[account])
            row = supervisor.locator(f'tr[data-bidder="{BIDDERS[account][0]}"]')
            await row.locator("td.state", has_text="已解密").wait_for()
            assert await supervisor.locator("[data-decrypted-count]").inner_text() == str(number)
            assert yuan(BIDDERS[account][1]) in await row.inner_text()
        await shot(desks.pages["bidder1"], "07-bidder-decrypted")
        assert await supervisor.evaluate("window.notReloaded === true")  # updated in place, never reloaded
        await shot(supervisor, "08-supervisor-opening-live")

        # The decryption window ends (controllable clock); the chronograph closes it. The center
        # finishes the opening on the tender's page.
        await decryption_window_ends(engine)
        center = await desks.open("admin")
        await center.goto(f"{portal.url}/center/tenders/{CODE}")
        await submit(center, center.locator("form.finish-opening-form button[type=submit]"))
        assert await state_of(engine) == "evaluating"
        await supervisor.reload()
        assert "开标结束" in await supervisor.locator("main").inner_text()

        # 5. The committee: requested by the center on the tender's page, the draw witnessed by
        # the supervisor, the experts confirm; at the session's start (controllable clock) the
        # center starts the evaluation session on the tender's page (which unseals the committee).
        request_id = await center_requests_committee(desks, engine)
        await supervisor_witnesses_draws(desks, engine, request_id)
        members = await experts_confirm_summons(desks, engine, experts, request_id)
        await committee_session_starts(engine, request_id)
        await center.goto(f"{portal.url}/center/tenders/{CODE}")
        await submit(center, center.locator("form.start-evaluation-form button[type=submit]"))
        assert "评标进行中" in await center.locator("main").inner_text()
        await shot(await expert_page(desks, members[0][1]), "11-expert-evaluation-started")

        # 6. The experts elect the chair, review, score and sign, each in its browser.
        await experts_evaluate(desks, members, tmp_path)

        # 7. The center publishes the candidates; the party confirms the winner.
        await center.goto(f"{portal.url}/center/tenders/{CODE}")
        await submit(center, center.locator("button:has-text('公示中标候选人')"))
        assert await state_of(engine) == "publicity"
        await shot(center, "16-center-candidates-published")
        party = await desks.open("tenderer")
        await party.goto(f"{portal.url}/party/projects/{CODE}/result")
        await party.select_option("#f-rank", "1")
        await party.fill("#f-reason", "排名第一，报价最低且满足采购需求")
        await submit(party, party.locator("button:has-text('确定中标人')"))
        assert "已确定为中标人" in await party.locator("main").inner_text()
        await shot(party, "17-party-winner-confirmed")

        # 8. The publicity period passes (controllable clock): the chronograph awards.
        await publicity_period_passes(engine)
        await wait_for_state(engine, "awarded")

        # 9. The center issues the award notice and downloads the signed PDF.
        await center.goto(f"{portal.url}/center/tenders/{CODE}")
        await submit(center, center.locator("button:has-text('发出中标通知书')"))
        notice_text = await center.locator("main").inner_text()
        assert "中标结果通知" in notice_text
        assert f"（{BIDDERS['bidder1'][0]}）" in notice_text  # the winner: the lowest price, ranked first
        await shot(center, "18-center-award-notice-issued")
        async with center.expect_download() as download_info:
            await center.click("#award-notice-pdf")
        download = await download_info.value
        pdf = tmp_path / "中标通知书.pdf"
        await download.save_as(pdf)
        assert pdf.read_bytes().startswith(b"%PDF-")
        number = await in_session(engine, lambda s: s.scalar(select(AwardNotice.number).join(
            Project, Project.id == AwardNotice.project_id).where(Project.code == CODE)))
        assert download.suggested_filename.startswith(number)

        # 10. Anyone verifies the notice on the public page (its QR code's address), and the file.
        public = await desks.open(None)
        await public.goto(f"{portal.url}/verify/award-notices/{number}")
        assert "✔ 签名有效" in await public.locator("main").inner_text()
        await public.set_input_files('input[type=file][name=file]', str(pdf))
        await submit(public, public.locator('form[enctype="multipart/form-data"] button[type=submit]'))
        assert "✔ 文件相符" in await public.locator("main").inner_text()
        await shot(public, "19-public-award-notice-verified")
    finally:
        await desks.close()
