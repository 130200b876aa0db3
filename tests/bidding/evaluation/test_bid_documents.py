"""An opened bid's documents: the committee of the current round, the center, supervisors
and the bidder itself read them (each read audited); nobody else, and no bid that did not open."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bidding.evaluation.documents import Reader, bid_document_list, read_bid_document
from bidding.bids.submission import Bid
from bidding.evaluation.sitting import start_evaluation_session
from bidding.opening.proceedings import OpeningEntry
from tests.common import factories
from tests.common.evaluation import SPECIALTY, opened_tender
from trading.audit import AuditEntry
from trading.errors import NotFound, PermissionDenied



async def test_the_committee_reads_an_opened_bids_documents_and_each_read_is_audited(demo, session, keys):
    tender, bidders, experts = await opened_tender(session, keys, [98_000_000, 99_000_000, 97_000_000])
    member = Reader(actor=f"expert:{experts[0].code}", role="expert", expert_id=experts[0].id)
    first = await session.scalar(select(Bid).where(Bid.project_id == tender.id, Bid.bidder_credit_code == bidders[0],
                                                   Bid.status == "submitted"))
    with pytest.raises(PermissionDenied):  # not before the committee's session has begun
        await bid_document_list(session, keys, project_code=tender.code, bid_id=first.id, reader=member)
    await start_evaluation_session(session, keys, actor="admin", project_code=tender.code)

    listed = await bid_document_list(session, keys, project_code=tender.code, bid_id=first.id, reader=member)
    assert listed == [{"name": "技术标.txt", "size": len("施工组织设计".encode())}]
    content = await read_bid_document(session, keys, project_code=tender.code, bid_id=first.id, name="技术标.txt",
                                      reader=member)
    assert content.decode() == "施工组织设计"
    read = await session.scalar(select(AuditEntry).where(AuditEntry.action == "bid.document_read")
                                .order_by(AuditEntry.seq.desc()).limit(1))
    assert read.actor == member.actor and read.data["bidder"] == bidders[0] and read.data["name"] == "技术标.txt"

    # The bidder reads its own bid, not the other's; the center and supervisors read both.
    own = Reader(actor="bidder", role="bidder", credit_code=bidders[0])
    assert await bid_document_list(session, keys, project_code=tender.code, bid_id=first.id, reader=own)
    other = Reader(actor="bidder", role="bidder", credit_code=bidders[1])
    with pytest.raises(PermissionDenied):
        await bid_document_list(session, keys, project_code=tender.code, bid_id=first.id, reader=other)
    for role in ("admin", "supervisor"):
        assert await bid_document_list(session, keys, project_code=tender.code, bid_id=first.id,
                                       reader=Reader(actor=role, role=role))

    # An expert outside the committee, and the tendering party, read nothing.
    outsider = await factories.expert(session, specialties=[SPECIALTY])
    for reader in (Reader(actor="x", role="expert", expert_id=outsider.id), Reader(actor="p", role="tendering_party")):
        with pytest.raises(PermissionDenied):
            await read_bid_document(session, keys, project_code=tender.code, bid_id=first.id, name="技术标.txt",
                                    reader=reader)
    with pytest.raises(NotFound):
        await read_bid_document(session, keys, project_code=tender.code, bid_id=first.id, name="商务标.pdf",
                                reader=member)

    # A bid whose key is gone (as for one that did not open) has nothing to read.
    entry = await session.scalar(select(OpeningEntry).where(OpeningEntry.bid_id == first.id))
    entry.sealed_content_key = None
    await session.flush()
    with pytest.raises(NotFound, match="未在开标时解密"):
        await bid_document_list(session, keys, project_code=tender.code, bid_id=first.id, reader=member)
