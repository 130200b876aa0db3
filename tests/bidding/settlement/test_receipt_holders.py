"""Who holds a receipt (bidding.settlement.due_receipts), asked by the ledger API and the bidder's
receipts page alike: the center's staff every receipt, an organisation only its own."""

from __future__ import annotations

import pytest

from bidding.settlement.due_receipts import held_receipt, receipts_held_by
from tests.common import factories
from trading.errors import PermissionDenied
from trading.organisations import Organisation
from trading.receipts import DEPOSIT, issue_receipt
from trading.roles import UserRole



async def test_the_center_holds_every_receipt_and_a_bidder_its_own(session, keys):
    payer, stranger = await factories.user(session, UserRole.BIDDER), await factories.user(session, UserRole.BIDDER)
    organisation = await session.get(Organisation, payer.organisation_id)
    receipt = await issue_receipt(
        session, keys, kind=DEPOSIT, source_id=990_001, project_code="JN-2026-GC-H0001", project_title="济宁市测试道路工程",
        party_credit_code=organisation.credit_code, party_name=organisation.name, amount_fen=10_000_00,
        account="6222000000000001", account_name=organisation.name, bank="测试银行", bank_reference="H0001",
        value_date="2026-12-08", details=[], public_url="https://jy.example.cn")

    for holder in (payer, await factories.user(session, UserRole.FINANCE), await factories.user(session, UserRole.SUPERVISOR)):
        assert (await held_receipt(session, receipt.number, holder)).id == receipt.id
        assert receipt.id in [r.id for r in await receipts_held_by(session, holder, project_code="JN-2026-GC-H0001")]
    with pytest.raises(PermissionDenied) as refused:
        await held_receipt(session, receipt.number, stranger)
    assert refused.value.message == "只有缴款（收款）单位和交易中心可以下载该票据"
    assert await receipts_held_by(session, stranger, project_code="JN-2026-GC-H0001") == []
