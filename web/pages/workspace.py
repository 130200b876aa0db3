"""The signed-in user's workspace (工作台): one landing page, a section per role."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, get
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from trading.accounts import User
from trading.login_throttle import failed_logins_since_previous_login
from web.core.auth import requires_login
from web.pages.party.reads import party_workspace
from web.pages.expert import expert_workspace
from web.pages.supervision import supervisor_workspace

# Roles whose section shows data: role -> async (session, user) -> extra template context.
# One line per role; a role not listed gets its section template with ``role`` only.
SECTION_CONTEXT: dict[str, Callable[[AsyncSession, User], Awaitable[dict[str, Any]]]] = {
    "tendering_party": party_workspace,
    "agency": party_workspace,
    "expert": expert_workspace,
    "supervisor": supervisor_workspace,
}


@get("/workspace", name="workspace", guards=[requires_login], include_in_schema=False)
async def workspace(request: Request, session: AsyncSession) -> Template:
    # Each role's section is the template workspace/{role}.html (see the role_nav links).
    user = request.scope["user"]
    role = user.user_role.value
    extra = await SECTION_CONTEXT[role](session, user) if role in SECTION_CONTEXT else {}
    failed_logins = await failed_logins_since_previous_login(session, user.username)
    return Template("workspace.html", context={**extra, "role": role, "failed_logins": failed_logins})
