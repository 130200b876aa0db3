"""Accounts at the service level: users, argon2id passwords, login throttling, tokens."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.common import factories
from trading.accounts import (
    API,
    SESSION,
    AuthToken,
    User,
    authenticate,
    change_password,
    create_user,
    issue_token,
    refresh_api_token,
    revoke_token,
    token_digest,
    user_for_token,
)
from trading.database import make_sessionmaker
from trading.errors import ConfigurationError, Conflict, InvalidInput, NotAuthenticated, RateLimited
from trading.audit import AuditEntry
from trading.login_throttle import LoginAttempt, LoginLimits, failed_logins_since_previous_login
from trading.roles import UserRole
from trading.settings import Settings

MAX_FAILURES = 3
WINDOW = 15 * 60
LIMITS = LoginLimits(free_failures=MAX_FAILURES, window_seconds=WINDOW, first_delay_seconds=30, max_delay_seconds=600)
_clients = itertools.count(1)
_usernames = itertools.count(1)


def new_client() -> str:
    """A client address of its own, so tests do not share the per-client failure count."""
    return f"192.0.2.{next(_clients)}"


async def login(session: AsyncSession, username: str, password: str = factories.PASSWORD, *,
                client: str, limits: LoginLimits = LIMITS) -> User:
    return await authenticate(session, username=username, password=password, client=client, limits=limits)


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


@pytest.mark.parametrize(("password", "reason", "says"), [
    ("Zhang.San.Feng", "username", "密码不能与用户名相同"),
    ("aaaaaaaaaa", "one_character", "密码不能由同一个字符重复组成"),
    ("88888888", "one_character", "密码不能由同一个字符重复组成"),
    ("Password1", "common", "密码是常见密码"),
    ("qwertyuiop", "common", "密码是常见密码"),
    ("1qaz2wsx", "common", "密码是常见密码"),
])
async def test_trivial_and_common_passwords_are_refused(session: AsyncSession, password: str, reason: str,
                                                        says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        await new_user(session, username="zhang.san.feng", password=password)
    assert caught.value.details == {"field": "password", "reason": reason}
    assert caught.value.message.startswith(says)


async def test_a_new_password_is_held_to_the_same_rules(session: AsyncSession) -> None:
    user = await new_user(session)
    for refused in (user.username.upper(), "zzzzzzzz", "iloveyou"):
        with pytest.raises(InvalidInput) as caught:
            await change_password(session, user=user, current=factories.PASSWORD, new=refused)
        assert caught.value.details["field"] == "new"
        assert caught.value.message.startswith("新密码")
    await change_password(session, user=user, current=factories.PASSWORD, new="纸上得来终觉浅绝知此事要躬行")
    assert (await login(session, user.username, "纸上得来终觉浅绝知此事要躬行", client=new_client())).id == user.id


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


async def attempts_of(session: AsyncSession, username: str) -> int:
    return await session.scalar(select(func.count()).select_from(LoginAttempt).where(LoginAttempt.username == username))


async def age_attempts(session: AsyncSession, username: str, seconds: int) -> None:
    """As if the recorded attempts on ``username`` had been made ``seconds`` earlier."""
    await session.execute(update(LoginAttempt).where(LoginAttempt.username == username)
                          .values(at=LoginAttempt.at - timedelta(seconds=seconds)))


async def test_failures_delay_that_client_on_that_account_not_the_owner_elsewhere(session: AsyncSession) -> None:
    """Revision 2 (issue 14): five wrong passwords no longer lock the account for everyone
    (a competitor could lock a bidder out before the deadline); they delay the client that
    typed them, on that account only."""
    owner = await new_user(session)
    attacker = new_client()
    for _ in range(MAX_FAILURES):
        with pytest.raises(NotAuthenticated):
            await login(session, owner.username, "wrong password", client=attacker)
    with pytest.raises(RateLimited) as caught:
        await login(session, owner.username, client=attacker)  # even the right password must wait
    assert caught.value.message.startswith("登录失败次数过多，请 30 秒后再试")
    assert 25 <= caught.value.details["retry_after"] <= 30
    # A refused attempt is not checked, not recorded, and does not lengthen the wait.
    assert await attempts_of(session, owner.username) == MAX_FAILURES
    # The owner, from its own address, gets in at once.
    assert (await login(session, owner.username, client=new_client())).id == owner.id
    # The attacker's address is still held back on this account, but not on others.
    with pytest.raises(RateLimited):
        await login(session, owner.username, "another guess", client=attacker)
    other = await new_user(session)
    assert (await login(session, other.username, client=attacker)).id == other.id


async def test_the_delay_doubles_with_each_further_failure_up_to_the_cap(session: AsyncSession) -> None:
    user = await new_user(session)
    client = new_client()
    day = dataclasses.replace(LIMITS, window_seconds=24 * 3600)  # no failure ages out here

    async def guess(password: str = "wrong password") -> User:
        return await login(session, user.username, password, client=client, limits=day)

    for _ in range(MAX_FAILURES):
        with pytest.raises(NotAuthenticated):
            await guess()
    for expected in (30, 60, 120, 240, 480, 600, 600):
        with pytest.raises(RateLimited) as caught:
            await guess()
        assert expected - 5 <= caught.value.details["retry_after"] <= expected
        await age_attempts(session, user.username, expected)  # the wait has passed
        with pytest.raises(NotAuthenticated):
            await guess()
    # Once the wait has passed, the right password gets in and clears this client's count.
    await age_attempts(session, user.username, 600)
    assert (await guess(factories.PASSWORD)).id == user.id
    with pytest.raises(NotAuthenticated):
        await guess()


async def test_distributed_guessing_holds_back_every_address_that_failed(session: AsyncSession) -> None:
    """After 4N failures on one account from many addresses, each address that failed waits
    (a delay doubling every N failures); an address with no failure is still checked, so
    the owner with the right password gets in."""
    owner = await new_user(session)
    guessers = [new_client() for _ in range(4 * MAX_FAILURES)]
    for client in guessers:
        with pytest.raises(NotAuthenticated):
            await login(session, owner.username, "wrong password", client=client)
    with pytest.raises(RateLimited) as caught:
        await login(session, owner.username, "wrong password", client=guessers[0])
    assert 10 < caught.value.details["retry_after"] <= 30  # from that address's own failure
    # A new address is checked (a wrong guess is a failure like any other)...
    newcomer = new_client()
    with pytest.raises(NotAuthenticated):
        await login(session, owner.username, "wrong password", client=newcomer)
    with pytest.raises(RateLimited):
        await login(session, owner.username, "wrong password", client=newcomer)
    # ...and the owner from a clean address gets in.
    assert (await login(session, owner.username, client=new_client())).id == owner.id


@pytest.fixture
async def separate_sessions(engine: AsyncEngine):
    """Each attempt in its own session and transaction, committed as the web layer does."""
    sessions = make_sessionmaker(engine)

    async def attempt(username: str, password: str, client: str) -> User:
        async with sessions() as session:
            try:
                return await login(session, username, password, client=client)
            finally:
                await session.commit()

    return sessions, attempt


async def test_fifteen_concurrent_wrong_passwords_check_only_the_free_ones(separate_sessions) -> None:
    """Issue 14: fifteen concurrent wrong passwords were all checked before the limit
    engaged. The check and the recording are serialised per account: exactly N are checked."""
    sessions, attempt = separate_sessions
    async with sessions() as session:
        user = await new_user(session)
        await session.commit()
    client = new_client()
    outcomes = await asyncio.gather(*(attempt(user.username, "wrong password", client) for _ in range(15)),
                                    return_exceptions=True)
    assert sorted(type(outcome).__name__ for outcome in outcomes) == \
        ["NotAuthenticated"] * MAX_FAILURES + ["RateLimited"] * (15 - MAX_FAILURES)
    async with sessions() as session:
        assert await attempts_of(session, user.username) == MAX_FAILURES


async def test_concurrent_guesses_from_many_addresses_are_bounded_too(separate_sessions) -> None:
    sessions, attempt = separate_sessions
    async with sessions() as session:
        user = await new_user(session)
        await session.commit()
    guessers = [new_client() for _ in range(4 * MAX_FAILURES)]
    for client in guessers:
        with pytest.raises(NotAuthenticated):
            await attempt(user.username, "wrong password", client)
    # Every address that failed tries again at once: none is checked.
    outcomes = await asyncio.gather(*(attempt(user.username, "wrong password", client) for client in guessers),
                                    return_exceptions=True)
    assert {type(outcome) for outcome in outcomes} == {RateLimited}


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


async def test_refreshing_an_api_token_ends_the_old_one(session: AsyncSession) -> None:
    user = await new_user(session)
    old, old_expiry = await issue_token(session, user, kind=API, lifetime=timedelta(hours=1), name="投标客户端")
    new, new_expiry = await refresh_api_token(session, old, lifetime=timedelta(hours=24))
    assert new != old
    assert timedelta(hours=22) < new_expiry - old_expiry <= timedelta(hours=23)
    assert (await user_for_token(session, new, kind=API)).id == user.id
    assert await user_for_token(session, old) is None
    # A token refreshed once cannot be refreshed again (nor can a session or an unknown token).
    with pytest.raises(NotAuthenticated):
        await refresh_api_token(session, old, lifetime=timedelta(hours=24))
    cookie, _ = await issue_token(session, user, kind=SESSION, lifetime=timedelta(hours=1))
    for refused in (cookie, "not-a-token"):
        with pytest.raises(NotAuthenticated):
            await refresh_api_token(session, refused, lifetime=timedelta(hours=24))
    stored = await session.scalar(select(AuthToken).where(AuthToken.token_hash == token_digest(new)))
    assert stored.name == "投标客户端" and stored.kind == API
    event = await session.scalar(select(AuditEntry).where(AuditEntry.action == "api_token.refreshed",
                                                          AuditEntry.subject == f"user:{user.id}"))
    assert event is not None and event.data["name"] == "投标客户端"


async def test_an_expired_api_token_cannot_be_refreshed(session: AsyncSession) -> None:
    user = await new_user(session)
    token, _ = await issue_token(session, user, kind=API, lifetime=timedelta(seconds=-1))
    with pytest.raises(NotAuthenticated) as caught:
        await refresh_api_token(session, token, lifetime=timedelta(hours=24))
    assert "请重新登录" in caught.value.message


@pytest.mark.parametrize("hours", ["0", "169", "2160"])
def test_api_tokens_cannot_be_configured_to_live_beyond_seven_days(monkeypatch, hours: str) -> None:
    monkeypatch.setenv("TRADING_API_TOKEN_HOURS", hours)
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env()
    assert "TRADING_API_TOKEN_HOURS 须在 1 到 168 之间" in caught.value.message


def test_api_tokens_live_a_day_unless_configured(monkeypatch) -> None:
    monkeypatch.delenv("TRADING_API_TOKEN_HOURS", raising=False)
    assert Settings.from_env().api_token_hours == 24
    monkeypatch.setenv("TRADING_API_TOKEN_HOURS", "168")
    assert Settings.from_env().api_token_hours == 168


# --- what the owner is shown ---------------------------------------------------------

async def test_the_owner_sees_the_failures_since_its_previous_login(separate_sessions) -> None:
    sessions, attempt = separate_sessions
    async with sessions() as session:
        user = await new_user(session)
        await session.commit()
    home, attacker = new_client(), new_client()
    await attempt(user.username, factories.PASSWORD, home)
    for _ in range(2):
        with pytest.raises(NotAuthenticated):
            await attempt(user.username, "wrong password", attacker)
    await attempt(user.username, factories.PASSWORD, home)
    async with sessions() as session:
        shown = await failed_logins_since_previous_login(session, user.username)
    assert shown.count == 2 and shown.since is not None
    assert [client for _, client in shown.recent] == [attacker, attacker]
    assert all(at > shown.since for at, _ in shown.recent)
    # The next login starts afresh: those two were shown at the previous one.
    await attempt(user.username, factories.PASSWORD, home)
    async with sessions() as session:
        assert (await failed_logins_since_previous_login(session, user.username)).count == 0
