"""The JSON API: health, keys, tokens, rule sets, audit checkpoints."""

from __future__ import annotations

from datetime import timedelta

from litestar import Controller, Request, Response, delete, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from trading.accounts import API, User, issue_token, refresh_api_token, revoke_token
from trading.audit import list_checkpoints, verify_audit_log
from trading.identifiers import mask_id_number
from trading.login_throttle import FailedLogins, failed_logins_since_previous_login
from trading.roles import UserRole
from trading.rules.store import get_rule_set, list_rule_sets
from trading.timefmt import CENTER_ZONE
from web.core.auth import check_password, requires_login, requires_role, token_of
from web.core.errors import error_responses
from web.core.state import AppContext
from web.api.schemas.accounts import (
    AuditCheck,
    CenterKeys,
    Checkpoints,
    FailedLogins as FailedLoginsView,
    Health,
    Me,
    RuleSetListed,
    RuleSetView,
    RuleView,
    UserView,
)


class TokenRequest(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)
    name: str | None = Field(default=None, max_length=100, description="what the token is for")


class TokenAnswer(BaseModel):
    token: str
    token_type: str = "bearer"
    expires_at: str


def describe_user(user: User) -> UserView:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "role_name": UserRole(user.role).label,
        "organisation_id": user.organisation_id,
        "id_number": mask_id_number(user.id_number) if user.id_number else None,
    }


def describe_failed_logins(failed: FailedLogins) -> FailedLoginsView:
    return {"count": failed.count, "since": failed.since.astimezone(CENTER_ZONE).isoformat() if failed.since else None,
            "attempts": [{"at": at.astimezone(CENTER_ZONE).isoformat(), "client": client} for at, client in failed.recent]}


@get("/health", tags=["platform"], summary="Liveness and database check",
     responses={503: ResponseSpec(data_container=dict[str, str], generate_examples=False,
                                  description='The database is unreachable: {"status": "error", "database": '
                                              '"unreachable"}.')})
async def health(session: AsyncSession) -> Response[Health]:
    try:
        await session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means the database is not usable
        return Response({"status": "error", "database": "unreachable"}, status_code=HTTP_503_SERVICE_UNAVAILABLE)
    return Response({"status": "ok", "database": "ok"})


class PlatformController(Controller):
    path = "/api"
    tags = ["platform"]

    @get("/keys", summary="The center's public verify keys")
    async def keys(self, context: AppContext) -> CenterKeys:
        return {"signing": context.keys.public_info()}

    @post("/auth/token", summary="Exchange a password for a bearer token",
          description="Send it as Authorization: Bearer <token> on every API request. The token lives "
                      "TRADING_API_TOKEN_HOURS hours (24 by default, 7 days at most; see expires_at): renew it "
                      "before then with POST /api/auth/token/refresh. Failed passwords are throttled per account "
                      "and client address: after a few, that client waits a growing delay (429 with Retry-After).",
          responses=error_responses({400: "invalid_request", 401: "not_authenticated", 429: "rate_limited"}))
    async def issue_api_token(self, request: Request, data: TokenRequest, session: AsyncSession, context: AppContext) -> TokenAnswer:
        user = await check_password(request, session, context, data.username, data.password)
        token, expires_at = await issue_token(
            session, user, kind=API, lifetime=timedelta(hours=context.settings.api_token_hours), name=data.name)
        await session.commit()
        return TokenAnswer(token=token, expires_at=expires_at.isoformat())

    @post("/auth/token/refresh", guards=[requires_login], summary="Exchange a live API token for a new one",
          description="Answers a new token of the full lifetime (TRADING_API_TOKEN_HOURS) and revokes the token "
                      "used for this request at once; a token already refreshed, revoked or expired is 401 (log in "
                      "again with POST /api/auth/token).",
          responses=error_responses({401: "not_authenticated"}))
    async def renew_api_token(self, request: Request, session: AsyncSession, context: AppContext) -> TokenAnswer:
        token, expires_at = await refresh_api_token(
            session, token_of(request)[0], lifetime=timedelta(hours=context.settings.api_token_hours))
        await session.commit()
        return TokenAnswer(token=token, expires_at=expires_at.isoformat())

    @delete("/auth/token", guards=[requires_login], summary="Revoke the token used for this request")
    async def revoke_api_token(self, request: Request, session: AsyncSession) -> None:
        presented = token_of(request)
        if presented is not None:
            await revoke_token(session, presented[0])
            await session.commit()

    @get("/me", guards=[requires_login], summary="The authenticated user",
         description="With failed_logins: the failed password checks on this account since the login before "
                     "the latest one (count, and the latest 20 with moment and client address).")
    async def me(self, user: User, session: AsyncSession) -> Me:
        failed = await failed_logins_since_previous_login(session, user.username)
        return {**describe_user(user), "failed_logins": describe_failed_logins(failed)}


class RuleSetController(Controller):
    path = "/api/rulesets"
    tags = ["rules"]

    @get("/", summary="Rule sets loaded on the platform")
    async def list_all(self, session: AsyncSession) -> list[RuleSetListed]:
        return [
            {"code": r.code, "version": r.version, "title": r.title, "category": r.category, "method": r.method,
             "effective_from": r.effective_from.isoformat(),
             "effective_to": r.effective_to.isoformat() if r.effective_to else None, "sha256": r.sha256}
            for r in await list_rule_sets(session)
        ]

    @get("/{code:str}/{version:str}", summary="One rule set with every rule and its legal source")
    async def one(self, code: str, version: str, session: AsyncSession) -> RuleSetView:
        record = await get_rule_set(session, code, version)
        return {**record.content, "sha256": record.sha256}

    @get("/{code:str}/{version:str}/rules/{key:str}", summary="One rule with its value and legal source")
    async def rule(self, code: str, version: str, key: str, session: AsyncSession) -> RuleView:
        record = await get_rule_set(session, code, version)
        return {"rule_set": {"code": record.code, "version": record.version}, **record.rule(key)}


class AuditController(Controller):
    path = "/api/audit"
    tags = ["supervision"]

    @get("/checkpoints", summary="Signed checkpoints of the audit chain (public)")
    async def checkpoints(self, session: AsyncSession, context: AppContext) -> Checkpoints:
        return {"verify_key": context.keys.verify_key_hex, "checkpoints": await list_checkpoints(session)}

    @get("/verify", guards=[requires_role(UserRole.SUPERVISOR, UserRole.ADMIN)],
         summary="Recompute the audit chain now (supervisors and the center's administrators)")
    async def verify(self, session: AsyncSession, context: AppContext) -> AuditCheck:
        report = await verify_audit_log(session, context.keys.verify_key_hex)
        return {"ok": report.ok, "entries": report.entries, "checkpoints": report.checkpoints,
                "bad_seq": report.bad_seq, "message": report.describe()}
