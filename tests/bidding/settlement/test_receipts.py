"""Electronic receipts (电子票据): a signed PDF in Chinese for every deposit received, fee paid
and refund paid — once each — with the amount in capitals, a QR code to the public
verification page, the center's signature over the record including the PDF's SHA-256,
the PDF for the payer and the center only; and collusion flags dismissed by supervisors."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import date

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from bidding.settlement.service_fee import charge_service_fee, confirm_fee_paid
from bidding.tender.lifecycle import apply_transition
from bidding.settlement.due_receipts import issue_due_receipts, receipts_of
from bidding.settlement.refunds import confirm_refund_paid
from bidding.tender.registrations import register_bidder
from tests.common import factories
from tests.common import bids
from tests.common import settlement as refunds
from tests.common.pdfs import assert_only_the_bundled_font, pdf_text
from tests.common.portal import bearer
from tests.common.tenders import tender_project
from trading.audit import AuditEntry
from trading.database import make_sessionmaker, transaction
from trading.errors import Conflict, InvalidInput
from trading.keys import load_center_keys, verify_signature
from trading.ledger import collusion_flags, dismiss_collusion_flag
from trading.receipts import Receipt, amount_in_words, verify_receipt
from trading.settings import Settings
from web.app import create_app

PUBLIC = "http://127.0.0.1:8000"
LUJIAN, HONGYUAN = bids.LUJIAN, bids.HONGYUAN  # demo bidder1, bidder2


@pytest.mark.parametrize(("fen", "words"), [
    (80_000_000, "捌拾万元整"), (100_005, "壹仟元零伍分"), (12_345_678_901, "壹亿贰仟叁佰肆拾伍万陆仟柒佰捌拾玖元零壹分"),
    (100_001_000, "壹佰万零壹拾元整"), (10_010_000, "壹拾万零壹佰元整"), (1_530, "壹拾伍元叁角整"), (5, "伍分"),
    (0, "零元整"), (100_000_001, "壹佰万元零壹分"), (10_001_000_000, "壹亿零壹万元整"),
])
def test_amounts_are_written_in_capitals_as_the_payment_rules_ask(fen, words):
    assert amount_in_words(fen) == words


async def test_every_payment_and_refund_gets_one_signed_receipt_pdf(demo, session, keys):
    tender, bidders = await refunds.tender_with_paid_bids(session, keys, [99_000_000, 98_000_000, 97_000_000])
    await refunds.open_bids(session, keys, tender, bidders)
    winner = bidders[0][0]
    tender = await refunds.award(session, tender, [winner])
    fee = await charge_service_fee(session, project_code=tender.code, actor="test:finance")
    await confirm_fee_paid(session, fee_id=fee.id, actor="test:finance", account="6222023700007777",
                           account_name="中标单位", bank_reference="RCPT-FEE", value_date=date(2026, 11, 25))
    await apply_transition(session, actor="test", project_code=tender.code, action="record_contract")
    refund = (await refunds.refunds_of(session, tender.code))[winner]
    await confirm_refund_paid(session, refund_id=refund.id, actor="test:finance", bank_reference="RCPT-OUT",
                              value_date=date(2026, 11, 26))

    issued = await issue_due_receipts(session, keys, public_url=PUBLIC, project_code=tender.code)
    kinds = sorted(receipt.kind for receipt in issued)
    assert kinds == ["deposit", "deposit", "deposit", "fee", "refund"]  # unpaid refunds get none yet
    assert await issue_due_receipts(session, keys, public_url=PUBLIC, project_code=tender.code) == []  # once each

    by_kind = {receipt.kind: receipt for receipt in issued}
    refund_receipt = by_kind["refund"]
    record = refund_receipt.record
    assert record["protocol"] == "ledger-receipt/1" and record["number"] == refund_receipt.number
    assert record["amount_fen"] == refund.amount_fen and record["account"] == refund.payee_account
    assert record["pdf_sha256"] == hashlib.sha256(refund_receipt.pdf).hexdigest()
    assert verify_signature(record, refund_receipt.signature, keys.verify_key_hex)
    tampered = dict(record, amount_fen=record["amount_fen"] + 1)
    assert not verify_signature(tampered, refund_receipt.signature, keys.verify_key_hex)

    text = pdf_text(refund_receipt.pdf)
    assert "投标保证金退款凭证" in text and refund_receipt.number in text
    assert amount_in_words(refund.amount_fen) in text and refund.number in text
    assert f"/verify/receipts/{refund_receipt.number}" in text.replace("\n", "")
    fee_text = pdf_text(by_kind["fee"].pdf)
    assert "交易服务费收款收据" in fee_text and "差额定率累进" in fee_text and "RCPT-FEE" in fee_text
    assert "投标保证金收款收据" in pdf_text(by_kind["deposit"].pdf)

    check = verify_receipt(refund_receipt, keys.verify_key_hex, pdf=refund_receipt.pdf)
    assert check["signature_valid"] and check["pdf_matches"]
    assert check["account"].endswith(refund.payee_account[-4:]) and refund.payee_account not in str(check)
    assert not verify_receipt(refund_receipt, keys.verify_key_hex, pdf=b"%PDF-forged")["pdf_matches"]
    entries = await session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.subject == f"project:{tender.code}", AuditEntry.action == "ledger.receipt_issued"))
    assert entries == 5
    assert len(await receipts_of(session, party_credit_code=winner)) == 3  # deposit, fee, refund


async def test_a_supervisor_dismisses_a_collusion_flag_with_a_reason_and_new_facts_raise_it_again(
        demo, session, keys):
    tender = await tender_project(session, keys, "bidding")
    codes = []
    for _ in range(3):
        code = (await factories.organisation(session, "bidder")).credit_code
        await register_bidder(session, actor="test", project_code=tender.code, bidder_credit_code=code)
        codes.append(code)
    for code in codes[:2]:
        await refunds.pay_deposit(session, tender.code, code, account="6228480000004444")
    [flag] = await collusion_flags(session, project_code=tender.code)
    with pytest.raises(InvalidInput, match="须说明理由"):
        await dismiss_collusion_flag(session, flag_id=flag.id, actor="supervisor", reason=" ")
    dismissed = await dismiss_collusion_flag(session, flag_id=flag.id, actor="supervisor:王",
                                             reason="经核查为担保公司代缴，已取得书面说明")
    assert dismissed.dismissed_by == "supervisor:王" and dismissed.dismissed_at is not None
    audit = await session.scalar(select(AuditEntry).where(AuditEntry.action == "ledger.collusion_flag_dismissed",
                                                          AuditEntry.subject == f"project:{tender.code}"))
    assert audit.data["reason"] == "经核查为担保公司代缴，已取得书面说明"
    with pytest.raises(Conflict, match="已被撤销"):
        await dismiss_collusion_flag(session, flag_id=flag.id, actor="supervisor", reason="again")
    await refunds.pay_deposit(session, tender.code, codes[2], account="6228480000004444")
    [flag] = await collusion_flags(session, project_code=tender.code)
    assert flag.dismissed_at is None and len(flag.bidder_codes) == 3


# ----------------------------------------------------------------------------- API and page


@pytest.fixture(scope="module")
async def client(demo, settings: Settings, database_url: str) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


async def test_the_payer_and_the_center_download_the_pdf_and_anyone_verifies_it(client, engine, settings):
    keys_ = load_center_keys(settings)
    async with transaction(make_sessionmaker(engine)) as session:
        tender = await tender_project(session, keys_, "bidding")
        await register_bidder(session, actor="test", project_code=tender.code, bidder_credit_code=LUJIAN)
    finance = await bearer(client, "finance")
    confirmed = await client.post("/api/ledger/deposits", headers=finance, json={
        "project_code": tender.code, "bidder_credit_code": LUJIAN, "amount_fen": 1_234_500,
        "account": "6222 0237 0000 5555", "account_name": "鲁建集团", "bank_reference": "RCPT-API-1",
        "value_date": "2026-11-20"})
    assert confirmed.status_code == 201, confirmed.text

    listed = await client.get("/api/ledger/receipts", params={"project": tender.code}, headers=finance)
    [receipt] = listed.json()
    assert receipt["kind"] == "deposit" and receipt["party_credit_code"] == LUJIAN
    number = receipt["number"]
    own = await client.get("/api/ledger/receipts", headers=await bearer(client, "bidder1"))
    assert number in [row["number"] for row in own.json()]
    theirs = await client.get("/api/ledger/receipts", headers=await bearer(client, "bidder2"))
    assert number not in [row["number"] for row in theirs.json()]

    path = f"/api/ledger/receipts/{number}/pdf"
    for who, status in (("bidder1", 200), ("finance", 200), ("supervisor", 200), ("bidder2", 403),
                        ("agency", 403)):
        answer = await client.get(path, headers=await bearer(client, who))
        assert answer.status_code == status, (who, answer.status_code)
    assert (await client.get(path)).status_code == 401
    pdf = (await client.get(path, headers=finance)).content
    assert pdf.startswith(b"%PDF") and "捌拾万" not in pdf_text(pdf) and "壹万贰仟叁佰肆拾伍元整" in pdf_text(pdf)
    assert_only_the_bundled_font(pdf)

    check = await client.get(f"/api/ledger/receipts/{number}/verification")  # public
    assert check.status_code == 200
    body = check.json()
    assert body["signature_valid"] and body["pdf_sha256"] == hashlib.sha256(pdf).hexdigest()
    assert body["account"] == "************5555" and body["verify_key"] == keys_.verify_key_hex
    page = await client.get(f"/verify/receipts/{number}")
    assert page.status_code == 200 and "验证通过" in page.text and hashlib.sha256(pdf).hexdigest() in page.text
    assert "6222023700005555" not in page.text
    assert (await client.get("/verify/receipts/DZ20260101-0000000000")).status_code == 404
    async with make_sessionmaker(engine)() as session:
        stored = await session.scalar(select(Receipt).where(Receipt.number == number))
        assert f"{settings.public_url}/verify/receipts/{number}" == stored.record["verify_url"]


async def test_supervisors_dismiss_flags_over_the_api(client, engine, settings):
    keys_ = load_center_keys(settings)
    async with transaction(make_sessionmaker(engine)) as session:
        tender = await tender_project(session, keys_, "bidding")
        for code in (LUJIAN, HONGYUAN):
            await register_bidder(session, actor="test", project_code=tender.code, bidder_credit_code=code)
            await refunds.pay_deposit(session, tender.code, code, account="6228480000006666")
        [flag] = await collusion_flags(session, project_code=tender.code)
    path = f"/api/ledger/collusion-flags/{flag.id}/dismissal"
    body = {"reason": "同一担保机构代缴，经核实无串通"}
    assert (await client.post(path, json=body, headers=await bearer(client, "admin"))).status_code == 403
    answer = await client.post(path, json=body, headers=await bearer(client, "supervisor"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["dismissed"]["reason"] == body["reason"]
    listed = await client.get("/api/ledger/collusion-flags", params={"project": tender.code},
                              headers=await bearer(client, "admin"))
    assert listed.json()[0]["dismissed"]["by"].endswith(":supervisor")
