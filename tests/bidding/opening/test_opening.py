"""The opening (开标) with the real sealed-bid/1 protocol: center halves opened at the
deadline and kept only sealed, bidders sign in and hand in K_b within the decryption
window (database clock; answered at once, pending), the batch opener opens what was handed
in (never one entry twice), wrong keys and missing hand-ins recorded not decrypted with the
cause, the maximum price announced once, objections answered, the opening record, and the
tender moved to evaluation or failed (流标) naming min_valid_bids."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import nacl.utils
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.bids import sealed_bid
from bidding.bids.submission import Bid
from bidding.opening.proceedings import (
    DECRYPTED,
    NOT_DECRYPTED,
    PENDING,
    OpeningEntry,
    OpeningSession,
    announce_max_price,
    answer_objection,
    close_window,
    finish_opening,
    hand_in_bidder_half,
    open_all_handed_in_bids,
    open_handed_in_bids,
    opening_record,
    raise_objection,
    record_other_failure,
    sign_in,
    start_opening,
)
from bidding.tender.lifecycle import apply_transition
from bidding.tender.projects import Project
from tests.common import bids
from tests.common.opening import hand_in_and_open, k_b_of, tender_with_bids, window_passes
from tests.common.portal import bearer
from tests.common.tenders import tender_project
from trading.audit import AuditEntry
from trading.database import make_sessionmaker, transaction
from trading.errors import Conflict, RuleViolation
from trading.settings import Settings
from web.app import create_app

OPENING_TABLES = ("opening_sessions", "opening_entries", "opening_objections")


async def test_the_whole_opening_with_three_bidders(demo, session, keys):
    tender, [(wrong, wrong_key), (absent, _), (good, good_key)] = await tender_with_bids(
        session, keys, [101_000_000, 102_000_000, 99_500_000])
    assert tender.state == "bidding"

    opening = await start_opening(session, keys, actor="admin", project_code=tender.code)
    await session.refresh(tender)
    assert tender.state == "opening"
    assert opening.window_ends_at - opening.started_at == timedelta(minutes=30)
    entries = (await session.scalars(select(OpeningEntry).where(OpeningEntry.session_id == opening.id))).all()
    assert len(entries) == 3 and all(entry.center_half_opened and entry.state == "pending" for entry in entries)
    with pytest.raises(Conflict, match="已开标"):
        await start_opening(session, keys, actor="admin", project_code=tender.code)

    for code in (wrong, absent, good):
        await sign_in(session, actor=code, project_code=tender.code, bidder_credit_code=code)
    with pytest.raises(RuleViolation, match="尚未届满"):
        await close_window(session, actor="admin", project_code=tender.code)

    # A hand-in answers at once: pending until the batch opener runs.
    failed = await hand_in_bidder_half(session, keys, actor=wrong, project_code=tender.code, bidder_credit_code=wrong,
                                       k_b_hex=nacl.utils.random(32).hex())
    assert (failed.state, failed.price_fen) == (PENDING, None) and failed.handed_in_at is not None
    with pytest.raises(Conflict, match="不能再次提交") as twice:
        await hand_in_bidder_half(session, keys, actor=wrong, project_code=tender.code, bidder_credit_code=wrong,
                                  k_b_hex=await k_b_of(session, tender, wrong, wrong_key))
    assert twice.value.code == "already_handed_in"
    pending = (await opening_record(session, tender.code))["entries"]
    assert {entry["state_name"] for entry in pending if entry["bidder_credit_code"] == wrong} == {"已提交密钥，正在解密"}
    opened = await hand_in_and_open(session, keys, tender.code, good, await k_b_of(session, tender, good, good_key))
    assert (opened.state, opened.price_fen, opened.duration_days) == (DECRYPTED, 99_500_000, 180)
    assert (failed.state, failed.reason, failed.cause) == (NOT_DECRYPTED, "content_key", "bidder")
    assert failed.price_fen is None and failed.sealed_bidder_half is None and opened.sealed_bidder_half is None
    with pytest.raises(Conflict, match="不能再次解密"):
        await hand_in_bidder_half(session, keys, actor=wrong, project_code=tender.code, bidder_credit_code=wrong,
                                  k_b_hex=await k_b_of(session, tender, wrong, wrong_key))
    assert await open_handed_in_bids(session, keys, tender.code) == 0  # nothing is opened twice

    await announce_max_price(session, actor="agency", project_code=tender.code, max_price_fen=110_000_000)
    with pytest.raises(Conflict, match="已公布"):
        await announce_max_price(session, actor="agency", project_code=tender.code, max_price_fen=120_000_000)
    objection = await raise_objection(session, actor=wrong, project_code=tender.code, bidder_credit_code=wrong,
                                      text="我单位的密钥份额无误，请核查")
    await answer_objection(session, actor="admin", project_code=tender.code, objection_id=objection.id,
                           answer="经核查，所交密钥份额无法解开投标文件（MAC 校验未通过），维持未解密")

    await window_passes(session, tender)
    await close_window(session, actor="admin", project_code=tender.code)
    await close_window(session, actor="admin", project_code=tender.code)  # nothing twice

    record = await opening_record(session, tender.code)
    by_code = {entry["bidder_credit_code"]: entry for entry in record["entries"]}
    assert by_code[good]["price_fen"] == 99_500_000 and by_code[good]["state"] == "decrypted"
    assert by_code[wrong]["price_fen"] is None and by_code[wrong]["outcome"] == "revoked"
    assert (by_code[absent]["state"], by_code[absent]["reason"], by_code[absent]["cause"]) == \
        ("not_decrypted", "no_hand_in", "bidder")
    assert all(entry["signed_in_at"] for entry in record["entries"])
    assert record["max_price_fen"] == 110_000_000
    assert record["objections"][0]["answer"].startswith("经核查")

    # One valid bid of the three: too few, the tender fails naming min_valid_bids.
    result = await finish_opening(session, actor="admin", project_code=tender.code)
    assert result["state"] == "failed" and result["valid_bids"] == 1 and result["retender"]
    assert "min_valid_bids" in result["reason"]
    await session.refresh(tender)
    assert tender.state == "failed"
    actions = (await session.scalars(select(AuditEntry.action).where(
        AuditEntry.subject == f"project:{tender.code}", AuditEntry.action.like("opening.%"))
        .order_by(AuditEntry.seq))).all()
    assert actions.count("opening.window_closed") == 1
    assert {"opening.started", "opening.signed_in", "opening.handed_in", "opening.bids_opened",
            "opening.max_price_announced", "opening.objection_raised", "opening.objection_answered",
            "opening.finished"} <= set(actions)
    fail = await session.scalar(select(AuditEntry).where(AuditEntry.subject == f"project:{tender.code}",
                                                         AuditEntry.action == "tender.fail"))
    assert "min_valid_bids" in fail.data["facts"]["reason"]
    # The record says, per bid, what happened when the opener ran.
    opened_entries = (await session.scalars(select(AuditEntry).where(
        AuditEntry.subject == f"project:{tender.code}", AuditEntry.action == "opening.bids_opened"))).all()
    outcomes = {item["bidder"]: item for entry in opened_entries for item in entry.data["bids"]}
    assert (outcomes[wrong]["state"], outcomes[wrong]["reason"], outcomes[wrong]["cause"]) == \
        ("not_decrypted", "content_key", "bidder")
    assert (outcomes[good]["state"], outcomes[good]["price_fen"]) == ("decrypted", 99_500_000)
    assert absent not in outcomes


async def test_enough_valid_bids_move_the_tender_to_evaluation(demo, session, keys):
    tender, bidders = await tender_with_bids(session, keys, [100_000_000, 100_500_000, 101_000_000])
    await bids.deadline_passes(session, tender.code)
    await start_opening(session, keys, actor="admin", project_code=tender.code)
    for code, signing_key in bidders:  # the hand-in signs the bidder in; no opener has run yet
        await hand_in_bidder_half(session, keys, actor=code, project_code=tender.code, bidder_credit_code=code,
                                  k_b_hex=await k_b_of(session, tender, code, signing_key))
    with pytest.raises(RuleViolation):  # the window is still open
        await finish_opening(session, actor="admin", project_code=tender.code, keys=keys)
    await window_passes(session, tender)
    # Hand-ins inside the window never turn into "not decrypted" for want of the worker:
    # without the keys the window is not closed, with them the bids are opened first.
    with pytest.raises(Conflict) as waiting:
        await close_window(session, actor="admin", project_code=tender.code)
    assert waiting.value.code == "hand_ins_pending"
    result = await finish_opening(session, actor="admin", project_code=tender.code, keys=keys)
    assert (result["state"], result["valid_bids"], result["reason"]) == ("evaluating", 3, None)
    record = await opening_record(session, tender.code)
    assert all(entry["signed_in_at"] and entry["handed_in_at"] for entry in record["entries"])
    assert sorted(entry["price_fen"] for entry in record["entries"]) == [100_000_000, 100_500_000, 101_000_000]


async def test_a_hand_in_after_the_window_is_refused_and_other_causes_count_as_withdrawn(demo, session, keys):
    tender, [(late, late_key), (other, _)] = await tender_with_bids(session, keys, [100_000_000, 100_000_000])
    await start_opening(session, keys, actor="admin", project_code=tender.code)
    await sign_in(session, actor=late, project_code=tender.code, bidder_credit_code=late)
    entry = await record_other_failure(session, actor="admin", project_code=tender.code, bidder_credit_code=other,
                                       reason="平台解密服务故障")
    assert (entry.state, entry.cause) == (NOT_DECRYPTED, "other")
    await window_passes(session, tender)
    with pytest.raises(RuleViolation, match="解密时限已于.*结束") as refused:
        await hand_in_bidder_half(session, keys, actor=late, project_code=tender.code, bidder_credit_code=late,
                                  k_b_hex=await k_b_of(session, tender, late, late_key))
    assert refused.value.code == "after_decryption_window"
    record = await opening_record(session, tender.code)
    outcomes = {entry["bidder_credit_code"]: entry["outcome"] for entry in record["entries"]}
    assert outcomes == {late: None, other: "withdrawn"}  # the late one is still pending until the window closes
    await close_window(session, actor="admin", project_code=tender.code)
    record = await opening_record(session, tender.code)
    assert {entry["bidder_credit_code"]: entry["outcome"] for entry in record["entries"]} == \
        {late: "revoked", other: "withdrawn"}


async def _no_key_half_anywhere(session: AsyncSession, secrets: list[bytes]) -> None:
    await session.flush()
    for table in (*OPENING_TABLES, "audit_log"):
        columns = (await session.execute(text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = :t"), {"t": table})).scalars().all()
        rows = (await session.execute(text(f"SELECT * FROM {table}"))).all()
        assert rows, table
        for row in rows:
            for column, value in zip(columns, row, strict=False):
                blob = bytes(value) if isinstance(value, (bytes, memoryview)) else str(value).encode()
                for secret in secrets:
                    assert secret not in blob and secret.hex().encode() not in blob.lower(), (table, column)


async def test_no_key_half_ever_appears_in_any_opening_table(demo, session, keys):
    tender, bidders = await tender_with_bids(session, keys, [100_000_000, 100_000_000])
    await start_opening(session, keys, actor="admin", project_code=tender.code)
    await raise_objection(session, actor="x", project_code=tender.code, text="异议")
    from bidding.bids.opening_keys import open_opening_key

    private = await open_opening_key(session, keys, tender.code)
    halves = []
    for code, _ in bidders:
        bid = await session.scalar(select(Bid).where(Bid.project_id == tender.id, Bid.bidder_credit_code == code))
        halves.append(sealed_bid.open_center_half(bid.envelope, private))
    await _no_key_half_anywhere(session, halves)
    # Yet the sealed half is there, and opens to K_c under the KEK only.
    sealed_halves = (await session.scalars(select(OpeningEntry.sealed_center_half).join(
        OpeningSession, OpeningSession.id == OpeningEntry.session_id).where(OpeningSession.project_id == tender.id))).all()
    assert sorted(keys.unseal(value) for value in sealed_halves) == sorted(halves)

    # K_b handed in: kept only sealed under the KEK while it waits for the opener, then cleared.
    bidder_halves = [bytes.fromhex(await k_b_of(session, tender, code, signing_key)) for code, signing_key in bidders]
    for (code, _), k_b in zip(bidders, bidder_halves, strict=True):
        await hand_in_bidder_half(session, keys, actor=code, project_code=tender.code, bidder_credit_code=code,
                                  k_b_hex=k_b.hex())
    await _no_key_half_anywhere(session, halves + bidder_halves)
    waiting = (await session.scalars(select(OpeningEntry.sealed_bidder_half).join(
        OpeningSession, OpeningSession.id == OpeningEntry.session_id).where(OpeningSession.project_id == tender.id))).all()
    assert sorted(keys.unseal(value) for value in waiting) == sorted(bidder_halves)
    assert await open_handed_in_bids(session, keys, tender.code) == 2
    contents = [sealed_bid.xor(k_c, k_b) for k_c, k_b in zip(halves, bidder_halves, strict=True)]
    await _no_key_half_anywhere(session, halves + bidder_halves + contents)
    left = (await session.execute(select(OpeningEntry.sealed_center_half, OpeningEntry.sealed_bidder_half).join(
        OpeningSession, OpeningSession.id == OpeningEntry.session_id).where(OpeningSession.project_id == tender.id))).all()
    assert left == [(None, None), (None, None)]


async def test_two_openers_never_open_one_entry(demo, engine, keys):
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as session:
        tender, bidders = await tender_with_bids(session, keys, [100_000_000, 100_500_000, 101_000_000])
        await start_opening(session, keys, actor="admin", project_code=tender.code)
        for code, signing_key in bidders:
            await hand_in_bidder_half(session, keys, actor=code, project_code=tender.code, bidder_credit_code=code,
                                      k_b_hex=await k_b_of(session, tender, code, signing_key))
    async def second_opener() -> int:
        async with transaction(sessions) as second:
            return await open_handed_in_bids(second, keys, tender.code)

    async with sessions() as first:
        assert await open_handed_in_bids(first, keys, tender.code, limit=2) == 2  # not committed yet: rows locked
        second = asyncio.create_task(second_opener())  # skips the two locked entries, takes the third
        await asyncio.sleep(0.5)  # (its audit entry then waits for the first's commit: the chain is one line)
        await first.commit()
    assert await second == 1
    async with transaction(sessions) as session:
        assert await open_handed_in_bids(session, keys, tender.code) == 0
        opened = (await session.scalars(select(AuditEntry).where(
            AuditEntry.subject == f"project:{tender.code}", AuditEntry.action == "opening.bids_opened"))).all()
        listed = sorted(item["bidder"] for entry in opened for item in entry.data["bids"])
        assert listed == sorted(code for code, _ in bidders)  # each bid opened once
        states = (await session.scalars(select(OpeningEntry.state).join(
            OpeningSession, OpeningSession.id == OpeningEntry.session_id)
            .where(OpeningSession.project_id == tender.id))).all()
        assert states == [DECRYPTED] * 3


async def test_the_app_worker_opens_the_hand_ins_of_every_opening(demo, session, keys):
    first, [(a, a_key)] = await tender_with_bids(session, keys, [100_000_000])
    second, [(b, b_key), (c, _)] = await tender_with_bids(session, keys, [100_500_000, 99_000_000])
    for tender in (first, second):
        await start_opening(session, keys, actor="admin", project_code=tender.code)
    for tender, code, signing_key in ((first, a, a_key), (second, b, b_key)):
        await hand_in_bidder_half(session, keys, actor=code, project_code=tender.code, bidder_credit_code=code,
                                  k_b_hex=await k_b_of(session, tender, code, signing_key))
    assert await open_all_handed_in_bids(session, keys) >= 2
    states = {entry.bidder_credit_code: (entry.state, entry.price_fen) for entry in (await session.scalars(
        select(OpeningEntry).where(OpeningEntry.bidder_credit_code.in_([a, b, c])))).all()}
    assert states == {a: (DECRYPTED, 100_000_000), b: (DECRYPTED, 100_500_000), c: (PENDING, None)}


# ----------------------------------------------------------------------------- the API


@pytest.fixture
async def client(demo, settings: Settings, database_url: str) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


async def test_the_opening_over_the_api_with_each_role(client, settings, engine):
    from trading.keys import load_center_keys

    center = load_center_keys(settings)
    async with transaction(make_sessionmaker(engine)) as session:
        tender = await tender_project(session, center, "bidding")
        code, signing_key = await bids.bidder(session, tender.code, bids.LUJIAN)  # demo bidder1
        _, ciphertext, envelope = await bids.sealed(session, tender.code, code, signing_key, price_fen=98_000_000)
        await bids.submit(session, center, tender.code, code, envelope, ciphertext)
        await bids.deadline_passes(session, tender.code)
        k_b = await k_b_of(session, tender, code, signing_key)
    path = f"/api/projects/{tender.code}/opening"
    admin, bidder1, bidder2 = [await bearer(client, name) for name in ("admin", "bidder1", "bidder2")]
    agency, supervisor = await bearer(client, "agency"), await bearer(client, "supervisor")

    assert (await client.post(path, headers=bidder1)).status_code == 403
    started = await client.post(path, headers=admin)
    assert started.status_code == 201, started.text
    assert (await client.get(path)).status_code == 401  # public only after the window
    assert (await client.get(path, headers=bidder1)).status_code == 403
    watched = await client.get(path, headers=supervisor)
    assert watched.status_code == 200 and watched.json()["entries"][0]["state"] == "pending"

    assert (await client.post(f"{path}/sign-in", headers=bidder2)).status_code == 404  # no bid of its own
    assert (await client.post(f"{path}/sign-in", headers=bidder1)).status_code == 201
    assert (await client.post(f"{path}/hand-in", json={"k_b": k_b}, headers=supervisor)).status_code == 403
    handed = await client.post(f"{path}/hand-in", json={"k_b": k_b}, headers=bidder1)
    assert handed.status_code == 201, handed.text
    assert (handed.json()["state"], handed.json()["state_name"]) == ("pending", "已提交密钥，正在解密")
    assert "price_fen" not in handed.json()
    # The app's worker opens it within about a second; the supervisor watches it in the record.
    async with transaction(make_sessionmaker(engine)) as session:
        await open_handed_in_bids(session, center, tender.code)
    watched = (await client.get(path, headers=supervisor)).json()["entries"][0]
    assert (watched["state"], watched["price_fen"]) == ("decrypted", 98_000_000)
    # The bidder follows its own entry during the window; another bidder has none to see.
    mine = await client.get(f"{path}/mine", headers=bidder1)
    assert mine.status_code == 200 and (mine.json()["entry"]["state"], mine.json()["entry"]["price_fen"]) == (
        "decrypted", 98_000_000)
    assert (await client.get(f"{path}/mine", headers=bidder2)).status_code == 404
    assert (await client.get(f"{path}/mine", headers=supervisor)).status_code == 403
    assert (await client.post(f"{path}/max-price", json={"max_price_fen": 1}, headers=bidder1)).status_code == 403
    assert (await client.post(f"{path}/max-price", json={"max_price_fen": 120_000_000},
                              headers=agency)).status_code == 201
    objection = await client.post(f"{path}/objections", json={"text": "请当场核对最高投标限价"}, headers=bidder1)
    assert objection.status_code == 201, objection.text
    answer_path = f"{path}/objections/{objection.json()['id']}/answer"
    assert (await client.post(answer_path, json={"answer": "已核对"}, headers=bidder1)).status_code == 403
    assert (await client.post(answer_path, json={"answer": "已核对，无误"}, headers=agency)).status_code == 201

    async with transaction(make_sessionmaker(engine)) as session:
        await window_passes(session, tender)
    public = await client.get(path)
    assert public.status_code == 200
    assert public.json()["entries"][0]["price_fen"] == 98_000_000
    assert public.json()["objections"][0]["answer"] == "已核对，无误"
    assert (await client.post(f"{path}/finish", headers=agency)).status_code == 403
    finished = await client.post(f"{path}/finish", headers=admin)
    assert finished.status_code == 201 and finished.json()["state"] == "failed", finished.text
    assert "min_valid_bids" in finished.json()["reason"]


async def test_a_suspended_opening_pauses_the_window_and_gives_the_time_left_back_on_resume(demo, session, keys):
    tender, [(code, signing_key)] = await tender_with_bids(session, keys, [100_000_000])
    opening = await start_opening(session, keys, actor="admin", project_code=tender.code)
    # Ten minutes of the window are left when a complaint suspends the opening.
    await session.execute(update(OpeningSession).where(OpeningSession.id == opening.id).values(
        window_ends_at=func.clock_timestamp() + timedelta(minutes=10)))
    await apply_transition(session, actor="supervisor", project_code=tender.code, action="suspend",
                           facts={"reason": "开标现场异议，暂停处理"})
    with pytest.raises(Conflict, match="已暂停") as refused:
        await hand_in_bidder_half(session, keys, actor=code, project_code=tender.code, bidder_credit_code=code,
                                  k_b_hex=await k_b_of(session, tender, code, signing_key))
    assert refused.value.code == "state_conflict"
    with pytest.raises(Conflict, match="已暂停"):
        await close_window(session, actor="admin", project_code=tender.code)
    # An hour passes while suspended: the window would be long over without the pause.
    await session.execute(update(Project).where(Project.id == tender.id).values(
        suspended_at=Project.suspended_at - timedelta(hours=1)))
    await session.execute(update(OpeningSession).where(OpeningSession.id == opening.id).values(
        window_ends_at=OpeningSession.window_ends_at - timedelta(hours=1)))

    resumed = await apply_transition(session, actor="supervisor", project_code=tender.code, action="resume",
                                     facts={"reason": "异议已答复"})
    await session.refresh(opening)
    now = await session.scalar(select(func.clock_timestamp()))
    assert resumed.state == "opening"
    assert timedelta(minutes=9) < opening.window_ends_at - now <= timedelta(minutes=10)
    assert resumed.next_due_at == opening.window_ends_at  # the chronograph closes the window then
    entry = await hand_in_and_open(session, keys, tender.code, code, await k_b_of(session, tender, code, signing_key))
    await session.refresh(entry)
    assert entry.state == "decrypted"
