"""Who may read the opening record (开标记录), asked of the service the API and the pages share
(bidding.opening.visibility): before the decryption window is over only supervisors and the
center's administrators; afterwards everyone, signed in or not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, strategies as st

from bidding.opening.proceedings import OpeningSession, start_opening
from bidding.opening.visibility import WATCHERS, opening_record_visible_to, readable_opening_record
from tests.common import factories
from tests.common.opening import tender_with_bids, window_passes
from trading.errors import NotAuthenticated, PermissionDenied
from trading.roles import UserRole

START = datetime(2026, 12, 8, 1, 30, tzinfo=UTC)
ROLES = st.sampled_from([None, *(role.value for role in UserRole)])


def _opening(*, minutes: int, closed: bool) -> OpeningSession:
    return OpeningSession(project_id=1, started_by="admin", started_at=START,
                          window_ends_at=START + timedelta(minutes=minutes), closed_at=START if closed else None)


@given(role=ROLES, minutes=st.integers(1, 120), elapsed=st.integers(0, 240), closed=st.booleans())
def test_the_record_is_for_watchers_until_the_window_is_over(role, minutes, elapsed, closed):
    opening = _opening(minutes=minutes, closed=closed)
    over = closed or elapsed >= minutes
    assert opening_record_visible_to(role, opening, START + timedelta(minutes=elapsed)) == (role in WATCHERS or over)


@given(role=ROLES)
def test_before_the_opening_only_watchers_may_ask(role):
    assert opening_record_visible_to(role, None, START) == (role in WATCHERS)


async def test_a_bidder_or_the_public_is_refused_during_the_window_and_reads_it_after(demo, session, keys):
    tender, _ = await tender_with_bids(session, keys, [98_000_000])
    await start_opening(session, keys, actor="admin", project_code=tender.code)
    bidder = await factories.user(session, UserRole.BIDDER)
    supervisor = await factories.user(session, UserRole.SUPERVISOR)

    with pytest.raises(NotAuthenticated) as anonymous:
        await readable_opening_record(session, tender.code, None)
    with pytest.raises(PermissionDenied) as refused:
        await readable_opening_record(session, tender.code, bidder)
    for refusal in (anonymous.value, refused.value):
        assert refusal.message == "解密时限结束前，开标记录仅供监督人员查看"
    assert (anonymous.value.code, refused.value.code) == ("not_authenticated", "opening_record_sealed")
    watched = await readable_opening_record(session, tender.code, supervisor)
    assert [entry["price_fen"] for entry in watched["entries"]] == [None]  # not yet decrypted

    await window_passes(session, tender)
    assert (await readable_opening_record(session, tender.code, None))["project"] == tender.code
    assert (await readable_opening_record(session, tender.code, bidder))["project"] == tender.code
