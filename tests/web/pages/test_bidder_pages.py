"""The bidder's workspace pages over HTTP: registration with the credit decision and the
deposit shown plainly, receipts, the identity key form, submission and withdrawal with the
session cookie and CSRF, the hand-in and objections at the opening, complaints; Chinese
errors beside their fields with the input kept; one bidder never sees another's."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import date

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bidding.bids import sealed_bid
from bidding.bids.bidder_keys import BidderKey
from bidding.opening.proceedings import open_handed_in_bids
from bidding.bids.opening_keys import opening_public_key
from bidding.settlement.due_receipts import issue_due_receipts
from bidding.settlement.refunds import confirm_refund_paid
from cli.demo import load_demo_data
from tests.common import factories
from tests.common.bidder_world import HONGYUAN, LUJIAN, open_now, pay_deposit, tender_in_bidding
from tests.common.portal import csrf_token_from, log_in
from trading.canonical import canon
from trading.database import make_sessionmaker, transaction
from trading.ledger import refunds_of
from trading.keys import CenterKeys, load_center_keys
from trading.organisations import Organisation
from trading.settings import Settings
from web.app import create_app


@pytest.fixture(scope="module")
async def client(settings: Settings, database_url: str, engine: AsyncEngine) -> AsyncIterator[AsyncTestClient]:
    async with transaction(make_sessionmaker(engine)) as session:
        await load_demo_data(session, pools=False)
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def keys(settings: Settings, client) -> CenterKeys:
    return load_center_keys(settings)  # the app's own keys (made when the app was created)


@pytest.fixture(autouse=True)
def anonymous(client: AsyncTestClient) -> None:
    client.cookies.clear()


async def as_user(client: AsyncTestClient, username: str) -> None:
    client.cookies.clear()
    answer = await log_in(client, username)
    assert answer.status_code in (302, 303), answer.text


async def post_form(client: AsyncTestClient, path: str, data: dict[str, str], csrf_page: str):
    token = await csrf_token_from(client, csrf_page)
    return await client.post(path, data={**data, "_csrf_token": token}, follow_redirects=False)


async def register_key(engine: AsyncEngine, credit_code: str):
    """The organisation's identity key, registered (as the key page does)."""
    signing_key = sealed_bid.make_bidder_key()
    async with transaction(make_sessionmaker(engine)) as session:
        await factories.bidder_key(session, credit_code, signing_key)
    return signing_key


async def sealed_for(engine: AsyncEngine, code: str, credit_code: str, signing_key, price_fen: int):
    payload = sealed_bid.make_package({"price_fen": price_fen, "duration_days": 180}, {"技术标.txt": "施工组织设计".encode()})
    async with transaction(make_sessionmaker(engine)) as session:
        public = await opening_public_key(session, code)
    return sealed_bid.seal(payload, code, credit_code, public, signing_key)


async def submit_page(client: AsyncTestClient, code: str, envelope: dict, ciphertext: bytes, token: str | None):
    headers = {"Accept": "application/json"}
    if token is not None:
        headers["X-CSRFToken"] = token
    return await client.post(f"/bidder/tenders/{code}/bids", headers=headers,
                             files={"envelope": (None, json.dumps(envelope)),
                                    "ciphertext": ("bid.sealed", ciphertext, "application/octet-stream")})


# ----------------------------------------------------------------------------- registration and deposits


async def test_a_bidder_registers_and_sees_the_credit_decision_and_no_deposit(client, keys, engine):
    code = await tender_in_bidding(engine, keys)
    await as_user(client, "bidder1")
    home = await client.get("/bidder/")
    assert home.status_code == 200 and code in home.text and "可报名项目" in home.text
    answer = await post_form(client, f"/bidder/tenders/{code}/registration", {}, "/bidder/")
    assert answer.status_code in (302, 303) and answer.headers["location"].startswith(f"/bidder/tenders/{code}")
    page = await client.get(f"/bidder/tenders/{code}")
    assert "准予报名" in page.text and "无需交纳" in page.text
    assert "加密并递交投标文件" in page.text
    # Registering twice is refused in Chinese on the same page.
    again = await post_form(client, f"/bidder/tenders/{code}/registration", {}, f"/bidder/tenders/{code}")
    assert again.status_code == 409 and "已报名项目" in again.text
    workspace = await client.get("/bidder/summary")
    assert code in workspace.text and "准予报名" in workspace.text


