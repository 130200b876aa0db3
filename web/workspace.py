"""The signed-in user's workspace (工作台): one landing page, a section per role."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Template

from web.auth import requires_login


@get("/workspace", name="workspace", guards=[requires_login], include_in_schema=False)
async def workspace(request: Request) -> Template:
    # Each role's section is the template workspace/{role}.html (see the role_nav links).
    return Template("workspace.html", context={"role": request.scope["user"].user_role.value})
