"""Login throttling: growing delays per account and client address, never a lock for everyone.

Every password check is recorded (``login_attempts``). Before a password is checked, the
failures of the last ``window`` decide whether this client must first wait:

* **account and client** (the main rule): after ``free_failures`` (N) failures from one
  client address on one account since that pair's last success, the pair waits
  ``first_delay`` seconds from its last failure, doubling with each further failure up to
  ``max_delay``. Only that pair waits: the owner logging in from another address is not
  delayed at all, so a competitor cannot lock a bidder out before a bid deadline by
  typing wrong passwords into its account (a hard lock for everyone, as before, could).
* **one client, many accounts**: after 4N failures from one address across accounts
  (not reset by a success, so one valid account does not clear the way to guess
  others), that address waits the same growing delays.
* **one account, many clients** (distributed guessing): after 4N failures on one account
  since its last success, every client that has already failed on it waits a delay
  that doubles only every N further failures, from that client's own last failure. A
  client with no failure on the account is never held back by this rule: the owner with
  the right password from a clean address still gets in, while each address of a
  guessing botnet gets one guess and then waits. That is the bound we keep: an attacker
  buys each guess with a fresh address, and an owner who mistyped during an attack waits
  at most ``max_delay`` (or logs in from another address).

A refused attempt is not recorded and does not lengthen the wait. Sessions and API tokens
already issued are not touched by any of this: throttling only gates new password checks.

The check and the recording are atomic: they run under transaction-scoped advisory locks
on the account name and then on the client address (always in that order, so two logins
cannot deadlock), held until the caller commits. Of fifteen concurrent wrong passwords
for one account, exactly N are checked against the password hash; the rest are refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Boolean, Column, String, and_, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from trading.columns import created_at_column
from trading.errors import RateLimited

# How many failed attempts the account owner is shown one by one (the count covers all).
SHOWN_FAILURES = 20


class LoginAttempt(SQLModel, table=True):
    __tablename__ = "login_attempts"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    client: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    succeeded: bool = Field(sa_column=Column(Boolean, nullable=False))
    at: datetime = Field(sa_column=created_at_column())


@dataclass(frozen=True)
class LoginLimits:
    free_failures: int = 5
    window_seconds: int = 3600
    first_delay_seconds: int = 30
    max_delay_seconds: int = 900

    def delay(self, excess: int, per_doubling: int = 1) -> float:
        """The wait after ``excess`` failures beyond a rule's free ones (none while negative)."""
        if excess < 0:
            return 0.0
        return float(min(self.max_delay_seconds, self.first_delay_seconds * 2 ** min(excess // per_doubling, 32)))


def wait_text(seconds: int) -> str:
    """``30 秒``, ``2 分 5 秒``, ``15 分钟``: a wait as people read it."""
    minutes, rest = divmod(max(1, seconds), 60)
    if not minutes:
        return f"{rest} 秒"
    return f"{minutes} 分 {rest} 秒" if rest else f"{minutes} 分钟"


async def hold_login_turn(session: AsyncSession, username: str, client: str) -> None:
    """Serialise logins to one account, then from one address, until the transaction ends."""
    for key in (f"login:{username}", f"login-client:{client}"):
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})


def _stand_against(username: str, client: str, window: timedelta):
    attempts = LoginAttempt.__table__.c
    recent_failure = and_(attempts.succeeded.is_(False), attempts.at > func.clock_timestamp() - window)

    def last_success(*where):
        return select(func.coalesce(func.max(attempts.id), 0)).where(attempts.succeeded.is_(True), *where)

    pair = and_(attempts.username == username, attempts.client == client, recent_failure,
                attempts.id > last_success(attempts.username == username, attempts.client == client).scalar_subquery())
    account = and_(attempts.username == username, recent_failure,
                   attempts.id > last_success(attempts.username == username).scalar_subquery())
    by_client = and_(attempts.client == client, recent_failure)
    return select(
        select(func.count()).where(pair).scalar_subquery(),
        select(func.max(attempts.at)).where(pair).scalar_subquery(),
        select(func.count()).where(account).scalar_subquery(),
        select(func.count()).where(by_client).scalar_subquery(),
        select(func.max(attempts.at)).where(by_client).scalar_subquery(),
        func.clock_timestamp(),
    )


async def check_login_allowed(session: AsyncSession, username: str, client: str, limits: LoginLimits) -> None:
    """Raise RateLimited (with how long to wait) when this client must wait before trying ``username``.

    Call under :func:`hold_login_turn`, so that no other attempt lands between this check
    and :func:`record_attempt`.
    """
    row = (await session.execute(_stand_against(username, client, timedelta(seconds=limits.window_seconds)))).one()
    pair_count, pair_last, account_count, client_count, client_last, now = row
    n = limits.free_failures
    ready_at = []
    if pair_count:
        pair_wait = max(limits.delay(pair_count - n), limits.delay(account_count - 4 * n, per_doubling=n))
        ready_at.append(pair_last + timedelta(seconds=pair_wait))
    if client_count:
        ready_at.append(client_last + timedelta(seconds=limits.delay(client_count - 4 * n)))
    remaining = max(((moment - now).total_seconds() for moment in ready_at), default=0.0)
    if remaining > 0:
        seconds = math.ceil(remaining)
        raise RateLimited(f"登录失败次数过多，请 {wait_text(seconds)}后再试（已登录的页面和已申请的令牌不受影响）",
                          retry_after=seconds)


async def record_attempt(session: AsyncSession, username: str, client: str, succeeded: bool) -> None:
    # The clock at the check, not the transaction's start: delays run from the real moment.
    await session.execute(insert(LoginAttempt).values(username=username, client=client, succeeded=succeeded,
                                                      at=func.clock_timestamp()))


@dataclass(frozen=True)
class FailedLogins:
    """Failed password checks on an account since the owner's previous successful login."""

    count: int
    since: datetime | None  # that previous login; None: the account has at most one
    recent: list[tuple[datetime, str]]  # (moment, client address), newest first, at most SHOWN_FAILURES


async def failed_logins_since_previous_login(session: AsyncSession, username: str) -> FailedLogins:
    """What the owner is shown: every failure after the login before the latest one (so both
    the failures that preceded this login and any since)."""
    attempts = LoginAttempt.__table__.c
    previous = (await session.execute(
        select(attempts.id, attempts.at).where(attempts.username == username, attempts.succeeded.is_(True))
        .order_by(attempts.id.desc()).offset(1).limit(1)
    )).first()
    after = and_(attempts.username == username, attempts.succeeded.is_(False),
                 attempts.id > (previous.id if previous else 0))
    count = await session.scalar(select(func.count()).where(after)) or 0
    recent = (await session.execute(
        select(attempts.at, attempts.client).where(after).order_by(attempts.id.desc()).limit(SHOWN_FAILURES)
    )).all()
    return FailedLogins(count=count, since=previous.at if previous else None,
                        recent=[(at, client) for at, client in recent])
