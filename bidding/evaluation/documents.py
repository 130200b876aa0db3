"""The documents of an opened bid, for those who must read them after the opening.

At the opening each bid that opens keeps its content key sealed under the center's KEK
(``OpeningEntry.sealed_content_key``); the ciphertext stays as submitted. A document is
decrypted on request, in memory, and every read is audited (who read which bidder's which
file). Readers: the members of the current evaluation round until its report is complete,
the center and supervisors, and the bidder its own bid. Nobody reads a bid that did not open.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.bids import sealed_bid
from bidding.bids.submission import Bid
from bidding.evaluation.records import EvaluationMember
from bidding.evaluation.rounds import current_session
from bidding.opening.proceedings import DECRYPTED, OpeningEntry, OpeningSession
from bidding.tender.projects import Project, get_project
from trading.audit import record_event
from trading.errors import NotFound, PermissionDenied
from trading.keys import CenterKeys
from trading.roles import UserRole


@dataclass(frozen=True)
class Reader:
    """Who asks: the role, and the expert id or the bidder's credit code where the role has one."""

    actor: str
    role: str
    expert_id: int | None = None
    credit_code: str | None = None


async def _check_reader(session: AsyncSession, project: Project, bid: Bid, reader: Reader) -> None:
    if reader.role in (UserRole.ADMIN, UserRole.SUPERVISOR):
        return
    if reader.role == UserRole.BIDDER and reader.credit_code is not None and bid.bidder_credit_code == reader.credit_code:
        return
    if reader.role == UserRole.EXPERT and reader.expert_id is not None:
        try:
            evaluation = await current_session(session, project)
        except NotFound:
            evaluation = None
        if evaluation is not None and evaluation.completed_at is None and await session.scalar(
                select(EvaluationMember.id).where(EvaluationMember.session_id == evaluation.id,
                                                  EvaluationMember.expert_id == reader.expert_id)):
            return
    raise PermissionDenied("只有本轮评标委员会成员、交易中心、监督人员或投标人本人可以查阅投标文件", code="may_not_read_bid")


async def _opened_bid(session: AsyncSession, keys: CenterKeys, project_code: str, bid_id: int,
                      reader: Reader) -> tuple[Project, Bid, dict[str, bytes]]:
    project = await get_project(session, project_code)
    row = (await session.execute(
        select(Bid, OpeningEntry).join(OpeningEntry, OpeningEntry.bid_id == Bid.id)
        .join(OpeningSession, OpeningSession.id == OpeningEntry.session_id)
        .where(Bid.id == bid_id, OpeningSession.project_id == project.id))).first()
    if row is None or row[1].state != DECRYPTED or row[1].sealed_content_key is None:
        raise NotFound("该投标未在开标时解密，没有可查阅的投标文件", project=project.code, bid_id=bid_id)
    bid, entry = row
    await _check_reader(session, project, bid, reader)
    payload = sealed_bid.open_with_content_key(bid.ciphertext, keys.unseal(entry.sealed_content_key))
    _offer, documents = sealed_bid.read_package(payload)
    return project, bid, documents


async def bid_document_list(session: AsyncSession, keys: CenterKeys, *, project_code: str, bid_id: int,
                            reader: Reader) -> list[dict[str, object]]:
    """The names and sizes of an opened bid's documents."""
    _, _, documents = await _opened_bid(session, keys, project_code, bid_id, reader)
    return [{"name": name, "size": len(content)} for name, content in sorted(documents.items())]


async def read_bid_document(session: AsyncSession, keys: CenterKeys, *, project_code: str, bid_id: int, name: str,
                            reader: Reader) -> bytes:
    """One document of an opened bid; the read is audited."""
    project, bid, documents = await _opened_bid(session, keys, project_code, bid_id, reader)
    if name not in documents:
        raise NotFound(f"投标文件中没有「{name}」", name=name)
    await record_event(session, actor=reader.actor, action="bid.document_read", subject=f"project:{project.code}",
                       data={"bid_id": bid.id, "bidder": bid.bidder_credit_code, "name": name, "role": reader.role})
    return documents[name]
