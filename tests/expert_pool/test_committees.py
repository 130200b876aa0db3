"""Expert draws for evaluation committees: the rules, the pool filter, sealing, answers,
reserves, replacement draws, double booking, cooling-off, and the unseal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from expert_pool.committees import (
    DECLINED,
    INVITED,
    UNAVAILABLE,
    CommitteeMember,
    ExpertBooking,
    GroupSpec,
    answer_invitation,
    avoided_bidders_digest,
    committee_view,
    request_committee,
    unseal_committee,
    unseal_due_committees,
    witness_committee_draw,
)
from expert_pool.composition import check_committee
from expert_pool.experts import add_leave, declare_conflict, set_expert_status
from tests.common import factories
from tests.common.committees import draws_of, make_pool, members, session_window, start_session_now, witness_all
from trading import sealed_draw as sd
from trading.audit import AuditEntry
from trading.canonical import canon
from trading.draws import COMMITTED, REVEALED, Draw, draw_bundle, get_draw, sealed_selection
from trading.errors import Conflict, InvalidInput, RuleViolation
from trading.keys import load_center_keys
from trading.notifications import messages_about
from trading.rules.store import get_rule_set
from web.core.draws import avoided_bidders_of

@pytest.fixture(scope="module")
def keys(settings):
    return load_center_keys(settings)


@pytest.fixture
async def rule_set(session):
    return await get_rule_set(session, "construction-open-tender", "2019.1")


async def new_request(session, keys, rule_set, *, groups=(GroupSpec("A0801", 5, 2),), party=None, window=None,
                      bidders=(), representatives=0, place="济宁市公共资源交易中心 第3评标室"):
    party = party or (await factories.organisation(session, "tendering_party")).credit_code
    starts_at, ends_at = window or await session_window(session)
    return await request_committee(
        session, keys, actor="user:1:admin", project_code="JN-2026-GC-0300", rule_set=rule_set,
        tendering_party_code=party, agency_code=None, bidder_codes=list(bidders), starts_at=starts_at, ends_at=ends_at,
        place=place, groups=list(groups), representatives=representatives)


# --- the committee's make-up --------------------------------------------------------------

@pytest.mark.parametrize(("experts", "representatives", "rule"), [
    (4, 0, "committee_min_size"), (6, 0, "committee_size_must_be_odd"), (3, 2, "committee_min_expert_share"),
])
async def test_a_committee_breaking_the_rules_is_refused_before_anything_is_committed(session, keys, rule_set,
                                                                                   experts, representatives, rule):
    await make_pool(session, 10)
    before = await session.scalar(select(func.count()).select_from(Draw))
    with pytest.raises(RuleViolation) as refused:
        await new_request(session, keys, rule_set, groups=[GroupSpec("A0801", experts, 1)], representatives=representatives)
    assert refused.value.details["rule"] == rule and "第三十七条" in refused.value.details["source"]
    assert await session.scalar(select(func.count()).select_from(Draw)) == before


@given(experts=st.integers(1, 30), representatives=st.integers(0, 10))
def test_the_makeup_check_is_exactly_the_law(experts, representatives):
    from trading.rules.ruleset import load_rule_sets

    rules = next(r for r in load_rule_sets() if r.code == "construction-open-tender").to_dict()["rules"]
    total = experts + representatives
    lawful = total >= 5 and total % 2 == 1 and 3 * experts >= 2 * total
    try:
        check_committee(rules, experts=experts, representatives=representatives)
        assert lawful
    except RuleViolation:
        assert not lawful


# --- the pool ------------------------------------------------------------------------------

async def test_the_pool_leaves_out_every_expert_who_must_not_sit(session, keys, rule_set):
    bidder = await factories.organisation(session, "bidder")
    party = await factories.organisation(session, "tendering_party")
    eligible = await make_pool(session, 8)
    employed = await factories.expert(session, employer=bidder.credit_code)
    party_staff = await factories.expert(session, employer=party.credit_code)
    conflicted = await factories.expert(session)
    await declare_conflict(session, actor="test", code=conflicted.code, credit_code=bidder.credit_code, reason="近三年曾任职")
    on_leave = await factories.expert(session)
    starts_at, ends_at = await session_window(session)
    await add_leave(session, actor="test", code=on_leave.code, starts_at=starts_at - timedelta(hours=1),
                    ends_at=starts_at + timedelta(hours=1), reason="出差")
    suspended = await factories.expert(session)
    await set_expert_status(session, actor="test", code=suspended.code, status="suspended", reason="评价不合格")
    overdue = await factories.expert(session, next_review_due=(starts_at - timedelta(days=1)).date())
    other_field = await factories.expert(session, specialties=["B0101"])
    request = await new_request(session, keys, rule_set, party=party.credit_code, bidders=[bidder.credit_code],
                                window=(starts_at, ends_at))
    [draw] = await draws_of(session, request.id)
    assert draw.pool == sorted(eligible)
    left_out = {employed.code, party_staff.code, conflicted.code, on_leave.code, suspended.code, overdue.code, other_field.code}
    assert not left_out & set(draw.pool)
    # The public criteria name the party; the bidders only as a salted digest (secret until the reveal).
    criteria = draw.commit_record["criteria"]
    assert criteria["exclude_orgs"] == [party.credit_code]
    assert criteria["exclude_bidders_sha256"] == avoided_bidders_digest(request.bidders_salt, [bidder.credit_code])


async def test_an_expert_fitting_two_groups_is_in_the_first_groups_pool_only(session, keys, rule_set):
    both = await factories.expert(session, specialties=["A0801", "A0802"])
    await make_pool(session, 4, "A0801")
    await make_pool(session, 3, "A0802")
    request = await new_request(session, keys, rule_set, groups=[GroupSpec("A0801", 3, 1), GroupSpec("A0802", 2, 1)])
    first, second = await draws_of(session, request.id)
    assert both.code in first.pool and both.code not in second.pool


# --- sealing, invitations, answers ---------------------------------------------------------

async def test_until_the_witness_nobody_is_invited_and_until_the_start_nobody_is_named(session, keys, rule_set):
    await make_pool(session, 9)
    request = await new_request(session, keys, rule_set)
    assert await members(session, request.id) == []
    await witness_all(session, keys, request.id)
    seated = await members(session, request.id)
    assert [m.status for m in seated] == [INVITED] * 5  # the reserves are no rows: they are not called (step 7)
    view = await committee_view(session, request.id)
    assert view["members"] is None and view["groups"][0]["invited"] == 5
    messages = await messages_about(session, f"committee:{request.id}")
    assert len(messages) == 5
    assert all("第3评标室" in m.body and "JN-2026-GC-0300" not in m.body for m in messages)
    [draw] = await draws_of(session, request.id)
    assert draw_bundle(draw, keys)["reveal"] is None


async def test_a_decline_needs_a_reason_and_calls_the_next_reserve_in_order(session, keys, rule_set):
    await make_pool(session, 9)
    request = await new_request(session, keys, rule_set)
    await witness_all(session, keys, request.id)
    [draw] = await draws_of(session, request.id)
    _, reserves = sealed_selection(keys, draw)
    first, *_ = seated = await members(session, request.id)
    with pytest.raises(InvalidInput, match="理由"):
        await answer_invitation(session, keys, member_id=first.id, expert_id=first.expert_id, accept=False, actor="x")
    await answer_invitation(session, keys, member_id=first.id, expert_id=first.expert_id, accept=False,
                            reason="当天有手术安排", actor="expert")
    after = await members(session, request.id)
    assert [m.status for m in after] == [DECLINED if m.id == first.id else INVITED for m in seated] + [INVITED]
    assert set(await _codes_of_members(session, request.id)) - {c for c in await _codes_of(session, seated)} \
        == {reserves[0]}  # the first reserve is called, the second is still no row
    booking = await session.scalar(select(ExpertBooking).where(ExpertBooking.member_id == first.id))
    assert booking.released_at is not None
    second = seated[1]
    await answer_invitation(session, keys, member_id=second.id, expert_id=second.expert_id, accept=True, actor="expert")
    with pytest.raises(Conflict):
        await answer_invitation(session, keys, member_id=second.id, expert_id=second.expert_id, accept=False,
                                reason="改变主意", actor="expert")


async def test_with_the_reserves_used_up_a_replacement_draw_continues_the_group(session, keys, rule_set):
    await make_pool(session, 10)
    request = await new_request(session, keys, rule_set, groups=[GroupSpec("A0801", 5, 1)])
    await witness_all(session, keys, request.id)
    for _ in range(2):
        invited = next(m for m in await members(session, request.id) if m.status == INVITED)
        await answer_invitation(session, keys, member_id=invited.id, expert_id=invited.expert_id, accept=False,
                                reason="身体原因", actor="expert")
    first, replacement = await draws_of(session, request.id)
    assert replacement.status == COMMITTED and replacement.continues_draw_id == first.draw_id
    assert replacement.commit_record["criteria"]["continues"] == first.draw_id
    assert replacement.count == 1
    assert not set(replacement.pool) & set(first.reveal_record["selected"] if first.reveal_record else
                                            [m for m in first.pool if m in await _codes_of_members(session, request.id)])
    await witness_all(session, keys, request.id)
    assert sum(1 for m in await members(session, request.id) if m.status == INVITED) == 5


async def _codes_of(session, rows) -> list[str]:
    from expert_pool.models import Expert

    return list((await session.scalars(select(Expert.code).where(Expert.id.in_([m.expert_id for m in rows])))).all())


async def _codes_of_members(session, request_id: int) -> list[str]:
    from expert_pool.models import Expert

    return list((await session.scalars(select(Expert.code).join(CommitteeMember, CommitteeMember.expert_id == Expert.id)
                                       .where(CommitteeMember.request_id == request_id))).all())


# --- bookings and cooling-off ------------------------------------------------------------

async def test_the_database_refuses_an_overlapping_booking(session, keys, rule_set):
    await make_pool(session, 7)
    request = await new_request(session, keys, rule_set)
    await witness_all(session, keys, request.id)
    member = next(m for m in await members(session, request.id) if m.status == INVITED)
    other = CommitteeMember(request_id=request.id, group_id=member.group_id, draw_id=member.draw_id,
                            expert_id=member.expert_id, status=UNAVAILABLE)
    session.add(other)
    await session.flush()
    with pytest.raises(IntegrityError, match="expert_bookings_no_overlap"):
        async with session.begin_nested():
            session.add(ExpertBooking(expert_id=member.expert_id, member_id=other.id,
                                      during=func.tstzrange(request.starts_at + timedelta(hours=1),
                                                            request.ends_at + timedelta(hours=1))))
            await session.flush()


async def test_overlapping_draws_never_book_one_expert_twice(session, keys, rule_set):
    pool = await make_pool(session, 7)
    window = await session_window(session)
    # Both committed before either is witnessed: their pools are the same seven experts.
    first = await new_request(session, keys, rule_set, window=window)
    second = await new_request(session, keys, rule_set, window=(window[0] + timedelta(hours=2), window[1] + timedelta(hours=2)))
    await witness_all(session, keys, first.id)
    await witness_all(session, keys, second.id)
    booked = (await session.scalars(select(ExpertBooking.expert_id).where(ExpertBooking.released_at.is_(None)))).all()
    assert len(booked) == len(set(booked))
    statuses = [m.status for m in await members(session, second.id)]
    assert UNAVAILABLE in statuses and statuses.count(INVITED) == 2  # only two of seven were free
    short = await session.scalar(select(AuditEntry).where(AuditEntry.subject == f"committee:{second.id}",
                                                          AuditEntry.action == "committee.group_short"))
    assert short.data["missing"] == 3
    # A third session later that week draws from those no longer booked for an overlapping time.
    third = await new_request(session, keys, rule_set, window=(window[0] + timedelta(days=2), window[1] + timedelta(days=2)))
    [draw] = await draws_of(session, third.id)
    assert sorted(draw.pool) == sorted(pool)


async def test_experts_who_sat_for_the_same_party_recently_are_left_out(session, keys, rule_set):
    await make_pool(session, 7)
    party = await factories.organisation(session, "tendering_party")
    window = await session_window(session)
    first = await new_request(session, keys, rule_set, party=party.credit_code, window=window)
    await witness_all(session, keys, first.id)
    confirmed = [m for m in await members(session, first.id) if m.status == INVITED]
    for member in confirmed:
        await answer_invitation(session, keys, member_id=member.id, expert_id=member.expert_id, accept=True, actor="e")
    sat = set(await _codes_of_members(session, first.id))
    later = (window[0] + timedelta(days=10), window[1] + timedelta(days=10))
    with pytest.raises(RuleViolation, match="不足以抽取"):  # the five who sat are cooling off; two remain
        await new_request(session, keys, rule_set, party=party.credit_code, window=later)
    other_party = await new_request(session, keys, rule_set, window=later)
    [draw] = await draws_of(session, other_party.id)
    assert sat & set(draw.pool)


# --- the unseal ------------------------------------------------------------------------------

async def test_the_committee_is_named_only_from_the_start_of_the_session(session, keys, rule_set):
    await make_pool(session, 9)
    request = await new_request(session, keys, rule_set)
    await witness_all(session, keys, request.id)
    with pytest.raises(RuleViolation, match="评标开始前"):
        await unseal_committee(session, keys, request.id, actor="system")
    assert await unseal_due_committees(session, keys) == 0
    await start_session_now(session, request.id)
    assert await unseal_due_committees(session, keys) == 1
    view = await committee_view(session, request.id)
    assert view["status"] == "unsealed" and len(view["members"]) == 5
    [draw] = await draws_of(session, request.id)
    draw = await get_draw(session, draw.draw_id)
    assert draw.status == REVEALED
    assert sd.verify_bundle(draw_bundle(draw, keys), keys.verify_key_hex).ok
    assert {m["code"] for m in view["members"]} == set(draw.reveal_record["selected"])


async def test_a_session_must_start_after_the_draw(session, keys, rule_set):
    await make_pool(session, 7)
    now = await session.scalar(select(func.now()))
    with pytest.raises(RuleViolation, match="密封"):
        await new_request(session, keys, rule_set, window=(now - timedelta(hours=1), now + timedelta(hours=3)))


async def test_two_draws_witnessed_at_the_same_moment_never_share_an_expert(engine, keys):
    # Two committees for overlapping sessions, committed on the same five experts, are
    # witnessed concurrently in separate transactions: the exclusion constraint lets each
    # expert be booked once, whatever the interleaving.
    import asyncio

    from trading.database import make_sessionmaker, transaction

    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as session:
        rule_set = await get_rule_set(session, "construction-open-tender", "2019.1")
        specialty = "C0601"  # a specialty no other test of this module uses
        await make_pool(session, 5, specialty)
        window = await session_window(session, days=60)
        requests = [await new_request(session, keys, rule_set, groups=[GroupSpec(specialty, 5, 0)], window=window)
                    for _ in range(2)]
        draw_ids = [(await draws_of(session, request.id))[0].draw_id for request in requests]

    async def witness(draw_id: str) -> None:
        async with transaction(sessions) as session:
            await witness_committee_draw(session, keys, draw_id, value="同时见证", by="user:7:supervisor")

    await asyncio.gather(*(witness(draw_id) for draw_id in draw_ids))
    async with transaction(sessions) as session:
        invited = (await session.scalars(select(CommitteeMember.expert_id).where(
            CommitteeMember.request_id.in_([r.id for r in requests]), CommitteeMember.status == INVITED))).all()
        booked = (await session.scalars(select(ExpertBooking.expert_id).join(
            CommitteeMember, CommitteeMember.id == ExpertBooking.member_id).where(
            CommitteeMember.request_id.in_([r.id for r in requests]), ExpertBooking.released_at.is_(None)))).all()
    assert len(invited) == 5 and sorted(booked) == sorted(invited) and len(set(booked)) == 5


async def test_the_public_commit_record_names_no_bidder_until_the_reveal_discloses_them(session, keys, rule_set):
    bidders = [await factories.organisation(session, "bidder") for _ in range(2)]
    codes = sorted(bidder.credit_code for bidder in bidders)
    await make_pool(session, 9)
    request = await new_request(session, keys, rule_set, bidders=codes)
    [draw] = await draws_of(session, request.id)
    published = canon(draw_bundle(draw, keys)).decode()
    # Who registered, and how many, stay unknown before the opening (招标投标法 第二十二条).
    assert not any(code in published for code in codes) and request.bidders_salt not in published
    assert await avoided_bidders_of(session, draw) is None
    await witness_all(session, keys, request.id)
    await start_session_now(session, request.id)
    await unseal_due_committees(session, keys)
    disclosed = await avoided_bidders_of(session, await get_draw(session, draw.draw_id))
    assert disclosed["bidders"] == codes
    # Anyone can check the disclosure against the digest signed at commit time.
    assert avoided_bidders_digest(disclosed["salt"], disclosed["bidders"]) == \
        draw.commit_record["criteria"]["exclude_bidders_sha256"]
