"""The public page of a draw (for verification) and its sealed result sheet."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from trading.accounts import User
from trading.draw_sheet import draw_sheet_pdf
from trading.draws import draw_bundle, get_draw
from trading.roles import UserRole
from trading.sealed_draw import verify_bundle
from trading.timefmt import rfc3339
from web.core.auth import requires_role
from web.core.draws import avoided_bidders_of
from web.core.state import AppContext


class DrawPageController(Controller):
    path = "/draws"
    include_in_schema = False

    @get("/{draw_id:str}", name="draw.page")
    async def page(self, draw_id: str, session: AsyncSession, context: AppContext, user: User | None) -> Template:
        draw = await get_draw(session, draw_id)
        bundle = draw_bundle(draw, context.keys)
        return Template("draw.html", context={
            "draw": draw, "bundle": bundle, "verification": verify_bundle(bundle, context.keys.verify_key_hex),
            "witness_at": rfc3339(draw.witness_at) if draw.witness_at else None,
            "may_print": user is not None and user.role in (UserRole.ADMIN, UserRole.SUPERVISOR),
            "avoided": await avoided_bidders_of(session, draw),
        })

    @get("/{draw_id:str}/sheet.pdf", name="draw.sheet", guards=[requires_role(UserRole.ADMIN, UserRole.SUPERVISOR)])
    async def sheet(self, draw_id: str, session: AsyncSession, context: AppContext) -> Response[bytes]:
        draw = await get_draw(session, draw_id)
        pdf = await draw_sheet_pdf(draw, context.keys, public_url=context.settings.public_url)
        return Response(pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{draw_id}.pdf"'})
