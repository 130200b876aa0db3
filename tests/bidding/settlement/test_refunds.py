"""Deposit refunds (统一费用收取退付): the opening's outcome written back (a revoked bid's deposit
kept under revoked_bid_deposit_forfeitable, with its source), refund instructions when the
contract is recorded, the tender fails or is terminated (wired into the lifecycle), at the
award notice for government procurement, after a withdrawal; interest at the bank's demand
rate in fen; the paying account as payee; never two refunds of one deposit; the refund
deadline met by finance confirmation or an outgoing statement row; the API and the CLI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update

from bidding.bids.submission import WITHDRAW_PROTOCOL, Bid, withdraw_bid
from bidding.tender.deadlines import Deadline
from bidding.settlement.deposits import import_statement
from bidding.tender.lifecycle import apply_transition
from bidding.settlement.refunds import confirm_refund_paid, instruct_refunds
from bidding.tender.registrations import Registration
from bidding.tender.states import local_date, period_ends_at
from tests.common import bids
from tests.common.settlement import award, open_bids, pay_deposit, refunds_of, tender_with_paid_bids
from tests.common.portal import bearer
from tests.common.tenders import tender_project
from tests.common.tenders import PROCUREMENT, tender_in_state
from trading.audit import AuditEntry
from trading.canonical import canon
from trading.database import database_now, make_sessionmaker, transaction
from trading.deposit_interest import RatePeriod, demand_interest
from trading.errors import Conflict, InvalidInput, RuleViolation
from trading.keys import load_center_keys
from trading.ledger import LedgerDeposit, LedgerRefund, refund_number
from trading.organisations import Organisation
from trading.rules.calendar import default_calendar
from trading.settings import Settings
from trading.spreadsheets import ImportRejected
from web.app import create_app

OUT_HEADER = "交易流水号,收支方向,付款账号,付款户名,金额（分）,附言,到账日期"


async def deadline_of(session, deposit_id: int) -> Deadline:
    return await session.scalar(select(Deadline).where(Deadline.kind == "refund",
                                                       Deadline.subject == f"deposit:{deposit_id}"))


async def procurement_tender(session, keys, bidder_count: int = 3):
    """A government procurement tender (public tender) with paid deposits and bids, then awarded."""
    tender = await tender_in_state(session, keys, "bidding", prices=[450_000_000] * bidder_count, kind=PROCUREMENT,
                                   prefix="JN-2026-CG-R", title="济宁市测试医疗设备采购", estimate_fen=500_000_000,
                                   before_bid=lambda session, code, bidder: pay_deposit(session, code, bidder,
                                                                                        amount_fen=1_000_000))
    return tender.project, [code for code, _ in tender.bidders]


# ----------------------------------------------------------------------------- interest


def test_interest_is_simple_daily_at_the_rate_of_each_day_on_a_360_day_year_rounded_once():
    rates = (RatePeriod(date(2015, 10, 24), "0.35", "PBoC"), RatePeriod(date(2024, 10, 18), "0.10", "bank"),
             RatePeriod(date(2025, 5, 20), "0.05", "bank"))
    # 800,000 yuan for 30 days at 0.10 %: 66.666… yuan → 6,667 fen (half up, once).
    one = demand_interest(80_000_000, date(2025, 1, 1), date(2025, 1, 31), rates)
    assert (one.interest_fen, one.days) == (6_667, 30)
    # Across a rate change: 10 days at 0.10 % and 10 at 0.05 % → 3,333.33 → 3,333 fen.
    two = demand_interest(80_000_000, date(2025, 5, 10), date(2025, 5, 30), rates)
    assert two.interest_fen == 3_333
    assert two.segments == ((date(2025, 5, 10), 10, "0.10"), (date(2025, 5, 20), 10, "0.05"))
    assert demand_interest(80_000_000, date(2025, 5, 10), date(2025, 5, 10), rates).interest_fen == 0
    with pytest.raises(InvalidInput):
        demand_interest(-1, date(2025, 1, 1), date(2025, 2, 1), rates)


# ----------------------------------------------------------------------------- construction


async def test_after_the_contract_every_deposit_is_refunded_with_interest_but_a_revoked_bids_is_kept(
        demo, session, keys):
    tender, bidders = await tender_with_paid_bids(session, keys, [99_000_000, 98_000_000, 97_000_000, 96_000_000])
    (winner, _), (second, _), (third, _), (revoked, _) = bidders
    result = await open_bids(session, keys, tender, bidders, revoked={revoked})
    assert result["state"] == "evaluating"

    # The opening's outcome is written back at once: the revoked bid's deposit is kept, with the rule's source.
    kept = await session.scalar(select(LedgerDeposit).where(LedgerDeposit.project_code == tender.code,
                                                            LedgerDeposit.bidder_credit_code == revoked))
    assert kept.kept_rule == "revoked_bid_deposit_forfeitable" and "第三十五条" in kept.kept_source
    assert "视为撤销投标" in kept.kept_reason
    assert await refunds_of(session, tender.code) == {}

    tender = await award(session, tender, [winner, second, third])
    assert await instruct_refunds(session, tender, event="award_notice", actor="test") == []  # construction waits
    await apply_transition(session, actor="test:admin", project_code=tender.code, action="record_contract")

    refunds = await refunds_of(session, tender.code)
    assert set(refunds) == {winner, second, third}  # the revoked bid's deposit stays kept
    now = await database_now(session)
    for code, refund in refunds.items():
        deposit = await session.get(LedgerDeposit, refund.deposit_id)
        expected = demand_interest(deposit.amount_fen, deposit.value_date, local_date(now))
        assert refund.principal_fen == deposit.amount_fen == 20_000_000
        assert refund.interest_fen == expected.interest_fen > 0
        assert refund.amount_fen == refund.principal_fen + refund.interest_fen
        assert (refund.payee_account, refund.payee_account_name) == (deposit.account, deposit.account_name)
        assert refund.event == "contract" and refund.rule == "deposit_refund_after_contract_days"
        assert "第五十七条" in refund.rule_source
        assert refund.due_at == period_ends_at(refund.instructed_at, 5)
        deadline = await deadline_of(session, deposit.id)
        assert deadline.due_at == refund.due_at and deadline.met_at is None
        assert refund.interest["rule"] == "deposit_refund_with_interest"

    # Never two refunds of one deposit.
    assert await instruct_refunds(session, tender, event="contract", actor="test") == []
    assert await instruct_refunds(session, tender, event="terminated", actor="test") == []
    assert len(await refunds_of(session, tender.code)) == 3
    instructed = (await session.scalars(select(AuditEntry).where(
        AuditEntry.subject == f"project:{tender.code}", AuditEntry.action == "ledger.refund_instructed"))).all()
    assert len(instructed) == 3

    # Finance confirms one paid with the bank's reference: its deadline is met.
    paid = await confirm_refund_paid(session, refund_id=refunds[winner].id, actor="test:finance",
                                     bank_reference="OUT0001", value_date=date(2026, 11, 23))
    assert paid.paid_reference == "OUT0001" and paid.paid_source == "manual"
    assert (await deadline_of(session, paid.deposit_id)).met_at is not None
    with pytest.raises(Conflict, match="已于"):
        await confirm_refund_paid(session, refund_id=paid.id, actor="test:finance", bank_reference="OUT0002",
                                  value_date=date(2026, 11, 23))


async def test_a_failed_tender_refunds_everyone_but_a_revoked_bid(demo, session, keys):
    tender, bidders = await tender_with_paid_bids(session, keys, [99_000_000, 98_000_000])
    (good, _), (revoked, _) = bidders
    result = await open_bids(session, keys, tender, bidders, revoked={revoked})
    assert result["state"] == "failed"  # fewer valid bids than min_valid_bids: 流标
    refunds = await refunds_of(session, tender.code)
    assert set(refunds) == {good}
    assert refunds[good].event == "failed" and "参照合同签订后的退还期限" in refunds[good].rule_source
    kept = await session.scalar(select(LedgerDeposit).where(LedgerDeposit.bidder_credit_code == revoked,
                                                            LedgerDeposit.project_code == tender.code))
    assert kept.kept_at is not None


async def test_a_terminated_tender_refunds_every_deposit(demo, session, keys):
    tender = await tender_project(session, keys, "bidding")
    codes = []
    for _ in range(2):
        code, _ = await bids.bidder(session, tender.code)
        await pay_deposit(session, tender.code, code)
        codes.append(code)
    await apply_transition(session, actor="test:admin", project_code=tender.code, action="terminate",
                           facts={"reason": "项目取消"})
    refunds = await refunds_of(session, tender.code)
    assert set(refunds) == set(codes) and {refund.event for refund in refunds.values()} == {"terminated"}


async def test_a_bid_withdrawn_before_the_deadline_has_its_deposit_refunded_within_five_days(demo, session, keys):
    tender = await tender_project(session, keys, "bidding")
    leaving, leaving_key = await bids.bidder(session, tender.code)
    staying, staying_key = await bids.bidder(session, tender.code)
    # The leaving bidder's credit record makes a deposit required (the deposit negative list).
    await session.execute(update(Registration).where(Registration.bidder_organisation_id.in_(
        select(Organisation.id).where(Organisation.credit_code == leaving))).values(deposit_required_fen=20_000_000))
    for code in (leaving, staying):
        await pay_deposit(session, tender.code, code)
    _, ciphertext, envelope = await bids.sealed(session, tender.code, leaving, leaving_key)
    receipt = await bids.submit(session, keys, tender.code, leaving, envelope, ciphertext)
    _, ciphertext, envelope = await bids.sealed(session, tender.code, staying, staying_key)
    await bids.submit(session, keys, tender.code, staying, envelope, ciphertext)
    request = {"protocol": WITHDRAW_PROTOCOL, "tender_code": tender.code, "bidder_code": leaving,
               "envelope_sha256": receipt.record["envelope_sha256"]}
    await withdraw_bid(session, keys, actor="test", project_code=tender.code, bidder_credit_code=leaving,
                       request=request, signature=leaving_key.sign(canon(request)).signature.hex())

    # The withdrawal itself instructs the refund; asking again refunds nothing twice.
    [refund] = (await refunds_of(session, tender.code)).values()
    withdrawn_at = await session.scalar(select(Bid.withdrawn_at).where(Bid.id == receipt.bid_id))
    assert refund.bidder_credit_code == leaving and refund.rule == "withdrawal_deposit_refund_days"
    assert refund.event == "withdrawn" and refund.due_at == period_ends_at(withdrawn_at, 5)
    assert await instruct_refunds(session, tender, event="withdrawn", actor="test") == []
    # Its deposit refunded, the bidder must pay a new one before bidding again.
    _, ciphertext, envelope = await bids.sealed(session, tender.code, leaving, leaving_key)
    with pytest.raises(RuleViolation, match="保证金"):
        await bids.submit(session, keys, tender.code, leaving, envelope, ciphertext)
    with pytest.raises(InvalidInput, match="未知的退还事由"):
        await instruct_refunds(session, tender, event="refund_everyone", actor="test")


# ----------------------------------------------------------------------------- government procurement


async def test_procurement_refunds_the_others_after_the_award_notice_and_the_winner_after_the_contract(
        demo, session, keys):
    project, [winner, second, third] = await procurement_tender(session, keys)
    await bids.deadline_passes(session, project.code)
    project = await award(session, project, [winner, second])
    others = await instruct_refunds(session, project, event="award_notice", actor="test")
    assert {refund.bidder_credit_code for refund in others} == {second, third}
    calendar = default_calendar()
    for refund in others:
        assert refund.rule == "deposit_refund_after_award_notice_working_days"
        assert refund.interest_fen == 0 and refund.interest is None  # the procurement rule set has no interest rule
        last_day = calendar.add_working_days(local_date(refund.instructed_at), 5)
        assert local_date(refund.due_at - timedelta(seconds=1)) == last_day
    await apply_transition(session, actor="test", project_code=project.code, action="record_contract")
    refunds = await refunds_of(session, project.code)
    assert set(refunds) == {winner, second, third}
    assert refunds[winner].event == "contract"
    assert refunds[winner].rule == "deposit_refund_after_contract_working_days"


# ----------------------------------------------------------------------------- bank statements


async def test_an_outgoing_statement_row_naming_the_refund_pays_it_and_meets_its_deadline(demo, session, keys):
    tender = await tender_project(session, keys, "bidding")
    code, _ = await bids.bidder(session, tender.code)
    deposit = await pay_deposit(session, tender.code, code, amount_fen=12_345_600)
    await apply_transition(session, actor="test", project_code=tender.code, action="terminate",
                           facts={"reason": "项目取消"})
    refund = (await refunds_of(session, tender.code))[code]
    number = refund_number(refund.id)

    def statement(*rows: str) -> bytes:
        return ("\n".join([OUT_HEADER, *rows]) + "\n").encode("utf-8-sig")

    with pytest.raises(ImportRejected) as rejected:
        await import_statement(session, actor="test:finance", filename="out.csv", data=statement(
            f"P0001,支出,{deposit.account},{deposit.account_name},{refund.amount_fen + 1},退保证金 {number},2026-11-24",
            f"P0002,支出,6222000000000000,{deposit.account_name},{refund.amount_fen},退保证金 {number},2026-11-24",
            f"P0003,支出,{deposit.account},x,1,退保证金,2026-11-24"))
    assert {(error.row, error.column) for error in rejected.value.errors} == {
        (2, "金额（分）"), (3, "付款账号"), (4, "附言")}
    assert (await session.get(LedgerRefund, refund.id)).paid_at is None

    good = statement(f"P0004,支出,{deposit.account},{deposit.account_name},{refund.amount_fen},"
                     f"退保证金 {number},2026-11-24")
    result = await import_statement(session, actor="test:finance", filename="out.csv", data=good)
    assert [paid.id for paid in result.refunds_paid] == [refund.id] and result.count == 0
    await session.refresh(refund)
    assert (refund.paid_reference, refund.paid_source, refund.paid_value_date) == ("P0004", "statement",
                                                                                   date(2026, 11, 24))
    assert (await deadline_of(session, deposit.id)).met_at is not None
    again = await import_statement(session, actor="test:finance", filename="out.csv", data=good)
    assert again.refunds_paid == [] and again.already == ["P0004"]


# ----------------------------------------------------------------------------- API and CLI


@pytest.fixture(scope="module")
async def client(demo, settings: Settings, database_url: str) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


async def test_finance_lists_refunds_due_and_confirms_them_paid_over_the_api(client, engine, settings):
    keys_ = load_center_keys(settings)
    async with transaction(make_sessionmaker(engine)) as session:
        tender = await tender_project(session, keys_, "bidding")
        code, _ = await bids.bidder(session, tender.code)
        await pay_deposit(session, tender.code, code, amount_fen=5_000_000)
    finance, admin = await bearer(client, "finance"), await bearer(client, "admin")
    instruct = {"project_code": tender.code, "event": "terminated"}
    assert (await client.post("/api/ledger/refunds/instruct", json=instruct,
                              headers=await bearer(client, "bidder1"))).status_code == 403
    instructed = await client.post("/api/ledger/refunds/instruct", json=instruct, headers=admin)
    assert instructed.status_code == 200, instructed.text
    [refund] = instructed.json()
    assert refund["amount_fen"] >= 5_000_000 and refund["number"].startswith("TK")

    due = await client.get("/api/ledger/refunds", params={"project": tender.code}, headers=finance)
    assert due.status_code == 200 and [row["id"] for row in due.json()] == [refund["id"]]
    assert due.json()[0]["overdue"] is False
    assert (await client.get("/api/ledger/refunds", headers=await bearer(client, "bidder2"))).status_code == 403

    path = f"/api/ledger/refunds/{refund['id']}/paid"
    body = {"bank_reference": "API-OUT-1", "value_date": "2026-11-24"}
    assert (await client.post(path, json=body, headers=admin)).status_code == 403
    paid = await client.post(path, json=body, headers=finance)
    assert paid.status_code == 200, paid.text
    assert paid.json()["paid"]["bank_reference"] == "API-OUT-1"
    assert (await client.post(path, json=body, headers=finance)).status_code == 409
    after = await client.get("/api/ledger/refunds", params={"project": tender.code}, headers=finance)
    assert after.json() == []
    everything = await client.get("/api/ledger/refunds", params={"project": tender.code, "include_paid": "true"},
                                  headers=await bearer(client, "supervisor"))
    assert [row["paid"]["bank_reference"] for row in everything.json()] == ["API-OUT-1"]
    # Paying it issued its receipt at once.
    receipts = await client.get("/api/ledger/receipts", params={"project": tender.code}, headers=finance)
    assert {row["kind"] for row in receipts.json()} == {"deposit", "refund"}


async def test_the_cli_imports_a_statement_with_an_outgoing_refund_row(cli, engine, settings, tmp_path):
    keys_ = load_center_keys(settings)
    async with transaction(make_sessionmaker(engine)) as session:
        tender = await tender_project(session, keys_, "bidding")
        code, _ = await bids.bidder(session, tender.code)
        deposit = await pay_deposit(session, tender.code, code, amount_fen=3_000_000)
        await apply_transition(session, actor="test", project_code=tender.code, action="terminate",
                               facts={"reason": "项目取消"})
        refund = (await refunds_of(session, tender.code))[code]
    async with transaction(make_sessionmaker(engine)) as session:
        other_tender = await tender_project(session, keys_, "bidding")
        other, _ = await bids.bidder(session, other_tender.code)
    rows = [OUT_HEADER,
            f"CLI-1,支出,{deposit.account},{deposit.account_name},{refund.amount_fen},{refund_number(refund.id)},2026-11-24",
            f"CLI-2,收入,6228480000000123,某公司,100000,{other_tender.code} {other},2026-11-24"]
    path = tmp_path / "statement.csv"
    path.write_bytes(("\n".join(rows) + "\n").encode("utf-8-sig"))

    dry = await cli("ledger", "import-statement", str(path), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "试运行" in dry.output and "入账保证金 1 笔，支付退款 1 笔" in dry.output
    async with make_sessionmaker(engine)() as session:
        assert (await session.get(LedgerRefund, refund.id)).paid_at is None

    done = await cli("ledger", "import-statement", str(path))
    assert done.exit_code == 0, done.output
    assert "导入完成" in done.output and "开具电子票据" in done.output
    async with make_sessionmaker(engine)() as session:
        assert (await session.get(LedgerRefund, refund.id)).paid_reference == "CLI-1"
        assert await session.scalar(select(func.count()).select_from(LedgerDeposit).where(
            LedgerDeposit.bank_reference == "CLI-2")) == 1

    bad = tmp_path / "bad.csv"
    bad.write_bytes((OUT_HEADER + "\nCLI-3,支出,1,x,1,TK99999999,2026-11-24\n").encode("utf-8-sig"))
    rejected = await cli("ledger", "import-statement", str(bad))
    assert rejected.exit_code == 1 and "未找到退款单 TK99999999" in rejected.output
