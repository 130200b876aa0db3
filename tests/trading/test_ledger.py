"""The deposit ledger (统一费用收取退付): bank statements imported all-or-nothing and
idempotently, manual confirmation by finance staff, registrations settled so that a bidder
who must pay may bid only once its deposit is in, yuan parsed without floats, and deposits
of different bidders from one account flagged to supervisors as collusion."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import date

import nacl.secret
import nacl.signing
import nacl.utils
import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bidding.bids.submission import Bid
from bidding.settlement.deposits import confirm_deposit, import_statement
from bidding.tender.projects import Project
from bidding.tender.registrations import Registration, register_bidder
from cli.demo import load_demo_data
from tests.common import factories
from tests.common import bids
from tests.common.portal import bearer
from tests.common.tenders import tender_project
from trading.audit import AuditEntry
from trading.bank_statements import parse_remark
from trading.database import make_sessionmaker, transaction
from trading.errors import InvalidInput, RuleViolation
from trading.keys import CenterKeys
from trading.ledger import CollusionFlag, LedgerDeposit, collusion_flags, parse_fen, parse_yuan
from trading.notifications import OutboxMessage
from trading.organisations import Organisation
from trading.settings import Settings
from trading.spreadsheets import ImportRejected
from web.app import create_app

WORKS = "JN-2026-GC-0007"
RENOVATION = "JN-2026-GC-0008"  # HONGYUAN must pay 246,000.00 yuan
EQUIPMENT = "JN-2026-CG-0031"  # HONGYUAN must pay 59,600.00 yuan
LUJIAN = "91370800MA1234567Q"  # demo bidder1: no deposit asked
HONGYUAN = "91370811MA23456788"  # demo bidder2: on the deposit negative list
HEADER = "交易流水号,付款账号,付款户名,金额（元）,附言,到账日期"


@pytest.fixture(scope="module")
async def demo(engine: AsyncEngine) -> None:
    async with transaction(make_sessionmaker(engine)) as session:
        await load_demo_data(session, pools=False)


@pytest.fixture(scope="module")
def keys() -> CenterKeys:
    return CenterKeys(signing_key=nacl.signing.SigningKey.generate(), kek=nacl.utils.random(nacl.secret.SecretBox.KEY_SIZE))


def statement(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode("utf-8-sig")


async def count(session: AsyncSession, model) -> int:
    return await session.scalar(select(func.count()).select_from(model))


async def registration_of(session: AsyncSession, project_code: str, credit_code: str) -> Registration:
    from bidding.settlement.deposits import _admitted

    return await _admitted(session, project_code, credit_code)


# ----------------------------------------------------------------------------- settling and bidding


async def test_a_bidder_who_must_pay_may_bid_only_once_the_statement_with_its_deposit_is_imported(
        demo, session, keys):
    tender = await tender_project(session, keys, "bidding")
    code, signing_key = await bids.bidder(session, tender.code, HONGYUAN)
    registration = await registration_of(session, tender.code, HONGYUAN)
    assert registration.deposit_required_fen == 80_000_000 and registration.deposit_paid_at is None
    _, ciphertext, envelope = await bids.sealed(session, tender.code, code, signing_key)
    with pytest.raises(RuleViolation) as unpaid:
        await bids.submit(session, keys, tender.code, code, envelope, ciphertext)
    assert unpaid.value.code == "deposit_unpaid"

    # Part of it first: not yet settled.
    first = await import_statement(session, actor="test:finance", filename="jan.csv", data=statement(
        f"B0001,6222 0237 0000 1234,任城宏远建筑工程有限公司,\"300,000.00\",{tender.code} {HONGYUAN},2026-11-20"))
    assert first.count == 1 and first.imported[0].amount_fen == 30_000_000
    assert first.imported[0].account == "6222023700001234" and first.imported[0].source == "statement"
    await session.refresh(registration)
    assert registration.deposit_paid_at is None
    with pytest.raises(RuleViolation):
        await bids.submit(session, keys, tender.code, code, envelope, ciphertext)

    await import_statement(session, actor="test:finance", filename="jan2.csv", data=statement(
        f"B0002,6222023700001234,任城宏远建筑工程有限公司,500000.00,保证金 {tender.code}/{HONGYUAN},2026/11/21"))
    await session.refresh(registration)
    assert registration.deposit_paid_at is not None
    receipt = await bids.submit(session, keys, tender.code, code, envelope, ciphertext)
    assert (await session.get(Bid, receipt.bid_id)).sequence == 1
    paid = await session.scalar(select(AuditEntry).where(AuditEntry.action == "registration.deposit_paid",
                                                         AuditEntry.subject == f"project:{tender.code}"))
    assert paid.data["paid_fen"] == 80_000_000


async def test_finance_staff_confirm_a_deposit_by_hand(demo, session):
    await register_bidder(session, actor="test", project_code=EQUIPMENT, bidder_credit_code=HONGYUAN)
    deposit = await confirm_deposit(session, actor="test:finance", project_code=EQUIPMENT, bidder_credit_code=HONGYUAN,
                                    amount_fen=5_960_000, account="6222023700001234", account_name="宏远",
                                    bank_reference="M0001", value_date=date(2026, 11, 20))
    assert deposit.source == "manual" and deposit.confirmed_by == "test:finance"
    assert (await registration_of(session, EQUIPMENT, HONGYUAN)).deposit_paid_at is not None
    with pytest.raises(RuleViolation, match="未获准报名"):
        await confirm_deposit(session, actor="test:finance", project_code=EQUIPMENT, bidder_credit_code=LUJIAN,
                              amount_fen=100, account="1", account_name="鲁建", bank_reference="M0002",
                              value_date=date(2026, 11, 20))


# ----------------------------------------------------------------------------- collusion


async def test_two_bidders_paying_from_one_account_raise_one_flag_naming_both(demo, session):
    for code in (HONGYUAN, LUJIAN):
        await register_bidder(session, actor="test", project_code=RENOVATION, bidder_credit_code=code)
    third = (await factories.organisation(session, "bidder")).credit_code
    await register_bidder(session, actor="test", project_code=RENOVATION, bidder_credit_code=third)
    messages_before = await count(session, OutboxMessage)

    await import_statement(session, actor="test:finance", filename="s.csv", data=statement(
        f"C0001,6228480000000001,张三,246000.00,{RENOVATION} {HONGYUAN},2026-11-20",
        f"C0002,6228-4800-0000-0002,李四,100.00,{RENOVATION} {LUJIAN},2026-11-20"))
    assert await collusion_flags(session, project_code=RENOVATION) == []

    # A manual confirmation for another bidder from the first bidder's account.
    await confirm_deposit(session, actor="test:finance", project_code=RENOVATION, bidder_credit_code=LUJIAN,
                          amount_fen=100, account="6228 4800 0000 0001", account_name="张三",
                          bank_reference="C0003", value_date=date(2026, 11, 21))
    [flag] = await collusion_flags(session, project_code=RENOVATION)
    assert flag.account == "6228480000000001" and sorted(flag.bidder_codes) == sorted([HONGYUAN, LUJIAN])
    assert "第四十条" in flag.note and HONGYUAN in flag.note and LUJIAN in flag.note
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "ledger.collusion_flagged",
                                                          AuditEntry.subject == f"project:{RENOVATION}"))
    assert entry.data["flag_id"] == flag.id and sorted(entry.data["bidders"]) == sorted([HONGYUAN, LUJIAN])
    [message] = (await session.scalars(select(OutboxMessage).where(
        OutboxMessage.subject == f"collusion:{RENOVATION}"))).all()
    assert message.recipient == "role:supervisor" and "串通投标" in message.body and HONGYUAN in message.body
    assert await count(session, OutboxMessage) == messages_before + 1

    # The same bidders again: nothing new. A third bidder: the one flag lists all three.
    await confirm_deposit(session, actor="test:finance", project_code=RENOVATION, bidder_credit_code=HONGYUAN,
                          amount_fen=1, account="6228480000000001", account_name="张三", bank_reference="C0004",
                          value_date=date(2026, 11, 21))
    assert await count(session, OutboxMessage) == messages_before + 1
    await confirm_deposit(session, actor="test:finance", project_code=RENOVATION, bidder_credit_code=third,
                          amount_fen=1, account="6228480000000001", account_name="张三", bank_reference="C0005",
                          value_date=date(2026, 11, 21))
    [flag] = await collusion_flags(session, project_code=RENOVATION)
    assert sorted(flag.bidder_codes) == sorted([HONGYUAN, LUJIAN, third])
    assert await count(session, CollusionFlag) == 1


# ----------------------------------------------------------------------------- statements


async def test_a_statement_with_a_bad_row_imports_nothing_and_reports_the_row_and_column(demo, session):
    await register_bidder(session, actor="test", project_code=RENOVATION, bidder_credit_code=HONGYUAN)
    stranger = (await factories.organisation(session, "bidder")).credit_code
    before = (await count(session, LedgerDeposit), await count(session, AuditEntry))
    with pytest.raises(ImportRejected) as rejected:
        await import_statement(session, actor="test:finance", filename="bad.csv", data=statement(
            f"D0001,6228480000000009,宏远,246000.00,{RENOVATION} {HONGYUAN},2026-11-20",
            f"D0002,6228480000000009,宏远,2460.5,{RENOVATION} {HONGYUAN},2026-11-20",
            f"D0003,6228480000000008,某公司,10.00,{RENOVATION} {stranger},2026-11-20",
            f"D0001,6228480000000009,宏远,1.00,{RENOVATION},2026-13-01"))
    errors = {(error.row, error.column) for error in rejected.value.errors}
    assert errors == {(3, "金额（元）"), (4, "附言"), (5, "交易流水号"), (5, "附言"), (5, "到账日期")}
    assert "第 3 行「金额（元）」" in rejected.value.message
    assert (await count(session, LedgerDeposit), await count(session, AuditEntry)) == before
    assert (await registration_of(session, RENOVATION, HONGYUAN)).deposit_paid_at is None

    with pytest.raises(ImportRejected) as no_amount:
        await import_statement(session, actor="test", filename="x.csv", data=statement(
            f"D0009,1,宏远,{RENOVATION} {HONGYUAN},2026-11-20", header="交易流水号,付款账号,付款户名,附言,到账日期"))
    assert no_amount.value.errors[0].row == 1


async def test_re_importing_the_same_statement_changes_nothing(demo, session):
    await register_bidder(session, actor="test", project_code=RENOVATION, bidder_credit_code=HONGYUAN)
    data = statement(f"E0001,6228480000000007,宏远,24600000,{RENOVATION} {HONGYUAN},20261120",
                     header="交易流水号,付款账号,付款户名,金额（分）,附言,到账日期")
    first = await import_statement(session, actor="test:finance", filename="e.csv", data=data)
    assert first.count == 1 and first.imported[0].amount_fen == 24_600_000
    before = (await count(session, LedgerDeposit), await count(session, AuditEntry), await count(session, OutboxMessage))
    again = await import_statement(session, actor="test:finance", filename="e.csv", data=data)
    assert again.count == 0 and again.already == ["E0001"]
    assert (await count(session, LedgerDeposit), await count(session, AuditEntry),
            await count(session, OutboxMessage)) == before
    # The same reference with other contents is an error, not silently skipped.
    with pytest.raises(ImportRejected, match="已入账"):
        await import_statement(session, actor="test:finance", filename="e.csv", data=statement(
            f"E0001,6228480000000007,宏远,1,{RENOVATION} {HONGYUAN},20261120",
            header="交易流水号,付款账号,付款户名,金额（分）,附言,到账日期"))


async def test_a_statement_of_40000_rows_imports_well_under_a_minute(demo, session):
    """One query per kind, not per row: 40,000 deposits (a bidder paying by instalments from
    its own account, each with its bank reference) with their audit entries, then settled."""
    await register_bidder(session, actor="test", project_code=RENOVATION, bidder_credit_code=HONGYUAN)
    rows = [f"L{row:07d},6228480000000077,任城宏远建筑工程有限公司,6.15,{RENOVATION} {HONGYUAN},2026-11-20"
            for row in range(40_000)]  # 40,000 × 6.15 = 246,000.00 yuan, the deposit asked
    before = await count(session, AuditEntry)
    began = time.perf_counter()
    result = await import_statement(session, actor="test:finance", filename="big.csv", data=statement(*rows))
    elapsed = time.perf_counter() - began
    assert result.count == 40_000 and elapsed < 60, elapsed
    assert [deposit.bank_reference for deposit in result.imported[:2]] == ["L0000000", "L0000001"]
    assert (await registration_of(session, RENOVATION, HONGYUAN)).deposit_paid_at is not None
    assert await count(session, AuditEntry) == before + 40_000 + 2  # each deposit, the settlement, the statement


async def test_over_long_references_and_payers_are_row_errors(demo, session):
    await register_bidder(session, actor="test", project_code=RENOVATION, bidder_credit_code=HONGYUAN)
    with pytest.raises(ImportRejected) as rejected:
        await import_statement(session, actor="test:finance", filename="long.csv", data=statement(
            f"{'R' * 101},6228480000000009,宏远,1.00,{RENOVATION} {HONGYUAN},2026-11-20",
            f"F0002,6228480000000009,{'宏' * 201},1.00,{RENOVATION} {HONGYUAN},2026-11-20",
            f"F0003,{'6' * 65},宏远,1.00,{RENOVATION} {HONGYUAN},2026-11-20",
            f"F0004,6228480000000009,宏远,1.00,{RENOVATION} {HONGYUAN},2026-11-20"))
    assert [(error.row, error.column, error.reason) for error in rejected.value.errors] == [
        (2, "交易流水号", "银行交易流水号过长：最多100个字符，实为101个"),
        (3, "付款户名", "付款户名过长：最多200个字符，实为201个"),
        (4, "付款账号", "付款账号过长：最多64个字符，实为65个")]
    with pytest.raises(InvalidInput, match="收款银行过长") as bank:
        await import_statement(session, actor="test:finance", filename="x.csv", data=statement(), bank="银" * 101)
    assert bank.value.details["field"] == "bank"


async def test_a_remark_names_the_project_exactly_as_its_code_is_written(demo, session):
    await register_bidder(session, actor="test", project_code=RENOVATION, bidder_credit_code=HONGYUAN)
    with pytest.raises(ImportRejected) as rejected:
        await import_statement(session, actor="test:finance", filename="case.csv", data=statement(
            f"G0001,6228480000000009,宏远,1.00,{RENOVATION.lower()} {HONGYUAN.lower()},2026-11-20"))
    [error] = rejected.value.errors
    assert (error.row, error.column, error.reason) == (2, "附言", f"未找到项目 {RENOVATION.lower()}")
    assert parse_remark(f"保证金 jn-2026-x_1/{HONGYUAN.lower()}") == ("jn-2026-x_1", HONGYUAN)


# ----------------------------------------------------------------------------- yuan without floats


@given(st.integers(min_value=0, max_value=10**17))
def test_any_two_decimal_yuan_amount_parses_to_exactly_its_fen(fen):
    plain = f"{fen // 100}.{fen % 100:02d}"
    grouped = f"{fen // 100:,}.{fen % 100:02d}"
    assert parse_yuan(plain) == fen and parse_yuan(grouped) == fen and parse_fen(str(fen)) == fen


@pytest.mark.parametrize("text", ["0.1", "1.005", "1", "1.2e3", "-1.00", "１.00", "1,00.00", "0.29 ", "abc", ""])
def test_malformed_yuan_amounts_are_refused(text):
    if text == "0.29 ":
        assert parse_yuan(text) == 29  # surrounding blanks are not an error; 0.29 is not 0.28999...
        return
    with pytest.raises(InvalidInput):
        parse_yuan(text)


# ----------------------------------------------------------------------------- API


@pytest.fixture(scope="module")
async def client(demo, settings: Settings, database_url: str, engine: AsyncEngine) -> AsyncIterator[AsyncTestClient]:
    async with transaction(make_sessionmaker(engine)) as session:
        for code in (HONGYUAN, LUJIAN):
            await register_bidder(session, actor="test", project_code=WORKS, bidder_credit_code=code)
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


async def test_the_api_imports_statements_confirms_deposits_and_lists_flags_for_supervisors(client, engine):
    path = "/api/ledger/statements"
    good = statement(f"F0001,6228480000000005,宏远,\"800,000.00\",{WORKS} {HONGYUAN},2026-11-20")
    files = {"file": ("f.csv", good, "text/csv")}
    assert (await client.post(path, files=files)).status_code == 401
    assert (await client.post(path, files=files, headers=await bearer(client, "bidder2"))).status_code == 403
    finance = await bearer(client, "finance")

    bad = await client.post(path, files={"file": ("g.csv", statement(
        f"F0002,6228480000000005,宏远,800000,{WORKS} {HONGYUAN},2026-11-20"), "text/csv")}, headers=finance)
    assert bad.status_code == 400, bad.text
    assert bad.json()["error"]["details"]["errors"][0] | {"reason": ""} == {"row": 2, "column": "金额（元）", "reason": ""}

    imported = await client.post(path, files=files, headers=finance)
    assert imported.status_code == 200, imported.text
    assert imported.json()["imported"] == 1
    again = await client.post(path, files=files, headers=finance)
    assert again.json() == {"imported": 0, "already_imported": ["F0001"], "deposits": [], "refunds_paid": []}
    async with engine.connect() as conn:
        paid_at = await conn.scalar(select(Registration.deposit_paid_at).join(
            Project, Project.id == Registration.project_id).join(
            Organisation, Organisation.id == Registration.bidder_organisation_id).where(
            Project.code == WORKS, Organisation.credit_code == HONGYUAN, Registration.status == "admitted"))
    assert paid_at is not None

    body = {"project_code": WORKS, "bidder_credit_code": LUJIAN, "amount_fen": 100, "account": "6228480000000005",
            "account_name": "宏远", "bank_reference": "F0003", "value_date": "2026-11-21"}
    assert (await client.post("/api/ledger/deposits", json=body, headers=await bearer(client, "supervisor"))
            ).status_code == 403
    confirmed = await client.post("/api/ledger/deposits", json=body, headers=finance)
    assert confirmed.status_code == 201, confirmed.text
    assert confirmed.json()["source"] == "manual"

    flags_path = "/api/ledger/collusion-flags"
    assert (await client.get(flags_path, headers=finance)).status_code == 403
    for who in ("supervisor", "admin"):
        answer = await client.get(flags_path, params={"project": WORKS}, headers=await bearer(client, who))
        assert answer.status_code == 200, answer.text
        [flag] = answer.json()
        assert sorted(flag["bidder_codes"]) == sorted([HONGYUAN, LUJIAN]) and flag["account"] == "6228480000000005"
