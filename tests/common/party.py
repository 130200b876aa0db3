"""The demo hospital's projects as its pages see them: registered, optionally announced with
documents, served by the demo agency (drawn and witnessed), with admitted bidders."""

from __future__ import annotations

import itertools
from datetime import timedelta

from sqlalchemy import select

from bidding.notice.announce import announce_tender
from bidding.tender.projects import register_project
from bidding.tender.registrations import register_bidder
from tests.common import factories
from trading.database import database_now, transaction
from trading.draws import commit_draw, supply_witness
from trading.organisations import Organisation

HOSPITAL = "12370800MB12345670"  # the demo tendering party (account "tenderer")
DEMO_AGENCY = "AG-青山招标"  # the demo agency's pool entry (account "agency")
_codes = itertools.count(1)


def new_code(prefix: str = "PP") -> str:
    return f"JN-2026-{prefix}-{next(_codes):04d}"


async def agency_drawn(session, keys, project_code: str, pool: list[str]):
    """An agency draw for the project, witnessed by its tendering party (so revealed)."""
    draw = await commit_draw(session, keys, actor="test", purpose="agency", project_code=project_code,
                             criteria={"test": True}, pool=pool, count=1, reserve_count=len(pool) - 1,
                             witness_required=True, witness="tendering_party")
    return await supply_witness(session, keys, draw.draw_id, value="招标人 1024", by="user:2:tenderer")


async def hospital_project(sessions, keys, *, announced: bool = False, agency: bool = False, bidders: int = 0):
    """A construction project of the demo hospital; optionally announced with documents,
    served by the demo agency, and with admitted bidders."""
    async with transaction(sessions) as session:
        party = await session.scalar(select(Organisation).where(Organisation.credit_code == HOSPITAL))
        project = await register_project(session, actor="test", code=new_code(), title="济宁市测试门诊楼工程",
                                         category="construction", method="open_tender", region_code="370800",
                                         tendering_party_id=party.id, estimate_fen=10_000_000_00)
        if agency:
            await agency_drawn(session, keys, project.code, [DEMO_AGENCY])
        orgs = []
        for _ in range(bidders):
            org = await factories.organisation(session, "bidder")
            await register_bidder(session, actor="test", project_code=project.code, bidder_credit_code=org.credit_code)
            orgs.append(org)
        if announced:
            await announce_tender(session, keys, actor="test",
                                  project_code=project.code,
                                  bid_deadline=await database_now(session) + timedelta(days=25),
                                  documents=factories.tender_documents())
        return project.code, orgs
