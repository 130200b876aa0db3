"""The service fee (统一费用收取退付): a published schedule of amount bands as data, the fee by
差额定率累进 in integer fen — monotone, continuous at the band edges, equal to each band's
formula, and the 1980号 document's own example — charged to the winner after the award and
its payment recorded, over services and the API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from bidding.settlement.service_fee import charge_service_fee, confirm_fee_paid
from bidding.tender.lifecycle import apply_transition
from tests.common import settlement as refunds
from tests.common.portal import bearer
from trading.audit import AuditEntry
from trading.database import make_sessionmaker, transaction
from trading.errors import Conflict, InvalidInput
from trading.fees import load_schedule, round_half_up, service_fee
from trading.keys import load_center_keys
from trading.settings import Settings
from web.app import create_app

SCHEDULE = load_schedule()
CATEGORIES = st.sampled_from(sorted(SCHEDULE.categories))
AMOUNTS = st.integers(min_value=0, max_value=10**14)  # up to 1,000,000,000,000 yuan
EDGES = [band.upper_fen for band in SCHEDULE.bands if band.upper_fen is not None]


def test_the_schedule_is_published_with_its_source_and_marks_unsourced_bands():
    assert "1980号" in SCHEDULE.source and SCHEDULE.label == "service-fee@2002.1"
    assert set(SCHEDULE.categories) == {"goods", "services", "works"}
    assert [band.rates["goods"] for band in SCHEDULE.bands] == [150, 110, 80, 50, 25, 5, 1]
    assert SCHEDULE.bands[-1].upper_fen is None and SCHEDULE.bands[-1].sample


def test_the_documents_own_example_a_60_million_yuan_works_tender_pays_225_500_yuan():
    # 100万×1.0% + 400万×0.7% + 500万×0.55% + 4000万×0.35% + 1000万×0.2% = 22.55万元
    assert service_fee(60_000_000_00, "works") == 225_500_00
    assert service_fee(600_000_000, "goods") == 6_700_000  # 6,000,000 yuan of goods: 67,000 yuan


def test_bad_amounts_and_categories_are_refused():
    for amount in (-1, 1.5, True, "100"):
        with pytest.raises(InvalidInput):
            service_fee(amount, "works")
    with pytest.raises(InvalidInput, match="未知的收费类别"):
        service_fee(100, "land")


@given(AMOUNTS, AMOUNTS, CATEGORIES)
def test_the_fee_never_falls_as_the_amount_rises(a, b, category):
    low, high = sorted((a, b))
    assert service_fee(low, category) <= service_fee(high, category)


@given(st.sampled_from(EDGES), CATEGORIES)
def test_the_fee_is_continuous_at_every_band_edge(edge, category):
    # One fen across an edge moves the fee by at most the larger rate applied to one fen, i.e. < 1 fen.
    below, at, above = (service_fee(edge + step, category) for step in (-1, 0, 1))
    assert at - below <= 1 and above - at <= 1
    index = EDGES.index(edge)
    lower = SCHEDULE.bands[index]
    upper = SCHEDULE.bands[index + 1]
    # At the edge the lower band's formula and the upper band's formula give the same amount.
    from_lower = cumulative(lower.lower_fen, category) + Fraction((edge - lower.lower_fen) * lower.rates[category], 10_000)
    from_upper = cumulative(upper.lower_fen, category) + Fraction((edge - upper.lower_fen) * upper.rates[category], 10_000)
    assert from_lower == from_upper


def cumulative(edge: int, category: str) -> Fraction:
    """The fee (unrounded) of all bands below ``edge``, each band full."""
    total = Fraction(0)
    for band in SCHEDULE.bands:
        if band.upper_fen is None or band.upper_fen > edge:
            break
        total += Fraction((band.upper_fen - band.lower_fen) * band.rates[category], 10_000)
    return total


@given(AMOUNTS, CATEGORIES)
def test_the_fee_equals_the_formula_of_the_band_the_amount_falls_in(amount, category):
    band = next(band for band in SCHEDULE.bands if band.upper_fen is None or amount <= band.upper_fen)
    expected = cumulative(band.lower_fen, category) + Fraction((amount - band.lower_fen) * band.rates[category], 10_000)
    assert service_fee(amount, category) == round_half_up(expected)
    assert isinstance(service_fee(amount, category), int)


def test_rounding_is_half_up_once():
    assert [round_half_up(Fraction(n, 2)) for n in (0, 1, 2, 3, 5)] == [0, 1, 1, 2, 3]
    assert service_fee(50, "works") == 1  # 0.5 fen → 1 fen
    assert service_fee(49, "works") == 0


# ----------------------------------------------------------------------------- charged to the winner


async def test_the_fee_is_charged_to_the_winner_after_the_award_and_its_payment_recorded(demo, session, keys):
    tender, bidders = await refunds.tender_with_paid_bids(session, keys, [99_000_000, 98_000_000, 97_000_000])
    with pytest.raises(Conflict, match="定标后才能收取服务费"):
        await charge_service_fee(session, project_code=tender.code, actor="test:finance")
    await refunds.open_bids(session, keys, tender, bidders)
    winner, second = bidders[0][0], bidders[1][0]
    tender = await refunds.award(session, tender, [winner, second])  # candidates priced 990,000.00 yuan

    fee = await charge_service_fee(session, project_code=tender.code, actor="test:finance")
    assert (fee.payer_credit_code, fee.category, fee.basis_fen) == (winner, "works", 99_000_000)
    assert fee.amount_fen == service_fee(99_000_000, "works") == 990_000  # 1.0 % under 1,000,000 yuan
    assert fee.schedule == "service-fee@2002.1"
    with pytest.raises(Conflict, match="已收取服务费"):
        await charge_service_fee(session, project_code=tender.code, actor="test:finance")

    paid = await confirm_fee_paid(session, fee_id=fee.id, actor="test:finance", account="6222 0237 0000 9999",
                                  account_name="中标单位", bank_reference="FEE-1", value_date=date(2026, 11, 25))
    assert paid.paid_account == "6222023700009999" and paid.paid_reference == "FEE-1"
    with pytest.raises(Conflict, match="已缴纳"):
        await confirm_fee_paid(session, fee_id=fee.id, actor="test:finance", account="1", account_name="x",
                               bank_reference="FEE-2", value_date=date(2026, 11, 25))
    actions = (await session.scalars(select(AuditEntry.action).where(
        AuditEntry.subject == f"project:{tender.code}", AuditEntry.action.like("ledger.fee%")))).all()
    assert actions == ["ledger.fee_charged", "ledger.fee_paid"]
    await apply_transition(session, actor="test", project_code=tender.code, action="record_contract")


# ----------------------------------------------------------------------------- API


@pytest.fixture(scope="module")
async def client(demo, settings: Settings, database_url: str) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


async def test_the_schedule_is_public_and_finance_charges_and_records_the_fee(client, engine, settings):
    schedule = await client.get("/api/ledger/fee-schedule")
    assert schedule.status_code == 200
    assert schedule.json()["bands"][0] == {"from_fen": 0, "up_to_fen": 100_000_000,
                                           "rates_basis_points": {"goods": 150, "services": 150, "works": 100},
                                           "sample": False, "note": None}
    keys_ = load_center_keys(settings)
    async with transaction(make_sessionmaker(engine)) as session:
        tender, bidders = await refunds.tender_with_paid_bids(session, keys_, [99_000_000, 98_000_000, 97_000_000])
        await refunds.open_bids(session, keys_, tender, bidders)
        await refunds.award(session, tender, [bidders[0][0]])
    finance = await bearer(client, "finance")
    body = {"project_code": tender.code}
    assert (await client.post("/api/ledger/fees", json=body, headers=await bearer(client, "bidder1"))).status_code == 403
    charged = await client.post("/api/ledger/fees", json=body, headers=finance)
    assert charged.status_code == 201, charged.text
    fee = charged.json()
    assert fee["amount_fen"] == 990_000 and fee["paid"] is None
    assert (await client.post("/api/ledger/fees", json=body, headers=finance)).status_code == 409

    path = f"/api/ledger/fees/{fee['id']}/paid"
    payment = {"account": "6222023700008888", "account_name": "中标单位", "bank_reference": "FEE-API-1",
               "value_date": "2026-11-25"}
    assert (await client.post(path, json=payment, headers=await bearer(client, "admin"))).status_code == 403
    paid = await client.post(path, json=payment, headers=finance)
    assert paid.status_code == 200, paid.text
    assert paid.json()["paid"]["bank_reference"] == "FEE-API-1"
    listed = await client.get("/api/ledger/fees", params={"project": tender.code},
                              headers=await bearer(client, "supervisor"))
    assert [row["id"] for row in listed.json()] == [fee["id"]]
    receipts = await client.get("/api/ledger/receipts", params={"project": tender.code}, headers=finance)
    assert "fee" in {row["kind"] for row in receipts.json()}