async def test_a_bidder_on_the_negative_list_is_told_the_deposit_the_account_and_its_status(client, keys, engine):
    code = await tender_in_bidding(engine, keys)
    await as_user(client, "bidder2")
    await post_form(client, f"/bidder/tenders/{code}/registration", {}, "/bidder/")
    page = await client.get(f"/bidder/tenders/{code}")
    assert "准予报名" in page.text and "未到账" in page.text
    amount = re.search(r'<strong class="amount">([\d,]+\.\d\d) 元</strong>', page.text)
    assert amount, page.text
    assert "济宁市公共资源交易中心投标保证金专户" in page.text and "37050168620800000001" in page.text
    assert f"{code} {HONGYUAN}" in page.text  # the remark that matches the payment back
    bid_page = await client.get(f"/bidder/tenders/{code}/bid")
    assert "保证金尚未到账" in bid_page.text

    fen = int(amount.group(1).replace(",", "").replace(".", ""))
    await pay_deposit(engine, keys, code, HONGYUAN, fen, reference=f"BANK-{code}")
    page = await client.get(f"/bidder/tenders/{code}")
    assert "已到账" in page.text and "缴入账户" not in page.text
    receipts = await client.get("/bidder/receipts")
    number = re.search(r'/bidder/receipts/([^/"]+)/pdf', receipts.text).group(1)
    assert f"/verify/receipts/{number}" in receipts.text
    pdf = await client.get(f"/bidder/receipts/{number}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    # The bid is withdrawn: the deposit goes back (退还中), then the bank pays it (已退还, with its receipt).
    signing_key = await register_key(engine, HONGYUAN)
    ciphertext, envelope = await sealed_for(engine, code, HONGYUAN, signing_key, 80_000_000_00)
    token = await csrf_token_from(client, f"/bidder/tenders/{code}/bid")
    assert (await submit_page(client, code, envelope, ciphertext, token)).status_code == 201
    request = {"protocol": "sealed-bid-withdraw/1", "tender_code": code, "bidder_code": HONGYUAN,
               "envelope_sha256": sealed_bid.envelope_sha256(envelope)}
    withdrawn = await client.post(f"/bidder/tenders/{code}/withdrawal", headers={"X-CSRFToken": token},
                                  json={"request": request, "signature": signing_key.sign(canon(request)).signature.hex()})
    assert withdrawn.status_code == 201, withdrawn.text
    page = await client.get(f"/bidder/tenders/{code}")
    deposit_part = page.text.split("投标保证金</h2>")[1].split("</table>")[0]
    assert "退还中" in deposit_part and f"本金 {amount.group(1)} 元" in deposit_part, deposit_part
    async with transaction(make_sessionmaker(engine)) as session:
        refund = (await refunds_of(session, project_code=code, bidder_credit_code=HONGYUAN))[0]
        await confirm_refund_paid(session, refund_id=refund.id, actor="finance", bank_reference=f"OUT-{code}",
                                  value_date=date.today())
        await issue_due_receipts(session, keys, public_url="http://127.0.0.1:8000", project_code=code)
    page = await client.get(f"/bidder/tenders/{code}")
    assert "已退还" in page.text and refund.number in page.text
    assert "退款" in (await client.get("/bidder/receipts")).text

    # Another bidder sees neither the registration's deposit nor the receipt.
    await as_user(client, "bidder1")
    assert number not in (await client.get("/bidder/receipts")).text
    assert (await client.get(f"/bidder/receipts/{number}/pdf")).status_code == 403
    other = await client.get(f"/bidder/tenders/{code}")
    assert "未到账" not in other.text and "已到账" not in other.text and HONGYUAN not in other.text


# ----------------------------------------------------------------------------- the identity key


async def test_the_key_form_keeps_a_wrong_key_and_says_why_beside_the_field(client, engine):
    await as_user(client, "bidder3")
    page = await post_form(client, "/bidder/key", {"verify_key": "abc123"}, "/bidder/key")
    assert page.status_code == 400
    assert re.search(r'class="field has-error".*?value="abc123".*?<p class="field-error" id="e-verify_key">身份公钥',
                     page.text, re.S)
    empty = await post_form(client, "/bidder/key", {"verify_key": ""}, "/bidder/key")
    assert "请填写身份公钥" in empty.text

    signing_key = sealed_bid.make_bidder_key()
    verify_hex = signing_key.verify_key.encode().hex()
    saved = await post_form(client, "/bidder/key", {"verify_key": verify_hex.upper()}, "/bidder/key")
    assert saved.status_code in (302, 303)
    assert verify_hex in (await client.get("/bidder/key")).text
    async with transaction(make_sessionmaker(engine)) as session:
        stored = await session.scalar(select(BidderKey.verify_key).join(
            Organisation, Organisation.id == BidderKey.organisation_id).where(
            Organisation.credit_code == "91370802MA3456789Q", BidderKey.revoked_at.is_(None)))
    assert stored == verify_hex


# ----------------------------------------------------------------------------- submission and withdrawal


async def test_a_bid_is_submitted_with_the_cookie_and_csrf_and_another_bidder_sees_nothing_of_it(client, keys, engine):
    code = await tender_in_bidding(engine, keys)
    await as_user(client, "bidder1")
    await post_form(client, f"/bidder/tenders/{code}/registration", {}, "/bidder/")
    signing_key = await register_key(engine, LUJIAN)
    ciphertext, envelope = await sealed_for(engine, code, LUJIAN, signing_key, 85_600_000_00)

    token = await csrf_token_from(client, f"/bidder/tenders/{code}/bid")
    refused = await submit_page(client, code, envelope, ciphertext, None)
    assert refused.status_code == 403  # no CSRF token
    answer = await submit_page(client, code, envelope, ciphertext, token)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    sealed_bid.verify_receipt(body["receipt"], body["signature"], keys.verify_key_hex, envelope)
    digest = sealed_bid.envelope_sha256(envelope)
    page = await client.get(f"/bidder/tenders/{code}")
    assert digest in page.text and "已递交（有效）" in page.text
    # Nothing shown to the bidder tells how many submitted before it (招标投标法 第二十二条).
    assert body["receipt"]["protocol"] == "sealed-bid-receipt/2" and "sequence" not in body["receipt"]
    for shown in (page.text, (await client.get("/bidder/")).text, (await client.get(f"/bidder/tenders/{code}/bid")).text):
        assert "序号" not in shown and "第 1 号" not in shown and '"sequence"' not in shown
    receipt = await client.get(f"/bidder/tenders/{code}/receipts/{digest}")
    assert receipt.json()["receipt"] == body["receipt"] and "sequence" not in receipt.text
    assert f'href="/bidder/tenders/{code}/receipts/{digest}"' in page.text

    # A tampered ciphertext is refused in Chinese, as JSON for the page's script.
    bad = await submit_page(client, code, envelope, ciphertext[:-1] + bytes([ciphertext[-1] ^ 1]), token)
    assert bad.status_code == 400 and "SHA-256" in bad.json()["error"]["message"]

    await as_user(client, "bidder2")
    other = await client.get(f"/bidder/tenders/{code}")
    assert digest not in other.text and "已递交" not in other.text
    assert (await client.get(f"/bidder/tenders/{code}/receipts/{digest}")).status_code == 404
    assert (await client.get(f"/bidder/tenders/{code}/opening/state")).status_code == 200
    assert digest not in (await client.get(f"/bidder/tenders/{code}/bid")).text

    # The signed withdrawal, as the page's script sends it.
    await as_user(client, "bidder1")
    token = await csrf_token_from(client, f"/bidder/tenders/{code}/bid")
    request = {"protocol": "sealed-bid-withdraw/1", "tender_code": code, "bidder_code": LUJIAN,
               "envelope_sha256": digest}
    signature = signing_key.sign(canon(request)).signature.hex()
    forged = await client.post(f"/bidder/tenders/{code}/withdrawal", json={"request": request, "signature": "00" * 64},
                               headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert forged.status_code == 400 and "签名无效" in forged.json()["error"]["message"]
    withdrawn = await client.post(f"/bidder/tenders/{code}/withdrawal", json={"request": request, "signature": signature},
                                  headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert withdrawn.status_code == 201, withdrawn.text
    assert withdrawn.json()["receipt"]["protocol"] == "sealed-bid-withdraw-receipt/1"
    assert "已撤回" in (await client.get(f"/bidder/tenders/{code}")).text


async def test_a_bid_sealed_on_the_command_line_can_be_uploaded_with_a_plain_form(client, keys, engine):
    code = await tender_in_bidding(engine, keys)
    await as_user(client, "bidder1")
    await post_form(client, f"/bidder/tenders/{code}/registration", {}, "/bidder/")
    signing_key = await register_key(engine, LUJIAN)
    ciphertext, envelope = await sealed_for(engine, code, LUJIAN, signing_key, 70_000_000_00)
    token = await csrf_token_from(client, f"/bidder/tenders/{code}/bid")
    page = await client.post(f"/bidder/tenders/{code}/bids", data={"_csrf_token": token},
                             files={"envelope": ("x.envelope.json", json.dumps(envelope).encode(), "application/json"),
                                    "ciphertext": ("x.sealed", ciphertext, "application/octet-stream")})
    assert page.status_code == 201 and "投标文件已递交" in page.text
    assert "序号" not in page.text and re.search(r"接收时间 \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}）", page.text)
    missing = await client.post(f"/bidder/tenders/{code}/bids", data={"_csrf_token": token},
                                files={"envelope": ("x.envelope.json", b"", "application/json")})
    assert missing.status_code == 400 and "请同时提交投标信封" in missing.text


# ----------------------------------------------------------------------------- the opening


async def test_the_hand_in_and_objection_forms_at_the_opening(client, keys, engine):
    code = await tender_in_bidding(engine, keys)
    await as_user(client, "bidder1")
    await post_form(client, f"/bidder/tenders/{code}/registration", {}, "/bidder/")
    signing_key = await register_key(engine, LUJIAN)
    ciphertext, envelope = await sealed_for(engine, code, LUJIAN, signing_key, 91_234_567_89)
    token = await csrf_token_from(client, f"/bidder/tenders/{code}/bid")
    assert (await submit_page(client, code, envelope, ciphertext, token)).status_code == 201
    before = await client.get(f"/bidder/tenders/{code}/opening")
    assert "开标尚未开始" in before.text
    await open_now(engine, keys, code)

    page = await client.get(f"/bidder/tenders/{code}/opening")
    assert page.status_code == 200 and envelope["sealed_bidder"] in page.text and "待解密" in page.text
    wrong = await post_form(client, f"/bidder/tenders/{code}/opening/hand-in", {"k_b": "12zz"},
                            f"/bidder/tenders/{code}/opening")
    assert wrong.status_code == 400 and 'value="12zz"' in wrong.text
    assert re.search(r'<p class="field-error" id="e-k_b">密钥份额', wrong.text)
    empty_objection = await post_form(client, f"/bidder/tenders/{code}/opening/objections", {"text": "  "},
                                      f"/bidder/tenders/{code}/opening")
    assert empty_objection.status_code == 400 and "请填写异议内容" in empty_objection.text

    k_b = sealed_bid.open_bidder_half(envelope, signing_key).hex()
    handed = await post_form(client, f"/bidder/tenders/{code}/opening/hand-in", {"k_b": k_b},
                             f"/bidder/tenders/{code}/opening")
    assert handed.status_code in (302, 303)
    again = await post_form(client, f"/bidder/tenders/{code}/opening/hand-in", {"k_b": k_b},
                            f"/bidder/tenders/{code}/opening")
    # Refused either way: still opening (已于…提交) or already opened by the batch opener (已解密).
    assert again.status_code == 409 and ("已于" in again.text or "该投标文件已解密" in again.text)
    async with transaction(make_sessionmaker(engine)) as session:
        await open_handed_in_bids(session, keys, code)
    state = await client.get(f"/bidder/tenders/{code}/opening/state")
    assert "已解密" in state.text and "91,234,567.89 元" in state.text

    objection = await post_form(client, f"/bidder/tenders/{code}/opening/objections", {"text": "开标时间比公告晚了五分钟"},
                                f"/bidder/tenders/{code}/opening")
    assert objection.status_code in (302, 303)
    assert "开标时间比公告晚了五分钟" in (await client.get(f"/bidder/tenders/{code}/opening")).text

    # Another bidder without a bid in this tender sees nothing of it, and gets no live stream.
    await as_user(client, "bidder2")
    other = await client.get(f"/bidder/tenders/{code}/opening/state")
    assert "91,234,567.89" not in other.text and "开标时间比公告晚了五分钟" not in other.text
    assert (await client.get(f"/bidder/live/{code}")).status_code == 404


# ----------------------------------------------------------------------------- complaints and guards


async def test_a_complaint_before_the_publicity_is_refused_and_the_text_is_kept(client, keys, engine):
    code = await tender_in_bidding(engine, keys)
    await as_user(client, "bidder1")
    empty = await post_form(client, f"/bidder/tenders/{code}/complaints", {"grounds": ""},
                            f"/bidder/tenders/{code}/complaints")
    assert empty.status_code == 400 and re.search(r'id="e-grounds">请填写投诉事项及理由', empty.text)
    text = "第一中标候选人的项目经理有在建工程，不满足招标文件要求"
    early = await post_form(client, f"/bidder/tenders/{code}/complaints", {"grounds": text},
                            f"/bidder/tenders/{code}/complaints")
    assert early.status_code == 409 and "尚未公示中标候选人" in early.text and text in early.text


async def test_only_bidders_use_the_bidder_pages(client):
    assert (await client.get("/bidder/", follow_redirects=False)).status_code in (302, 303)
    for username in ("supervisor", "tenderer", "finance"):
        await as_user(client, username)
        assert (await client.get("/bidder/")).status_code == 403
        token = await csrf_token_from(client, "/workspace")
        refused = await client.post("/bidder/key", data={"verify_key": "00" * 32, "_csrf_token": token})
        assert refused.status_code == 403
        code = "JN-2026-GC-0007"
        for path in (f"/bidder/tenders/{code}/registration", f"/bidder/tenders/{code}/bids",
                     f"/bidder/tenders/{code}/withdrawal", f"/bidder/tenders/{code}/opening/sign-in",
                     f"/bidder/tenders/{code}/opening/hand-in", f"/bidder/tenders/{code}/opening/objections",
                     f"/bidder/tenders/{code}/complaints"):
            answer = await client.post(path, data={"_csrf_token": token}, headers={"X-CSRFToken": token})
            assert answer.status_code == 403, (username, path, answer.status_code)
        assert (await client.get(f"/bidder/live/{code}")).status_code == 403
    await as_user(client, "bidder1")
    workspace = await client.get("/workspace")
    assert 'hx-get="/bidder/summary"' in workspace.text and "我的投标" in workspace.text


async def test_a_bidder_of_the_tender_complains_during_the_publicity_and_only_it_sees_its_complaint(
        client, keys, engine):
    from bidding.award.publicity import publish_candidates
    from tests.common import award_world as world

    async with transaction(make_sessionmaker(engine)) as session:
        tender = await world.tender_in_evaluation(session, keys, [100_000_000_00, 101_000_000_00, 102_000_000_00],
                                                  credit_codes=["91370802MA3456789Q", LUJIAN])
        await world.report(session, tender)
        await publish_candidates(session, actor="admin", project_code=tender.code)
    await as_user(client, "bidder1")
    text = "第一中标候选人的项目经理另有在建工程，不满足招标文件第三章要求"
    filed = await post_form(client, f"/bidder/tenders/{tender.code}/complaints", {"grounds": text},
                            f"/bidder/tenders/{tender.code}/complaints")
    assert filed.status_code in (302, 303), filed.text
    page = await client.get(filed.headers["location"])
    assert "投诉已提交" in page.text and text in page.text and "待受理" in page.text
    await as_user(client, "bidder2")
    assert text not in (await client.get(f"/bidder/tenders/{tender.code}/complaints")).text
