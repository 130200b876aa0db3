"""Users, passwords (argon2id), login (throttled: trading.login_throttle), and bearer/session tokens.

A token is 32 random bytes shown once to its holder; only its SHA-256 is stored, so a
copy of the database cannot be used to log in. Portal sessions and API tokens are the
same kind of row with a different ``kind`` and lifetime.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import anyio
import nacl.exceptions
import nacl.pwhash
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    Select,
    String,
    bindparam,
    func,
    select,
    text,
    update,
)
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Field, SQLModel
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from trading.audit import actor_of, record_event
from trading.columns import created_at_column, timestamp_column
from trading.database import transaction_now
from trading.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from trading.identifiers import validate_id_number
from trading.login_throttle import LoginLimits, check_login_allowed, hold_login_turn, record_attempt
from trading.organisations import Organisation
from trading.password_policy import check_new_password
from trading.roles import USER_ORG_ROLE, UserRole

USER_ROLE_VALUES = ", ".join(f"'{role.value}'" for role in UserRole)
SESSION = "session"
API = "api"
# Verified against when the username is unknown, so timing does not reveal accounts.
_DUMMY_HASH = nacl.pwhash.argon2id.str(b"not-a-password")


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN ({USER_ROLE_VALUES})", name="users_role_known"),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    display_name: str = Field(sa_column=Column(String(100), nullable=False))
    role: str = Field(sa_column=Column(String(32), nullable=False))
    organisation_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("organisations.id"), nullable=True))
    password_hash: str = Field(sa_column=Column(String(200), nullable=False))
    id_number: str | None = Field(default=None, sa_column=Column(String(18), nullable=True))
    is_active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default=text("true")))
    created_at: datetime = Field(sa_column=created_at_column())

    @property
    def user_role(self) -> UserRole:
        return UserRole(self.role)


class AuthToken(SQLModel, table=True):
    __tablename__ = "auth_tokens"
    __table_args__ = (CheckConstraint("kind IN ('session', 'api')", name="auth_tokens_kind_known"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("users.id"), nullable=False, index=True))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    name: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    created_at: datetime = Field(sa_column=created_at_column())
    expires_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=timestamp_column())


def hash_password(password: str) -> str:
    return nacl.pwhash.argon2id.str(password.encode()).decode()


def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return nacl.pwhash.verify(password_hash.encode(), password.encode())
    except nacl.exceptions.InvalidkeyError:
        return False


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_user(
    session: AsyncSession,
    *,
    actor: str,
    username: str,
    display_name: str,
    role: str,
    password: str,
    organisation_id: int | None = None,
    id_number: str | None = None,
) -> User:
    username = username.strip().lower()
    if not username or len(username) > 64:
        raise InvalidInput("用户名不能为空且不超过64个字符", code="invalid_username", field="username")
    try:
        user_role = UserRole(role)
    except ValueError:
        raise InvalidInput(f"未知的用户角色「{role}」", code="unknown_role", field="role") from None
    check_new_password(password, username=username)
    needed = USER_ORG_ROLE.get(user_role)
    if needed is not None:
        org = await session.get(Organisation, organisation_id) if organisation_id else None
        if org is None or needed.value not in org.roles:
            raise InvalidInput(f"{user_role.label}账号必须属于具有「{needed.label}」角色的单位",
                               code="organisation_role_mismatch", field="organisation_id")
    if id_number is not None:
        id_number = validate_id_number(id_number)
    if await session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(f"用户名「{username}」已被使用", code="username_taken", field="username")
    password_hash = await anyio.to_thread.run_sync(hash_password, password)
    user = User(username=username, display_name=display_name, role=user_role.value,
                organisation_id=organisation_id, password_hash=password_hash, id_number=id_number)
    session.add(user)
    await session.flush()
    await record_event(session, actor=actor, action="user.created", subject=f"user:{user.id}",
                       data={"username": username, "role": user_role.value, "organisation_id": organisation_id})
    return user


async def authenticate(session: AsyncSession, *, username: str, password: str, client: str,
                       limits: LoginLimits) -> User:
    """Check a password unless this client must first wait (trading.login_throttle).

    The attempt is recorded in the caller's transaction, under locks held until it ends,
    so the caller must commit even when this raises (the web layer does).
    """
    username = username.strip().lower()[:64]
    client = client[:64]
    await hold_login_turn(session, username, client)
    await check_login_allowed(session, username, client, limits)
    user = await session.scalar(select(User).where(User.username == username))
    stored = user.password_hash if user is not None else _DUMMY_HASH.decode()
    matches = await anyio.to_thread.run_sync(_password_matches, stored, password)
    ok = bool(user is not None and user.is_active and matches)
    await record_attempt(session, username, client, ok)
    if not ok:
        raise NotAuthenticated("用户名或密码错误")
    await record_event(session, actor=actor_of(user), action="user.logged_in", subject=f"user:{user.id}", data={})
    return user


async def _store_token(session: AsyncSession, user_id: int, *, kind: str, lifetime: timedelta,
                       name: str | None) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    expires_at = await session.scalar(select(func.now() + lifetime))
    session.add(AuthToken(user_id=user_id, kind=kind, token_hash=token_digest(token), name=name, expires_at=expires_at))
    await session.flush()
    return token, expires_at


async def issue_token(
    session: AsyncSession, user: User, *, kind: str, lifetime: timedelta, name: str | None = None
) -> tuple[str, datetime]:
    """Make a token for ``user``: (plain token, expiry). The plain token is never stored."""
    token, expires_at = await _store_token(session, user.id, kind=kind, lifetime=lifetime, name=name)
    if kind == API:
        await record_event(session, actor=actor_of(user), action="api_token.issued", subject=f"user:{user.id}",
                           data={"name": name, "expires_at": expires_at.isoformat()})
    return token, expires_at


async def refresh_api_token(session: AsyncSession, token: str, *, lifetime: timedelta) -> tuple[str, datetime]:
    """Exchange a live API token for a new one of the full ``lifetime``; the old one ends at once (audited).

    The old token's row is locked, so of two refreshes with one token only the first succeeds.
    """
    old = await session.scalar(
        select(AuthToken).where(AuthToken.token_hash == token_digest(token), AuthToken.kind == API,
                                AuthToken.revoked_at.is_(None), AuthToken.expires_at > func.now())
        .with_for_update())
    user = await session.get(User, old.user_id) if old is not None else None
    if user is None or not user.is_active:
        raise NotAuthenticated("访问令牌无效或已过期，请重新登录")
    old.revoked_at = await transaction_now(session)
    new_token, expires_at = await _store_token(session, user.id, kind=API, lifetime=lifetime, name=old.name)
    await record_event(session, actor=actor_of(user), action="api_token.refreshed", subject=f"user:{user.id}",
                       data={"name": old.name, "replaced": old.id, "expires_at": expires_at.isoformat()})
    return new_token, expires_at


def _token_user_query(kind: str | None) -> Select:
    users, tokens = User.__table__, AuthToken.__table__
    query = (select(*users.c).select_from(users.join(tokens, tokens.c.user_id == users.c.id))
             .where(tokens.c.token_hash == bindparam("digest"), tokens.c.revoked_at.is_(None),
                    tokens.c.expires_at > func.now(), users.c.is_active.is_(True)))
    return query if kind is None else query.where(tokens.c.kind == kind)


# Every request with a token runs one of these: Core rows, not ORM loading (a third of the
# lookup's cost, bench/RESULTS.md "deadline rush").
_TOKEN_USER = {kind: _token_user_query(kind) for kind in (None, SESSION, API)}


async def user_for_token(db: AsyncSession | AsyncConnection, token: str, *, kind: str | None = None) -> User | None:
    """The active user a live token belongs to, detached from any session, or None."""
    row = (await db.execute(_TOKEN_USER[kind], {"digest": token_digest(token)})).first()
    if row is None:
        return None
    user = User(**row._mapping)
    make_transient_to_detached(user)  # as if loaded by a session since closed
    return user


async def revoke_token(session: AsyncSession, token: str) -> None:
    """End a session or revoke an API token (logout); audited."""
    revoked = (await session.execute(
        update(AuthToken).where(AuthToken.token_hash == token_digest(token), AuthToken.revoked_at.is_(None))
        .values(revoked_at=func.now()).returning(AuthToken.user_id, AuthToken.kind)
    )).first()
    if revoked is not None:
        user = await session.get(User, revoked.user_id)
        action = "user.logged_out" if revoked.kind == SESSION else "api_token.revoked"
        await record_event(session, actor=actor_of(user), action=action, subject=f"user:{user.id}", data={})


async def get_user(session: AsyncSession, username: str, *, lock: bool = False) -> User:
    query = select(User).where(User.username == (username or "").strip().lower())
    if lock:
        query = query.with_for_update()
    user = await session.scalar(query)
    if user is None:
        raise NotFound(f"未找到用户「{username}」", field="username")
    return user


async def set_user_active(session: AsyncSession, *, actor: str, username: str, active: bool, reason: str) -> User:
    """Disable (or enable again) an account, with the reason; disabling ends its sessions and tokens."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("须说明停用或启用账号的理由", code="reason_required", field="reason")
    user = await get_user(session, username, lock=True)
    if not active and user.role == UserRole.ADMIN:
        if actor.startswith(f"user:{user.id}:"):
            raise Conflict("管理员不能停用自己的账号", code="self_disable", username=user.username)
        # Every active administrator row locked, so that two disables at once cannot both pass.
        admins = (await session.scalars(select(User.id).where(User.role == UserRole.ADMIN, User.is_active.is_(True))
                                        .with_for_update())).all()
        if admins == [user.id]:
            raise Conflict("不能停用最后一个有效的管理员账号", code="last_admin", username=user.username)
    user.is_active = active
    if not active:
        await session.execute(update(AuthToken).where(AuthToken.user_id == user.id, AuthToken.revoked_at.is_(None))
                              .values(revoked_at=func.now()))
    await session.flush()
    await record_event(session, actor=actor, action="user.enabled" if active else "user.disabled",
                       subject=f"user:{user.id}", data={"username": user.username, "reason": reason.strip()})
    return user


async def change_password(session: AsyncSession, *, user: User, current: str, new: str) -> None:
    """The user changes its own password (the current one proves it); every session and token ends."""
    # The caller's ``user`` may come from another session (the web layer's middleware).
    user = await session.get(User, user.id, with_for_update=True, populate_existing=True)
    if not await anyio.to_thread.run_sync(_password_matches, user.password_hash, current):
        raise NotAuthenticated("当前密码不正确")
    check_new_password(new, username=user.username, field="new", label="新密码")
    if new == current:
        raise InvalidInput("新密码不能与当前密码相同", code="password_unchanged", field="new")
    user.password_hash = await anyio.to_thread.run_sync(hash_password, new)
    await session.execute(update(AuthToken).where(AuthToken.user_id == user.id, AuthToken.revoked_at.is_(None))
                          .values(revoked_at=func.now()))
    await session.flush()
    await record_event(session, actor=actor_of(user), action="user.password_changed", subject=f"user:{user.id}", data={})
