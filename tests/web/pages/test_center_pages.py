"""The center staff's pages: pools, rooms, rule sets, the fee schedule, the ledger and the
satisfaction ratings. Bidders never reach them; finance acts on money and nobody else;
supervisors read and dismiss collusion flags; a refused form says why in Chinese beside
the field and keeps what was typed."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from html import unescape

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bidding.draws.project_draws import draw_project_agency, request_project_committee
from bidding.tender.registrations import register_bidder
from cli.demo import load_demo_data
from expert_pool.committees import INVITED, GroupSpec, answer_invitation
from expert_pool.models import Expert
from tests.common import factories
from tests.common.portal import csrf_token_from, log_in
from tests.common.award_world import award
from tests.common.committees import members, witness_all
from trading.database import database_now, make_sessionmaker, transaction
from trading.draws import supply_witness
from trading.fees import service_fee
from trading.keys import load_center_keys
from trading.money import yuan
from trading.settings import Settings
from trading.timefmt import CENTER_ZONE
from web.app import create_app

WORKS = "JN-2026-GC-0007"  # the demo hospital's project; "tenderer" is its party
RENOVATION = "JN-2026-GC-0008"
HONGYUAN = "91370811MA23456788"  # demo bidder2: on the deposit negative list
LUJIAN = "91370800MA1234567Q"  # demo bidder1
HEADER = "交易流水号,付款账号,付款户名,金额（元）,附言,到账日期"

READ_PAGES = ["/center", "/center/experts", "/center/agencies", "/center/rooms", "/center/rules", "/center/fees",
              "/center/ledger", "/center/ledger/refunds", "/center/ledger/flags", "/center/ledger/receipts",
              "/center/ratings"]


@pytest.fixture(scope="module")
async def client(settings: Settings, database_url: str, engine: AsyncEngine) -> AsyncIterator[AsyncTestClient]:
    async with transaction(make_sessionmaker(engine)) as session:
        await load_demo_data(session)
        for code in (HONGYUAN, LUJIAN):
            await register_bidder(session, actor="test", project_code=RENOVATION, bidder_credit_code=code)
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


@pytest.fixture(autouse=True)
def anonymous(client: AsyncTestClient) -> None:
    client.cookies.clear()


async def as_user(client: AsyncTestClient, username: str) -> str:
    """Sign in as a demo account; the CSRF token for its forms."""
    client.cookies.clear()
    answer = await log_in(client, username)
    assert answer.status_code in (302, 303), answer.text
    return await csrf_token_from(client, "/workspace")


def field_error(page: str, name: str) -> str:
    """The message shown beside field ``name`` (web/templates/_parts/form.html)."""
    match = re.search(rf'<p class="field-error" id="e-(?:[\w-]+-)?{name}">([^<]*)</p>', page)  # a repeated form's prefix
    assert match, f"no error beside {name}"
    return unescape(match.group(1))


def value_of(page: str, name: str) -> str:
    match = re.search(rf'<input id="f-(?:[\w-]+-)?{name}" name="{name}" type="[^"]*" value="([^"]*)"', page)
    assert match, f"no input {name}"
    return unescape(match.group(1))


# ----------------------------------------------------------------------------- who may enter


async def test_a_bidder_cannot_reach_the_center_pages_and_the_public_is_asked_to_log_in(client):
    for path in READ_PAGES:
        answer = await client.get(path, follow_redirects=False)
        assert answer.status_code in (302, 303) and answer.headers["location"].startswith("/login"), path
    token = await as_user(client, "bidder1")
    for path in [*READ_PAGES, "/center/ledger/statements", "/center/experts/EXP000001"]:
        answer = await client.get(path)
        assert answer.status_code == 403, path
        assert "无权" in answer.text
    refused = await client.post("/center/rooms/bookings", data={"_csrf_token": token, "room": "KB01"})
    assert refused.status_code == 403


async def test_the_center_pages_open_for_the_roles_that_read_them(client):
    await as_user(client, "admin")
    for path in READ_PAGES:
        answer = await client.get(path)
        assert answer.status_code == 200, (path, answer.text[:500])
    assert (await client.get("/center/ledger/statements")).status_code == 403  # finance only
    workspace = await client.get("/workspace")
    assert 'href="/center/experts"' in workspace.text and 'href="/center/ledger"' in workspace.text

    await as_user(client, "supervisor")
    for path in READ_PAGES:
        assert (await client.get(path)).status_code == 200, path

    await as_user(client, "finance")
    for path in ["/center", "/center/ledger", "/center/ledger/refunds", "/center/ledger/receipts",
                 "/center/ledger/statements", "/center/fees", "/center/rules"]:
        assert (await client.get(path)).status_code == 200, path
    for path in ["/center/experts", "/center/agencies", "/center/rooms", "/center/ratings", "/center/ledger/flags"]:
        assert (await client.get(path)).status_code == 403, path

    await as_user(client, "credit")
    workspace = await client.get("/workspace")
    assert 'href="/credit/records"' in workspace.text and 'href="/credit/import"' in workspace.text
    assert (await client.get("/center/ledger")).status_code == 403


async def test_money_is_moved_by_finance_staff_only(client):
    deposit = {"project_code": RENOVATION, "bidder_credit_code": HONGYUAN, "amount": "1.00", "account": "1",
               "account_name": "宏远", "bank_reference": "X1", "value_date": "2026-11-20"}
    for who in ("admin", "supervisor"):
        token = await as_user(client, who)
        assert (await client.post("/center/ledger/deposits", data={**deposit, "_csrf_token": token})).status_code == 403
        assert (await client.post("/center/ledger/refunds/1/paid", data={"_csrf_token": token, "bank_reference": "R",
                                                                          "value_date": "2026-11-20"})).status_code == 403
        upload = await client.post("/center/ledger/statements", data={"_csrf_token": token},
                                   files={"file": ("s.csv", HEADER.encode(), "text/csv")})
        assert upload.status_code == 403
    token = await as_user(client, "finance")
    dismissal = await client.post("/center/ledger/flags/1/dismissal", data={"_csrf_token": token, "reason": "核查"})
    assert dismissal.status_code == 403  # supervisors dismiss collusion flags


# ----------------------------------------------------------------------------- rooms and pools


async def test_an_overlapping_room_booking_is_refused_beside_the_time_and_the_input_is_kept(client, engine):
    token = await as_user(client, "admin")
    async with engine.connect() as connection:
        tomorrow = (await connection.scalar(select(func.now()))).astimezone(CENTER_ZONE).date() + timedelta(days=1)
    booking = {"_csrf_token": token, "room": "KB02", "project_code": WORKS, "purpose": "开标",
               "starts_at": f"{tomorrow}T09:00", "ends_at": f"{tomorrow}T11:00"}
    booked = await client.post("/center/rooms/bookings", data=booking, follow_redirects=False)
    assert booked.status_code in (302, 303), booked.text
    day = await client.get(booked.headers["location"])
    assert f"{tomorrow} 09:00至11:00" in day.text and WORKS in day.text

    clash = await client.post("/center/rooms/bookings", data={
        **booking, "project_code": RENOVATION, "starts_at": f"{tomorrow}T10:30", "ends_at": f"{tomorrow}T12:00"})
    assert clash.status_code == 400
    message = field_error(clash.text, "starts_at")
    assert "已被预约" in message and WORKS in message and "不能重复预约" in message
    assert value_of(clash.text, "project_code") == RENOVATION
    assert value_of(clash.text, "starts_at") == f"{tomorrow}T10:30"

    # Back to back is no clash (the end is not part of the booking).
    follows = await client.post("/center/rooms/bookings", data={
        **booking, "project_code": RENOVATION, "starts_at": f"{tomorrow}T11:00", "ends_at": f"{tomorrow}T12:00"},
        follow_redirects=False)
    assert follows.status_code in (302, 303), follows.text

    # Cancelled with a reason, the time is free again.
    day = await client.get("/center/rooms", params={"day": str(tomorrow)})
    first = re.search(r'action="/center/rooms/bookings/(\d+)/cancel"', day.text).group(1)
    no_reason = await client.post(f"/center/rooms/bookings/{first}/cancel", data={"_csrf_token": token, "reason": "",
                                                                                 "day": str(tomorrow)})
    assert no_reason.status_code == 400 and field_error(no_reason.text, "reason") == "请填写取消原因"
    cancelled = await client.post(f"/center/rooms/bookings/{first}/cancel", data={
        "_csrf_token": token, "reason": "开标时间推迟", "day": str(tomorrow)}, follow_redirects=False)
    assert cancelled.status_code in (302, 303)
    again = await client.post("/center/rooms/bookings", data={
        **booking, "project_code": RENOVATION, "starts_at": f"{tomorrow}T10:00", "ends_at": f"{tomorrow}T10:30"},
        follow_redirects=False)
    assert again.status_code in (302, 303), again.text

    missing = await client.post("/center/rooms/bookings", data={**booking, "purpose": "", "ends_at": "明天"})
    assert missing.status_code == 400
    assert field_error(missing.text, "purpose") == "请填写用途"
    assert "格式有误" in field_error(missing.text, "ends_at")


async def test_an_expert_is_suspended_with_a_reason_and_reinstated(client, engine):
    async with engine.connect() as connection:
        code = await connection.scalar(select(Expert.code).where(Expert.status == "active").order_by(Expert.code))
    token = await as_user(client, "admin")
    page = await client.get("/center/experts", params={"q": code})
    assert page.status_code == 200 and f"/center/experts/{code}" in page.text
    assert "共 1 名专家" in page.text

    no_reason = await client.post(f"/center/experts/{code}/status", data={"_csrf_token": token, "status": "suspended",
                                                                        "reason": ""})
    assert no_reason.status_code == 400 and field_error(no_reason.text, "reason") == "请填写原因"
    assert 'value="suspended" selected' in no_reason.text

    done = await client.post(f"/center/experts/{code}/status", data={
        "_csrf_token": token, "status": "suspended", "reason": "年度考核不合格"}, follow_redirects=False)
    assert done.status_code in (302, 303)
    page = await client.get(f"/center/experts/{code}")
    assert "暂停（年度考核不合格）" in page.text
    assert "暂停" in (await client.get("/center/experts", params={"status": "suspended"})).text

    # The annual review: a suspension needs its reason; a pass moves the next review a year on.
    no_reason = await client.post(f"/center/experts/{code}/review", data={"_csrf_token": token, "decision": "retire",
                                                                        "reason": ""})
    assert no_reason.status_code == 400 and field_error(no_reason.text, "reason") == "请填写原因"
    due = re.search(r"<th>下次审定</th><td>([0-9-]+)</td>", page.text).group(1)
    passed = await client.post(f"/center/experts/{code}/review", data={"_csrf_token": token, "decision": "pass",
                                                                     "reason": ""}, follow_redirects=False)
    assert passed.status_code in (302, 303), passed.text
    later = re.search(r"<th>下次审定</th><td>([0-9-]+)</td>", (await client.get(f"/center/experts/{code}")).text)
    assert int(later.group(1)[:4]) == int(due[:4]) + 1 and later.group(1)[4:] == due[4:]
    assert (await client.get("/center/experts", params={"review": "due"})).status_code == 200

    token = await as_user(client, "supervisor")
    refused = await client.post(f"/center/experts/{code}/status", data={"_csrf_token": token, "status": "active",
                                                                      "reason": "复核"})
    assert refused.status_code == 403
    token = await as_user(client, "admin")
    back = await client.post(f"/center/experts/{code}/status", data={"_csrf_token": token, "status": "active",
                                                                   "reason": "复核合格"}, follow_redirects=False)
    assert back.status_code in (302, 303)


async def test_an_agency_is_found_and_its_status_changed(client):
    token = await as_user(client, "admin")
    listing = await client.get("/center/agencies")
    first = re.search(r'href="/center/agencies/([^"]+)"', listing.text).group(1)
    page = await client.get(f"/center/agencies/{first}")
    assert page.status_code == 200 and "变更状态" in page.text
    same = await client.post(f"/center/agencies/{first}/status", data={"_csrf_token": token, "status": "active",
                                                                      "reason": "无"})
    assert same.status_code == 400 and "已是「正常」状态" in field_error(same.text, "status")
    done = await client.post(f"/center/agencies/{first}/status", data={
        "_csrf_token": token, "status": "suspended", "reason": "项目负责人不到场"}, follow_redirects=False)
    assert done.status_code in (302, 303)
    assert "项目负责人不到场" in (await client.get(f"/center/agencies/{first}")).text


# ----------------------------------------------------------------------------- rules and fees


async def test_every_rule_is_shown_with_its_value_and_legal_source(client):
    await as_user(client, "supervisor")
    listing = await client.get("/center/rules")
    link = re.search(r'href="(/center/rules/construction-open-tender/[^"]+)"', listing.text).group(1)
    page = await client.get(link)
    assert page.status_code == 200
    row = re.search(r"tender_docs_to_bid_deadline_min_days</span></td>\s*<td[^>]*>(.*?)</td>\s*<td>(.*?)</td>\s*"
                    r"<td>(.*?)</td>", page.text, re.S)
    assert row and row.group(1).strip() == "20" and row.group(2) == "日（日历日）"
    assert "招标投标法 第二十四条" in row.group(3)
    assert "（¥ " in page.text  # amounts in fen are shown in yuan too


async def test_the_fee_schedule_computes_the_published_example(client):
    await as_user(client, "finance")
    page = await client.get("/center/fees", params={"amount": "60000000", "category": "works"})
    assert page.status_code == 200 and "服务费：¥ 225,500.00 元" in page.text
    bad = await client.get("/center/fees", params={"amount": "六千万", "category": "works"})
    assert bad.status_code == 400 and "中标金额" in field_error(bad.text, "amount")
    assert value_of(bad.text, "amount") == "六千万"


async def test_the_service_fee_is_charged_after_the_award_only_by_finance_or_administrators(client):
    token = await as_user(client, "supervisor")
    assert (await client.post("/center/fees/charges", data={"_csrf_token": token, "project_code": WORKS})
            ).status_code == 403
    token = await as_user(client, "admin")
    early = await client.post("/center/fees/charges", data={"_csrf_token": token, "project_code": RENOVATION,
                                                            "category": "works"})
    assert early.status_code == 400 and "定标后才能收取服务费" in field_error(early.text, "project_code")
    assert value_of(early.text, "project_code") == RENOVATION
    assert (await client.post("/center/fees/1/paid", data={"_csrf_token": token, "account": "1"})).status_code == 403


async def test_the_winner_is_charged_the_service_fee_and_finance_record_its_payment(client, settings, engine):
    async with transaction(make_sessionmaker(engine)) as session:
        code = await award(session, load_center_keys(settings), [450_000_000, 470_000_000, 480_000_000])
    token = await as_user(client, "admin")
    charged = await client.post("/center/fees/charges", data={"_csrf_token": token, "project_code": code,
                                                              "category": ""}, follow_redirects=False)
    assert charged.status_code in (302, 303), charged.text
    fee = yuan(service_fee(450_000_000, "works"))
    page = await client.get("/center/fees")
    assert "4,500,000.00" in page.text and fee in page.text and "待缴纳" in page.text
    fee_id = re.search(r'action="/center/fees/(\d+)/paid"', page.text)
    assert fee_id is None  # the administrator charges; finance records the payment

    token = await as_user(client, "finance")
    fee_id = re.search(r'action="/center/fees/(\d+)/paid"', (await client.get("/center/fees")).text).group(1)
    form = {"_csrf_token": token, "account": "6222000011112222", "account_name": "中标单位", "bank_reference": "",
            "value_date": "2026-11-22", "bank": ""}
    missing = await client.post(f"/center/fees/{fee_id}/paid", data=form)
    assert missing.status_code == 400 and field_error(missing.text, "bank_reference") == "请填写银行交易流水号"
    assert value_of(missing.text, "account_name") == "中标单位"
    paid = await client.post(f"/center/fees/{fee_id}/paid", data={**form, "bank_reference": "FEE-1"},
                             follow_redirects=False)
    assert paid.status_code in (302, 303), paid.text
    page = await client.get("/center/fees")
    assert "已缴纳" in page.text and re.search(r'href="/center/ledger/receipts/[^"]+/pdf"', page.text)


# ----------------------------------------------------------------------------- the ledger


async def test_finance_confirm_a_deposit_and_its_receipt_is_listed_with_its_verification(client):
    token = await as_user(client, "finance")
    form = {"_csrf_token": token, "project_code": RENOVATION, "bidder_credit_code": HONGYUAN, "amount": "246,000",
            "account": "6228480000000001", "account_name": "宏远建筑", "bank_reference": "M-0001",
            "value_date": "2026-11-20", "bank": "工商银行济宁分行"}
    unknown = await client.post("/center/ledger/deposits", data={**form, "project_code": "JN-0000"})
    assert unknown.status_code == 400 and "未找到项目 JN-0000" in field_error(unknown.text, "project_code")
    assert value_of(unknown.text, "account_name") == "宏远建筑"
    bad_amount = await client.post("/center/ledger/deposits", data={**form, "amount": "二十万"})
    assert "金额应为以元为单位的数字" in field_error(bad_amount.text, "amount")
    not_admitted = await client.post("/center/ledger/deposits", data={**form, "bidder_credit_code": "91370802MA3456789Q"})
    assert "未获准报名" in field_error(not_admitted.text, "bidder_credit_code")

    done = await client.post("/center/ledger/deposits", data=form, follow_redirects=False)
    assert done.status_code in (302, 303), done.text
    page = await client.get(done.headers["location"])
    assert "246,000.00" in page.text and "人工确认" in page.text and "在账" in page.text
    number = re.search(r'href="/center/ledger/receipts/([^"/]+)/pdf"', page.text).group(1)
    pdf = await client.get(f"/center/ledger/receipts/{number}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    receipts = await client.get("/center/ledger/receipts")
    assert f'href="/verify/receipts/{number}"' in receipts.text
    verified = await client.get(f"/verify/receipts/{number}")
    assert verified.status_code == 200

    again = await client.post("/center/ledger/deposits", data=form)
    assert again.status_code == 400 and "已入账" in field_error(again.text, "bank_reference")


async def test_a_bank_statement_is_imported_with_a_report_per_row(client):
    token = await as_user(client, "finance")
    bad = "\n".join([HEADER, f"S-0001,6228480000000009,鲁建,12.5,{RENOVATION} {LUJIAN},2026-11-20",
                     f"S-0002,6228480000000009,鲁建,100.00,JN-9999-XX {LUJIAN},2026/13/01"]).encode("utf-8-sig")
    refused = await client.post("/center/ledger/statements", data={"_csrf_token": token, "bank": ""},
                                files={"file": ("流水.csv", bad, "text/csv")})
    assert refused.status_code == 400
    report = re.search(r'<table class="center-table" id="statement-errors">(.*?)</table>', refused.text, re.S).group(1)
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td>", report)
    assert ("2", "金额（元）") in rows and ("3", "附言") in rows and ("3", "到账日期") in rows

    good = "\n".join([HEADER, f"S-0003,6228480000000009,鲁建,\"1,000.00\",{RENOVATION} {LUJIAN},2026-11-20"]
                     ).encode("utf-8-sig")
    imported = await client.post("/center/ledger/statements", data={"_csrf_token": token, "bank": "农业银行"},
                                 files={"file": ("流水.csv", good, "text/csv")})
    assert imported.status_code == 200, imported.text
    assert "新到账 1 笔" in imported.text and "S-0003" in imported.text
    again = await client.post("/center/ledger/statements", data={"_csrf_token": token, "bank": "农业银行"},
                              files={"file": ("流水.csv", good, "text/csv")})
    assert "此前已导入 1 笔" in again.text and "未重复记账" in again.text

    empty = await client.post("/center/ledger/statements", data={"_csrf_token": token, "bank": "农业银行"})
    assert empty.status_code == 400 and "请选择" in field_error(empty.text, "file")
    assert value_of(empty.text, "bank") == "农业银行"


async def test_refunds_are_instructed_and_paid_by_finance_and_collusion_is_dismissed_by_supervisors(client):
    token = await as_user(client, "finance")
    # Two bidders paying from one account: a collusion flag for the supervisors.
    for code, reference in ((HONGYUAN, "C-1"), (LUJIAN, "C-2")):
        answer = await client.post("/center/ledger/deposits", data={
            "_csrf_token": token, "project_code": RENOVATION, "bidder_credit_code": code, "amount": "100",
            "account": "6228 4800 0000 0077", "account_name": "张三", "bank_reference": reference,
            "value_date": "2026-11-21", "bank": ""}, follow_redirects=False)
        assert answer.status_code in (302, 303), answer.text
    instructed = await client.post("/center/ledger/refunds/instruct", data={
        "_csrf_token": token, "project_code": RENOVATION, "event": "terminated"}, follow_redirects=False)
    assert instructed.status_code in (302, 303), instructed.text
    refunds = await client.get("/center/ledger/refunds", params={"project": RENOVATION})
    numbers = re.findall(r'<td class="mono">(TK\d{8})</td>', refunds.text)
    assert numbers and "待支付" in refunds.text
    refund_id = int(numbers[0][2:])
    missing = await client.post(f"/center/ledger/refunds/{refund_id}/paid", data={
        "_csrf_token": token, "bank_reference": "", "value_date": "2026-11-22", "bank": ""})
    assert missing.status_code == 400 and field_error(missing.text, "bank_reference") == "请填写银行交易流水号"
    paid = await client.post(f"/center/ledger/refunds/{refund_id}/paid", data={
        "_csrf_token": token, "bank_reference": "OUT-1", "value_date": "2026-11-22", "bank": ""},
        follow_redirects=False)
    assert paid.status_code in (302, 303), paid.text
    assert "已支付" in (await client.get("/center/ledger/refunds")).text

    token = await as_user(client, "supervisor")
    flags = await client.get("/center/ledger/flags")
    flag_id = re.search(r'action="/center/ledger/flags/(\d+)/dismissal"', flags.text).group(1)
    no_reason = await client.post(f"/center/ledger/flags/{flag_id}/dismissal", data={"_csrf_token": token,
                                                                                    "reason": ""})
    assert no_reason.status_code == 400 and field_error(no_reason.text, "reason") == "请填写撤销理由"
    done = await client.post(f"/center/ledger/flags/{flag_id}/dismissal", data={
        "_csrf_token": token, "reason": "担保公司代缴，已核实"}, follow_redirects=False)
    assert done.status_code in (302, 303)
    assert "已撤销：担保公司代缴，已核实" in (await client.get("/center/ledger/flags")).text


# ----------------------------------------------------------------------------- ratings (好差评)


async def test_the_party_rates_after_the_tender_and_the_center_sees_the_summary(client, settings, engine):
    keys = load_center_keys(settings)
    async with transaction(make_sessionmaker(engine)) as session:
        for _ in range(7):
            await factories.expert(session)
        now = await database_now(session)
        request = await request_project_committee(
            session, keys, actor="test", project_code=WORKS, starts_at=now + timedelta(days=2),
            ends_at=now + timedelta(days=2, hours=4), place="第1评标室", groups=[GroupSpec("A0801", 5, 2)])
        await witness_all(session, keys, request.id)
        seated = [m for m in await members(session, request.id) if m.status == INVITED]
        for member in seated:
            await answer_invitation(session, keys, member_id=member.id, expert_id=member.expert_id, accept=True,
                                    actor="test")
        sat = [await session.scalar(select(Expert.code).where(Expert.id == m.expert_id)) for m in seated]
        await factories.agency(session, "AG-CENTER")
        drawn = await draw_project_agency(session, keys, actor="test", project_code=WORKS, reserve_count=0)
        await supply_witness(session, keys, drawn.draw_id, value="招标人见证 77", by="user:2:tenderer")
        await session.execute(text("UPDATE projects SET state = 'publicity' WHERE code = :c"), {"c": WORKS})

    token = await as_user(client, "tenderer")
    page = await client.get("/center/ratings/rate", params={"project": WORKS})
    assert page.status_code == 200 and all(code in page.text for code in sat)
    assert "代理工作尚未结束，暂不能评价" in page.text  # the tender is in publicity
    bad = await client.post("/center/ratings/rate", data={"_csrf_token": token, "project_code": WORKS,
                                                          "kind": "expert", "code": sat[0], "score": "120",
                                                          "comment": "评审认真，意见明确"})
    assert bad.status_code == 400 and field_error(bad.text, "score") == "评分应为 0 到 100 之间的整数"
    assert "评审认真，意见明确</textarea>" in bad.text
    for code, score, comment in ((sat[0], "92", "评审认真"), (sat[1], "55", "迟到早退")):
        done = await client.post("/center/ratings/rate", data={"_csrf_token": token, "project_code": WORKS,
                                                               "kind": "expert", "code": code, "score": score,
                                                               "comment": comment}, follow_redirects=False)
        assert done.status_code in (302, 303), done.text
    twice = await client.post("/center/ratings/rate", data={"_csrf_token": token, "project_code": WORKS,
                                                            "kind": "expert", "code": sat[0], "score": "80"})
    assert twice.status_code == 400 and "已对专家" in twice.text
    assert "已评价：92 分" in (await client.get("/center/ratings/rate", params={"project": WORKS})).text
    assert (await client.get("/center")).status_code == 403  # the rating form is all a party sees here

    token = await as_user(client, "supervisor")
    await client.post("/center/ratings/rate", data={"_csrf_token": token, "project_code": WORKS, "kind": "expert",
                                                    "code": sat[0], "score": "70", "comment": ""})
    summary = await client.get("/center/ratings", params={"q": sat[0]})
    row = re.search(rf'href="/center/experts/{sat[0]}">.*?</tr>', summary.text, re.S).group(0)
    cells = re.findall(r'<td class="num">([^<]*)</td>', row)
    # Two ratings (92, 70): average 81.0, one good (好评) and one fair (中评), none poor.
    assert cells == ["2", "81.0", "50.0%", "1", "1", "0"]
    assert "评审认真" in row
    low = await client.get("/center/ratings", params={"q": sat[1]})
    assert re.findall(r'<td class="num">([^<]*)</td>', low.text)[:6] == ["1", "55.0", "0.0%", "0", "0", "1"]
