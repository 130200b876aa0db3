"""Accounts at the service level: users, argon2id passwords, login rate limiting, tokens."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests import factories
from trading.accounts import (
    API,
    SESSION,
    AuthToken,
    User,
    authenticate,
    create_user,
    issue_token,
    revoke_token,
    token_digest,
    user_for_token,
)
from trading.database import make_sessionmaker
from trading.errors import Conflict, InvalidInput, NotAuthenticated, RateLimited
from trading.roles import UserRole

MAX_FAILURES = 3
WINDOW = 15 * 60
_clients = itertools.count(1)
_usernames = itertools.count(1)


def new_client() -> str:
    """A client address of its own, so tests do not share the per-client failure count."""
    return f"192.0.2.{next(_clients)}"


async def login(session: AsyncSession, username: str, password: str = factories.PASSWORD, *,
                client: str, max_failures: int = MAX_FAILURES) -> User:
    return await authenticate(session, username=username, password=password, client=client,
                              max_failures=max_failures, window_seconds=WINDOW)


async def new_user(session: AsyncSession, **changes) -> User:
    values = {"actor": "test", "display_name": "测试用户", "role": UserRole.ADMIN.value,
              "password": factories.PASSWORD} | changes
    values.setdefault("username", f"acct{next(_usernames)}")
    return await create_user(session, **values)


# --- create_user ----------------------------------------------------------------------

async def test_unknown_role_is_refused(session: AsyncSession) -> None:
    with pytest.raises(InvalidInput) as caught:
        await new_user(session, role="emperor")
    assert caught.value.details["field"] == "role"
    assert "未知的用户角色" in caught.value.message


async def test_short_password_is_refused(session: AsyncSession) -> None:
    with pytest.raises(InvalidInput) as caught:
        await new_user(session, password="1234567")
    assert caught.value.details["field"] == "password"
    assert "密码至少" in caught.value.message


async def test_bidder_must_belong_to_a_bidder_organisation(session: AsyncSession) -> None:
    with pytest.raises(InvalidInput) as caught:
        await new_user(session, role=UserRole.BIDDER.value)
    assert caught.value.details["field"] == "organisation_id"

    agency = await factories.organisation(session, "agency")
    with pytest.raises(InvalidInput) as caught:
        await new_user(session, role=UserRole.BIDDER.value, organisation_id=agency.id)
    assert "投标人/供应商" in caught.value.message

    with pytest.raises(InvalidInput):
        await new_user(session, role=UserRole.BIDDER.value, organisation_id=987654321)

    bidder_org = await factories.organisation(session, "bidder", "agency")
    user = await new_user(session, role=UserRole.BIDDER.value, organisation_id=bidder_org.id)
    assert user.organisation_id == bidder_org.id
    assert user.user_role is UserRole.BIDDER


async def test_center_staff_need_no_organisation(session: AsyncSession) -> None:
    for role in (UserRole.ADMIN, UserRole.SUPERVISOR, UserRole.FINANCE):
        user = await new_user(session, role=role.value)
        assert user.organisation_id is None


async def test_duplicate_username_is_a_conflict(session: AsyncSession) -> None:
    await new_user(session, username="zhangsan")
    with pytest.raises(Conflict) as caught:
        await new_user(session, username="zhangsan")
    assert "已被使用" in caught.value.message


async def test_usernames_are_case_insensitive(session: AsyncSession) -> None:
    user = await new_user(session, username="  LiSi ")
    assert user.username == "lisi"
    with pytest.raises(Conflict):
        await new_user(session, username="LISI")
    found = await login(session, "LISI", client=new_client())
    assert found.id == user.id


async def test_empty_username_is_refused(session: AsyncSession) -> None:
    with pytest.raises(InvalidInput) as caught:
        await new_user(session, username="   ")
    assert caught.value.details["field"] == "username"


async def test_bad_id_number_is_refused_without_echoing_it(session: AsyncSession) -> None:
    good = factories.id_number(42)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(InvalidInput) as caught:
        await new_user(session, id_number=bad)
    assert bad not in caught.value.message
    assert bad not in repr(caught.value.details)
    user = await new_user(session, id_number=good)
    assert user.id_number == good


async def test_password_is_stored_as_argon2id(session: AsyncSession) -> None:
    user = await new_user(session)
    stored = await session.scalar(select(User.password_hash).where(User.id == user.id))
    assert stored.startswith("$argon2id$")
    assert factories.PASSWORD not in stored


# --- authenticate ---------------------------------------------------------------------

async def test_authenticate_succeeds_with_the_right_password(session: AsyncSession) -> None:
    user = await new_user(session)
    assert (await login(session, user.username, client=new_client())).id == user.id


async def test_wrong_password_and_unknown_user_look_the_same(session: AsyncSession) -> None:
    user = await new_user(session)
    with pytest.raises(NotAuthenticated) as wrong_password:
        await login(session, user.username, "not the password", client=new_client())
    with pytest.raises(NotAuthenticated) as unknown_user:
        await login(session, "nobody-here", client=new_client())
    assert wrong_password.value.message == unknown_user.value.message == "用户名或密码错误"
    assert wrong_password.value.details == unknown_user.value.details


async def test_too_many_failures_lock_the_account(session: AsyncSession) -> None:
    user = await new_user(session)
    client = new_client()
    for _ in range(MAX_FAILURES):
        with pytest.raises(NotAuthenticated):
            await login(session, user.username, "wrong password", client=client)
    with pytest.raises(RateLimited) as caught:
        await login(session, user.username, client=client)  # even the right password
    assert "登录失败次数过多" in caught.value.message
    assert caught.value.details["retry_after"] == WINDOW
    # The account is locked, not just the client.
    with pytest.raises(RateLimited):
        await login(session, user.username, client=new_client())


async def test_failures_from_one_client_are_limited_across_usernames(session: AsyncSession) -> None:
    client = new_client()
    # The client limit is max_failures * 4; each username stays under its own limit.
    for n in range(MAX_FAILURES * 4):
        with pytest.raises(NotAuthenticated):
            await login(session, f"guess{n % 6}-{client}", "wrong password", client=client)
    victim = await new_user(session)
    with pytest.raises(RateLimited):
        await login(session, victim.username, client=client)
    # Another client is not affected.
    assert (await login(session, victim.username, client=new_client())).id == victim.id


@pytest.fixture
async def committed(engine: AsyncEngine):
    """Attempts in separate committed transactions, as the web layer makes them (each
    attempt then gets its own database time, which the "since the last success" rule
    relies on). Uses fresh usernames and clients: the module database keeps the rows."""
    sessions = make_sessionmaker(engine)

    async def attempt(username: str, password: str, client: str) -> User:
        async with sessions() as session:
            try:
                return await login(session, username, password, client=client)
            finally:
                await session.commit()

    async with sessions() as session:
        user = await new_user(session)
        await session.commit()
    return user, attempt


async def test_a_success_resets_the_failure_count(committed) -> None:
    user, attempt = committed
    client = new_client()
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(NotAuthenticated):
            await attempt(user.username, "wrong password", client)
    assert (await attempt(user.username, factories.PASSWORD, client)).id == user.id
    # Counting starts again from zero after the success...
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(NotAuthenticated):
            await attempt(user.username, "wrong password", client)
    assert (await attempt(user.username, factories.PASSWORD, client)).id == user.id
    # ...and still counts: max_failures new failures lock the account.
    for _ in range(MAX_FAILURES):
        with pytest.raises(NotAuthenticated):
            await attempt(user.username, "wrong password", client)
    with pytest.raises(RateLimited):
        await attempt(user.username, factories.PASSWORD, client)


async def test_a_success_does_not_clear_the_client_limit(session: AsyncSession) -> None:
    # An attacker holding one valid account must not reset the client's count with it.
    client = new_client()
    own = await new_user(session)
    for n in range(MAX_FAILURES * 4 - 1):
        with pytest.raises(NotAuthenticated):
            await login(session, f"guess{n % 6}-{client}", "wrong password", client=client)
        if n == MAX_FAILURES:
            assert (await login(session, own.username, client=client)).id == own.id
    with pytest.raises(NotAuthenticated):
        await login(session, f"guess-last-{client}", "wrong password", client=client)
    with pytest.raises(RateLimited):
        await login(session, own.username, client=client)


# --- tokens ---------------------------------------------------------------------------

async def test_token_lifecycle(session: AsyncSession) -> None:
    user = await new_user(session)
    token, expires_at = await issue_token(session, user, kind=API, lifetime=timedelta(days=90), name="对接系统")
    found = await user_for_token(session, token)
    assert found is not None and found.id == user.id
    assert (await user_for_token(session, token, kind=API)).id == user.id

    stored = (await session.scalars(select(AuthToken).where(AuthToken.user_id == user.id))).all()
    assert len(stored) == 1
    assert stored[0].token_hash == token_digest(token)
    assert len(stored[0].token_hash) == 64 and stored[0].token_hash != token
    assert stored[0].expires_at == expires_at
    # The plain token is nowhere in the table.
    plain = await session.scalar(select(func.count()).select_from(AuthToken).where(AuthToken.token_hash == token))
    assert plain == 0

    await revoke_token(session, token)
    assert await user_for_token(session, token) is None
    await revoke_token(session, token)  # revoking twice is harmless


async def test_unknown_token_finds_nobody(session: AsyncSession) -> None:
    assert await user_for_token(session, "not-a-token") is None


async def test_expired_token_is_not_valid(session: AsyncSession) -> None:
    user = await new_user(session)
    token, _ = await issue_token(session, user, kind=SESSION, lifetime=timedelta(seconds=-1))
    assert await user_for_token(session, token) is None


async def test_session_token_is_not_an_api_token(session: AsyncSession) -> None:
    user = await new_user(session)
    token, _ = await issue_token(session, user, kind=SESSION, lifetime=timedelta(hours=1))
    assert await user_for_token(session, token, kind=API) is None
    assert (await user_for_token(session, token, kind=SESSION)).id == user.id


async def test_deactivated_user_can_neither_log_in_nor_use_tokens(session: AsyncSession) -> None:
    user = await new_user(session)
    token, _ = await issue_token(session, user, kind=API, lifetime=timedelta(days=1))
    user.is_active = False
    await session.flush()
    assert await user_for_token(session, token) is None
    with pytest.raises(NotAuthenticated) as caught:
        await login(session, user.username, client=new_client())
    assert caught.value.message == "用户名或密码错误"
