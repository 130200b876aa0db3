"""An opened bid's documents over the API, for the committee, the center, supervisors and
the bidder itself (bidding.evaluation.documents decides; every read is audited)."""

from __future__ import annotations

from contextlib import suppress
from urllib.parse import quote

from litestar import Controller, Response, get
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.evaluation.documents import Reader, bid_document_list, read_bid_document
from expert_pool.committees import expert_of_user
from trading.accounts import User
from trading.audit import actor_of
from trading.errors import PermissionDenied
from trading.organisations import Organisation
from trading.roles import UserRole
from web.api.docs import BINARY
from web.core.auth import requires_login
from web.core.parameters import RowId
from web.core.state import AppContext
from web.api.schemas.bids import BidDocument


async def reader_of(session: AsyncSession, user: User) -> Reader:
    expert_id = credit_code = None
    if user.role == UserRole.EXPERT:
        # An account without a pool entry reads nothing (refused after the bid is found).
        with suppress(PermissionDenied):
            expert_id = (await expert_of_user(session, user)).id
    elif user.role == UserRole.BIDDER and user.organisation_id is not None:
        credit_code = (await session.get(Organisation, user.organisation_id)).credit_code
    return Reader(actor=actor_of(user), role=str(user.role), expert_id=expert_id, credit_code=credit_code)


class BidDocumentController(Controller):
    path = "/api/projects/{code:str}/bids/{bid_id:int}/documents"
    tags = ["evaluation"]
    guards = [requires_login]

    @get("/", summary="The documents of an opened bid (names and sizes)")
    async def index(self, code: str, bid_id: RowId, user: User, session: AsyncSession,
                    context: AppContext) -> list[BidDocument]:
        return await bid_document_list(session, context.keys, project_code=code, bid_id=bid_id,
                                       reader=await reader_of(session, user))

    @get("/{name:path}", opt={"media_types": (BINARY,)}, summary="One document of an opened bid (audited)")
    async def read(self, code: str, bid_id: RowId, name: str, user: User, session: AsyncSession,
                   context: AppContext) -> Response[bytes]:
        name = name.lstrip("/")
        content = await read_bid_document(session, context.keys, project_code=code, bid_id=bid_id, name=name,
                                          reader=await reader_of(session, user))
        await session.commit()
        return Response(content, media_type=BINARY, headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name.rsplit('/', 1)[-1])}"})
