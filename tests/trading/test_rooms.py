"""The center's rooms (统一设施配备): overlapping bookings impossible (the exclusion
constraint), half-open ranges, cancellations, concurrent bookers, free rooms, the day's
bookings in the center's zone, and the API's role guards."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from cli.demo import load_demo_data
from tests.common.portal import bearer
from trading.audit import AuditEntry
from trading.database import make_sessionmaker, transaction
from trading.errors import Conflict, InvalidInput
from trading.rooms import (
    EVALUATION,
    OPENING,
    RoomBooking,
    add_room,
    book_room,
    bookings_of_room,
    cancel_booking,
    free_rooms,
    room_by_code,
)
from trading.timefmt import CENTER_ZONE
from web.app import create_app


async def local_morning(session_or_conn, days: int, hour: int = 9) -> datetime:
    """``hour`` o'clock in Jining, ``days`` days from the database's today."""
    now = await session_or_conn.scalar(select(func.now()))
    day = (now.astimezone(CENTER_ZONE) + timedelta(days=days)).date()
    return datetime.combine(day, time(hour), tzinfo=CENTER_ZONE)


async def new_room(session, code: str, kind: str = OPENING):
    return await add_room(session, actor="test", code=code, name=f"测试{code}", kind=kind, capacity=30,
                          location="济宁市公共资源交易中心")


async def book(session, code: str, start: datetime, hours: float = 2, project: str = "JN-2026-GC-0101",
               purpose: str = "开标"):
    return await book_room(session, actor="test", room_code=code, purpose=purpose, project_code=project,
                           starts_at=start, ends_at=start + timedelta(hours=hours))


# --- the services ----------------------------------------------------------------------------

async def test_an_overlapping_booking_is_refused_naming_the_clash(session):
    await new_room(session, "T-OVL")
    start = await local_morning(session, 10)
    first = await book(session, "T-OVL", start, hours=2, project="JN-2026-GC-0007")
    with pytest.raises(Conflict) as refused:
        await book(session, "T-OVL", start + timedelta(hours=1), project="JN-2026-GC-0008")
    day = start.strftime("%Y-%m-%d")
    assert refused.value.message == (f"测试T-OVL（T-OVL）在该时段已被预约：{day} 09:00至11:00，"
                                     "项目 JN-2026-GC-0007（开标），不能重复预约")
    assert refused.value.details["booking"] == first.id
    # Inside, around, and the same slot are all refused.
    for offset, hours in ((timedelta(minutes=30), 0.5), (timedelta(hours=-1), 4), (timedelta(0), 2)):
        with pytest.raises(Conflict, match="已被预约"):
            await book(session, "T-OVL", start + offset, hours=hours)
    # Stored in UTC, whatever zone it came in.
    assert first.starts_at.utcoffset() == timedelta(0) and first.starts_at == start


async def test_back_to_back_bookings_are_allowed(session):
    await new_room(session, "T-B2B")
    start = await local_morning(session, 11)
    await book(session, "T-B2B", start, hours=2)
    await book(session, "T-B2B", start + timedelta(hours=2), hours=2, project="JN-2026-GC-0102")
    await book(session, "T-B2B", start - timedelta(hours=1), hours=1, project="JN-2026-GC-0103")
    assert [(b.starts_at, b.project_code) for b in await bookings_of_room(session, "T-B2B", start.date())] == [
        (start - timedelta(hours=1), "JN-2026-GC-0103"), (start, "JN-2026-GC-0101"),
        (start + timedelta(hours=2), "JN-2026-GC-0102")]


async def test_the_same_time_in_another_room_is_fine(session):
    await new_room(session, "T-R1")
    await new_room(session, "T-R2")
    start = await local_morning(session, 12)
    await book(session, "T-R1", start)
    await book(session, "T-R2", start)


async def test_a_cancelled_booking_frees_the_slot_and_is_audited(session):
    room = await new_room(session, "T-CXL")
    start = await local_morning(session, 13)
    first = await book(session, "T-CXL", start)
    with pytest.raises(InvalidInput, match="原因"):
        await cancel_booking(session, actor="test", booking_id=first.id, reason="  ")
    await cancel_booking(session, actor="user:1:admin", booking_id=first.id, reason="项目延期开标")
    with pytest.raises(Conflict, match="已于"):
        await cancel_booking(session, actor="test", booking_id=first.id, reason="再次取消")
    second = await book(session, "T-CXL", start, project="JN-2026-GC-0200")
    assert [b.id for b in await bookings_of_room(session, "T-CXL", start.date())] == [second.id]
    assert {b.id for b in await bookings_of_room(session, "T-CXL", start.date(), include_cancelled=True)} == {
        first.id, second.id}
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.subject == f"room:{room.code}",
                                                          AuditEntry.action == "room.booking_cancelled"))
    assert entry.actor == "user:1:admin" and entry.data["reason"] == "项目延期开标"
    assert entry.data["booking"] == first.id


async def test_free_rooms_are_the_active_rooms_of_the_kind_without_an_overlapping_booking(session):
    for code in ("T-F1", "T-F2", "T-F3"):
        await new_room(session, code, EVALUATION)
    await new_room(session, "T-FO", OPENING)
    start = await local_morning(session, 14, hour=13)
    await book(session, "T-F1", start, hours=4, purpose="评标")
    await book(session, "T-F2", start + timedelta(hours=4), hours=2, purpose="评标")  # starts as the window ends

    def mine(rooms):
        return [room.code for room in rooms if room.code.startswith("T-F")]

    assert mine(await free_rooms(session, EVALUATION, start + timedelta(hours=1), start + timedelta(hours=4))) == [
        "T-F2", "T-F3"]
    assert mine(await free_rooms(session, EVALUATION, start + timedelta(hours=4), start + timedelta(hours=5))) == [
        "T-F1", "T-F3"]
    assert mine(await free_rooms(session, OPENING, start, start + timedelta(hours=1))) == ["T-FO"]
    with pytest.raises(InvalidInput, match="结束时间"):
        await free_rooms(session, EVALUATION, start, start)
    with pytest.raises(InvalidInput, match="场地类型"):
        await free_rooms(session, "meeting", start, start + timedelta(hours=1))


async def test_a_day_is_the_centers_calendar_day(session):
    await new_room(session, "T-DAY")
    start = await local_morning(session, 15, hour=7)  # 07:00 in Jining is 23:00 UTC the day before
    early = await book(session, "T-DAY", start, hours=1)
    await book(session, "T-DAY", start + timedelta(days=1), hours=1)
    assert [b.id for b in await bookings_of_room(session, "T-DAY", start.date())] == [early.id]
    assert await bookings_of_room(session, "T-DAY", start.date() - timedelta(days=1)) == []


async def test_bad_bookings_are_refused(session):
    await new_room(session, "T-BAD")
    start = await local_morning(session, 16)
    with pytest.raises(InvalidInput, match="结束时间须晚于开始时间"):
        await book(session, "T-BAD", start, hours=0)
    with pytest.raises(InvalidInput, match="时区"):
        await book(session, "T-BAD", start.replace(tzinfo=None))
    with pytest.raises(InvalidInput, match="过去"):
        await book(session, "T-BAD", await local_morning(session, -1))
    with pytest.raises(Conflict, match="已存在"):
        await new_room(session, "T-BAD")
    with pytest.raises(InvalidInput, match="场地类型"):
        await new_room(session, "T-BAD2", "meeting")


async def test_the_database_refuses_an_overlapping_live_booking(session):
    room = await new_room(session, "T-DB")
    start = await local_morning(session, 17)
    first = await book(session, "T-DB", start)
    with pytest.raises(IntegrityError, match="room_bookings_no_overlap"):
        async with session.begin_nested():
            session.add(RoomBooking(room_id=room.id, purpose="开标", project_code="X", booked_by="test",
                                    during=func.tstzrange(start + timedelta(hours=1), start + timedelta(hours=3))))
            await session.flush()
    # A cancelled booking does not count.
    await session.execute(text("UPDATE room_bookings SET cancelled_at = now(), cancel_reason = '测试' WHERE id = :id"),
                          {"id": first.id})
    async with session.begin_nested():
        session.add(RoomBooking(room_id=room.id, purpose="开标", project_code="X", booked_by="test",
                                during=func.tstzrange(start + timedelta(hours=1), start + timedelta(hours=3))))
        await session.flush()


# --- concurrency -----------------------------------------------------------------------------

async def test_two_concurrent_bookings_of_one_slot_exactly_one_succeeds(engine):
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as session:
        await new_room(session, "T-RACE")
        start = await local_morning(session, 40)

    async def attempt(project: str):
        try:
            async with transaction(sessions) as session:
                return await book(session, "T-RACE", start, hours=3, project=project)
        except Conflict as refused:
            return refused

    results = await asyncio.gather(*(attempt(f"JN-2026-GC-09{n:02d}") for n in range(2)))
    booked = [r for r in results if isinstance(r, RoomBooking)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(booked) == 1 and len(refused) == 1
    assert booked[0].project_code in refused[0].message
    async with transaction(sessions) as session:
        live = await bookings_of_room(session, "T-RACE", start.date())
    assert [b.id for b in live] == [booked[0].id]


async def test_a_booker_racing_past_the_check_is_stopped_by_the_constraint_and_told_the_clash(engine):
    # The first booking is inserted but not committed, so the second's check sees nothing;
    # its insert then waits on the exclusion constraint and fails once the first commits.
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as session:
        await new_room(session, "T-WAIT")
        start = await local_morning(session, 41)
    async with sessions() as first, sessions() as second, sessions() as watcher:
        await book(first, "T-WAIT", start, hours=2, project="JN-2026-GC-0777")
        racing = asyncio.create_task(book(second, "T-WAIT", start + timedelta(hours=1), project="JN-2026-GC-0778"))
        for _ in range(100):
            waiting = await watcher.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"))
            await watcher.rollback()
            if waiting:
                break
            await asyncio.sleep(0.05)
        assert waiting == 1 and not racing.done()
        await first.commit()
        with pytest.raises(Conflict, match="项目 JN-2026-GC-0777（开标）"):
            await racing
        await second.rollback()


# --- the invariant -----------------------------------------------------------------------------

ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("book"), st.integers(0, 1), st.integers(0, 10), st.integers(1, 4)),
        st.tuples(st.just("cancel"), st.integers(0, 20)),
    ),
    max_size=12,
)


@hypothesis_settings(max_examples=30, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
async def test_no_two_live_bookings_of_a_room_ever_overlap(session, actions):
    async with session.begin_nested() as example:
        rooms = [(await new_room(session, code)).id for code in ("T-P0", "T-P1")]
        base = await local_morning(session, 60, hour=8)
        model: list[tuple[int, int, int, int]] = []  # (booking id, room, first hour, end hour), live only
        made: list[int] = []
        for action in actions:
            if action[0] == "book":
                _, room, first_hour, hours = action
                clash = any(r == room and s < first_hour + hours and first_hour < e for _, r, s, e in model)
                try:
                    booking = await book(session, f"T-P{room}", base + timedelta(hours=first_hour), hours=hours)
                except Conflict:
                    assert clash
                else:
                    assert not clash
                    model.append((booking.id, room, first_hour, first_hour + hours))
                    made.append(booking.id)
            elif made:
                booking_id = made[action[1] % len(made)]
                live = any(b == booking_id for b, *_ in model)
                try:
                    await cancel_booking(session, actor="test", booking_id=booking_id, reason="测试取消")
                except Conflict:
                    assert not live
                else:
                    assert live
                    model = [entry for entry in model if entry[0] != booking_id]
        stored = (await session.scalars(select(RoomBooking).where(RoomBooking.room_id.in_(rooms),
                                                                  RoomBooking.cancelled_at.is_(None)))).all()
        assert sorted(b.id for b in stored) == sorted(b for b, *_ in model)
        for one in stored:
            for other in stored:
                if one.id < other.id and one.room_id == other.room_id:
                    assert one.ends_at <= other.starts_at or other.ends_at <= one.starts_at
        await example.rollback()


# --- the API -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
async def client(settings, database_url, engine) -> AsyncIterator[AsyncTestClient]:
    async with transaction(make_sessionmaker(engine)) as session:
        await load_demo_data(session, pools=False)
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as client:
        yield client


async def test_the_demo_rooms_are_listed_to_the_public(client):
    answer = await client.get("/api/rooms")
    assert answer.status_code == 200
    rooms = {room["code"]: room for room in answer.json()}
    assert {"KB01", "KB02", "PB01", "PB02", "PB03"} <= set(rooms)
    assert rooms["KB01"]["name"] == "第1开标室" and rooms["KB01"]["kind_name"] == "开标室"
    assert "济宁市公共资源交易中心" in rooms["PB03"]["location"]
    opening = (await client.get("/api/rooms", params={"kind": "opening"})).json()
    assert {"KB01", "KB02"} <= {room["code"] for room in opening}
    assert {room["kind"] for room in opening} == {"opening"}


async def test_booking_and_cancelling_through_the_api(client, engine):
    async with engine.connect() as conn:
        start = await local_morning(conn, 20)
    body = {"project_code": "JN-2026-GC-0007", "purpose": "开标", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat()}
    window = {"kind": "opening", "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat()}
    assert {room["code"] for room in (await client.get("/api/rooms/free", params=window)).json()} >= {"KB01"}

    # Role guards: nobody, a bidder and a supervisor may not book; the agency and the center may.
    assert (await client.post("/api/rooms/KB01/bookings", json=body)).status_code == 401
    for username in ("bidder1", "supervisor", "tenderer"):
        assert (await client.post("/api/rooms/KB01/bookings", json=body,
                                  headers=await bearer(client, username))).status_code == 403
    agency = await bearer(client, "agency")
    made = await client.post("/api/rooms/KB01/bookings", json=body, headers=agency)
    assert made.status_code == 201, made.text
    booking = made.json()
    assert booking["room_name"] == "第1开标室" and booking["period"].endswith("09:00至11:00")

    # A clash is a 409 naming the booking's time and project.
    admin = await bearer(client, "admin")
    later = {**body, "project_code": "JN-2026-GC-0008", "starts_at": (start + timedelta(hours=1)).isoformat(),
             "ends_at": (start + timedelta(hours=3)).isoformat()}
    clash = await client.post("/api/rooms/KB01/bookings", json=later, headers=admin)
    assert clash.status_code == 409
    assert "09:00至11:00" in clash.json()["error"]["message"] and "JN-2026-GC-0007" in clash.json()["error"]["message"]
    assert "KB01" not in {room["code"] for room in (await client.get("/api/rooms/free", params=window)).json()}
    day = await client.get("/api/rooms/KB01/bookings", params={"day": start.date().isoformat()}, headers=agency)
    assert [b["id"] for b in day.json()] == [booking["id"]]
    assert (await client.get("/api/rooms/KB01/bookings", params={"day": start.date().isoformat()})).status_code == 401

    # Only the center cancels, and only with a reason; the slot is free again at once.
    cancel = f"/api/rooms/bookings/{booking['id']}/cancel"
    assert (await client.post(cancel, json={"reason": "改期"}, headers=agency)).status_code == 403
    assert (await client.post(cancel, json={"reason": "改期"})).status_code == 401
    assert (await client.post(cancel, json={"reason": " "}, headers=admin)).status_code == 400
    cancelled = await client.post(cancel, json={"reason": "开标时间调整"}, headers=admin)
    assert cancelled.status_code == 201 and cancelled.json()["cancel_reason"] == "开标时间调整"
    assert (await client.post(cancel, json={"reason": "再次"}, headers=admin)).status_code == 409
    assert "KB01" in {room["code"] for room in (await client.get("/api/rooms/free", params=window)).json()}
    assert (await client.post("/api/rooms/KB01/bookings", json=later, headers=admin)).status_code == 201


async def test_api_times_without_an_offset_are_the_centers_local_time(client, engine):
    async with engine.connect() as conn:
        start = await local_morning(conn, 21, hour=14)
    naive = start.replace(tzinfo=None).isoformat()
    made = await client.post("/api/rooms/PB01/bookings", headers=await bearer(client, "admin"),
                             json={"project_code": "JN-2026-CG-0031", "purpose": "评标", "starts_at": naive,
                                   "ends_at": (start + timedelta(hours=3)).replace(tzinfo=None).isoformat()})
    assert made.status_code == 201, made.text
    assert datetime.fromisoformat(made.json()["starts_at"]) == start
    async with transaction(make_sessionmaker(engine)) as session:
        assert (await room_by_code(session, "PB01")).name == "第1评标室"


async def test_unknown_rooms_and_bad_queries(client):
    admin = await bearer(client, "admin")
    assert (await client.post("/api/rooms/NOPE/bookings", headers=admin, json={
        "project_code": "X", "purpose": "开标", "starts_at": "2030-01-01T09:00:00+08:00",
        "ends_at": "2030-01-01T10:00:00+08:00"})).status_code == 404
    assert (await client.get("/api/rooms/free", params={"kind": "meeting", "starts_at": "2030-01-01T09:00:00+08:00",
                                                        "ends_at": "2030-01-01T10:00:00+08:00"})).status_code == 400
    assert (await client.get("/api/rooms/free", params={"kind": "opening"})).status_code == 400
