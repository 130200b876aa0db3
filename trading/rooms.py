"""Rooms of the center (统一设施配备): opening rooms (开标室) and evaluation rooms (评标室),
booked centrally for a project's opening or evaluation.

A booking holds its room for a half-open time range ``[starts_at, ends_at)``, so a
booking ending at 11:00 and the next starting at 11:00 do not clash. Live (not cancelled)
bookings of one room can never overlap: an exclusion constraint in the database
guarantees it, whatever runs concurrently. The check before the insert only finds the
clashing booking to name it in the refusal; when two transactions race past that check,
the constraint refuses the later one and its clash is named all the same.

Times are ``timestamptz`` (stored in UTC) and shown in the center's zone (Asia/Shanghai).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, Integer, String, Text, func, select
from sqlalchemy.dialects.postgresql import TSTZRANGE, ExcludeConstraint, Range
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from trading.audit import record_event
from trading.codes import ROOM_CODE
from trading.columns import created_at_column, timestamp_column
from trading.database import database_now
from trading.errors import Conflict, InvalidInput, NotFound
from trading.timefmt import CENTER_ZONE, local_time

OPENING, EVALUATION = "opening", "evaluation"
ROOM_KIND_NAMES = {OPENING: "开标室", EVALUATION: "评标室"}
NO_OVERLAP = "room_bookings_no_overlap"


class Room(SQLModel, table=True):
    __tablename__ = "rooms"
    __table_args__ = (
        CheckConstraint("kind IN ('opening', 'evaluation')", name="rooms_kind_known"),
        CheckConstraint("capacity > 0", name="rooms_capacity_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(20), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(100), nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False, index=True))
    capacity: int = Field(sa_column=Column(Integer, nullable=False))
    location: str = Field(sa_column=Column(String(200), nullable=False))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    created_at: datetime = Field(sa_column=created_at_column())

    @property
    def kind_name(self) -> str:
        return ROOM_KIND_NAMES.get(self.kind, self.kind)


class RoomBooking(SQLModel, table=True):
    """A room held for ``during`` (half-open); overlapping live bookings of one room are impossible."""

    __tablename__ = "room_bookings"
    __table_args__ = (
        ExcludeConstraint(("room_id", "="), ("during", "&&"), where="cancelled_at IS NULL",
                          name=NO_OVERLAP, using="gist"),
        CheckConstraint("NOT isempty(during) AND lower_inc(during) AND NOT upper_inc(during) "
                        "AND NOT lower_inf(during) AND NOT upper_inf(during)", name="room_bookings_during_bounded"),
        CheckConstraint("(cancelled_at IS NULL) = (cancel_reason IS NULL)", name="room_bookings_cancel_has_reason"),
    )

    id: int | None = Field(default=None, primary_key=True)
    room_id: int = Field(sa_column=Column(Integer, ForeignKey("rooms.id"), nullable=False, index=True))
    purpose: str = Field(sa_column=Column(String(200), nullable=False))
    project_code: str = Field(sa_column=Column(String(40), nullable=False, index=True))
    during: Any = Field(sa_column=Column(TSTZRANGE, nullable=False))
    booked_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(sa_column=created_at_column())
    cancelled_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    cancelled_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    cancel_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))

    @property
    def starts_at(self) -> datetime:
        return self.during.lower

    @property
    def ends_at(self) -> datetime:
        return self.during.upper


@dataclass(frozen=True)
class BookingWithRoom:
    booking: RoomBooking
    room: Room


# --- helpers ---------------------------------------------------------------------------------

def _utc(moment: datetime, field: str) -> datetime:
    if not isinstance(moment, datetime):
        raise InvalidInput(f"{field}不是有效的时间", code="invalid_time", field=field)
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput(f"{field}须带时区", code="naive_time", field=field)
    return moment.astimezone(timezone.utc)


def _window(starts_at: datetime, ends_at: datetime) -> tuple[datetime, datetime]:
    start, end = _utc(starts_at, "开始时间"), _utc(ends_at, "结束时间")
    if end <= start:
        raise InvalidInput("结束时间须晚于开始时间",
                           code="invalid_time_range", starts_at=start.isoformat(), ends_at=end.isoformat())
    return start, end


def _range(start: datetime, end: datetime) -> Range:
    return Range(start, end, bounds="[)")


def describe_period(start: datetime, end: datetime) -> str:
    """``2026-12-01 09:00至11:30`` in the center's zone (the end's date only when it differs)."""
    same_day = start.astimezone(CENTER_ZONE).date() == end.astimezone(CENTER_ZONE).date()
    return f"{local_time(start)}至{local_time(end, '%H:%M' if same_day else '%Y-%m-%d %H:%M')}"


def _clash_message(room: Room, clash: RoomBooking) -> str:
    return (f"{room.name}（{room.code}）在该时段已被预约：{describe_period(clash.starts_at, clash.ends_at)}，"
            f"项目 {clash.project_code}（{clash.purpose}），不能重复预约")


def _clash_error(room: Room, clash: RoomBooking) -> Conflict:
    return Conflict(_clash_message(room, clash), room=room.code, booking=clash.id, project_code=clash.project_code,
                    starts_at=clash.starts_at.isoformat(), ends_at=clash.ends_at.isoformat())


def _live_overlapping(room_id: int, start: datetime, end: datetime):
    return select(RoomBooking).where(RoomBooking.room_id == room_id, RoomBooking.cancelled_at.is_(None),
                                     RoomBooking.during.op("&&")(_range(start, end))).order_by(RoomBooking.id)


def booking_view(booking: RoomBooking, room: Room) -> dict[str, Any]:
    """A booking as the API shows it: UTC instants and the center's local times."""
    return {
        "id": booking.id, "room": room.code, "room_name": room.name, "kind": room.kind, "kind_name": room.kind_name,
        "location": room.location, "purpose": booking.purpose, "project_code": booking.project_code,
        "starts_at": booking.starts_at.isoformat(), "ends_at": booking.ends_at.isoformat(),
        "period": describe_period(booking.starts_at, booking.ends_at), "booked_by": booking.booked_by,
        "cancelled_at": booking.cancelled_at.isoformat() if booking.cancelled_at else None,
        "cancel_reason": booking.cancel_reason,
    }


def room_view(room: Room) -> dict[str, Any]:
    return {"code": room.code, "name": room.name, "kind": room.kind, "kind_name": room.kind_name,
            "capacity": room.capacity, "location": room.location, "active": room.active}


# --- rooms -------------------------------------------------------------------------------------

async def room_by_code(session: AsyncSession, code: str) -> Room:
    room = await session.scalar(select(Room).where(Room.code == code))
    if room is None:
        raise NotFound(f"场地 {code} 不存在", room=code)
    return room


async def list_rooms(session: AsyncSession, *, kind: str | None = None, active_only: bool = True) -> list[Room]:
    query = select(Room).order_by(Room.kind.desc(), Room.code)  # opening rooms first
    if kind is not None:
        query = query.where(Room.kind == kind)
    if active_only:
        query = query.where(Room.active.is_(True))
    return list((await session.scalars(query)).all())


async def add_room(session: AsyncSession, *, actor: str, code: str, name: str, kind: str, capacity: int,
                   location: str) -> Room:
    code, name, location = ROOM_CODE.check(code.strip()), name.strip(), location.strip()
    if kind not in ROOM_KIND_NAMES:
        raise InvalidInput(f"未知的场地类型 {kind!r}（应为 opening 开标室 或 evaluation 评标室）", code="unknown_room_kind", field="kind")
    if not name or not location:
        raise InvalidInput("场地名称和位置不能为空", code="room_name_required", field="name" if not name else "location")
    if capacity <= 0:
        raise InvalidInput("容纳人数须大于零", code="invalid_room_capacity", field="capacity")
    if await session.scalar(select(Room.id).where(Room.code == code)) is not None:
        raise Conflict(f"场地编号 {code} 已存在", code="room_code_taken", room=code)
    room = Room(code=code, name=name, kind=kind, capacity=capacity, location=location, active=True)
    session.add(room)
    await session.flush()
    await record_event(session, actor=actor, action="room.added", subject=f"room:{code}",
                       data={"name": name, "kind": kind, "capacity": capacity, "location": location})
    return room


async def set_room_active(session: AsyncSession, *, actor: str, code: str, active: bool, reason: str) -> Room:
    """Take a room out of service (its live bookings stay) or back into service."""
    if not reason.strip():
        raise InvalidInput("请填写原因", code="reason_required", field="reason")
    room = await room_by_code(session, code)
    room.active = active
    await session.flush()
    await record_event(session, actor=actor, action="room.activated" if active else "room.deactivated",
                       subject=f"room:{code}", data={"reason": reason.strip()})
    return room


# --- bookings ----------------------------------------------------------------------------------

async def book_room(session: AsyncSession, *, actor: str, room_code: str, purpose: str, project_code: str,
                    starts_at: datetime, ends_at: datetime) -> RoomBooking:
    """Hold ``room_code`` for ``[starts_at, ends_at)``; a clash with a live booking is a Conflict
    naming that booking's time and project."""
    start, end = _window(starts_at, ends_at)
    purpose, project_code = purpose.strip(), project_code.strip()
    if not purpose:
        raise InvalidInput("请填写预约用途", code="purpose_required", field="purpose")
    if not project_code:
        raise InvalidInput("请填写项目编号", code="project_code_required", field="project_code")
    room = await room_by_code(session, room_code)
    if not room.active:
        raise Conflict(f"{room.name}（{room.code}）已停用，不能预约", code="room_disabled", room=room.code)
    if start < await database_now(session):
        raise InvalidInput("不能预约已经开始或过去的时段", code="booking_in_past", starts_at=start.isoformat())
    # Only for the message: the exclusion constraint below is what makes a clash impossible.
    clash = (await session.scalars(_live_overlapping(room.id, start, end).limit(1))).first()
    if clash is not None:
        raise _clash_error(room, clash)
    booking = RoomBooking(room_id=room.id, purpose=purpose, project_code=project_code, during=_range(start, end),
                          booked_by=actor)
    try:
        async with session.begin_nested():
            session.add(booking)
            await session.flush()
    except IntegrityError as error:
        if NO_OVERLAP not in str(error.orig):
            raise
        # Another transaction booked an overlapping time after the check above and committed.
        clash = (await session.scalars(_live_overlapping(room.id, start, end).limit(1))).first()
        if clash is None:  # cancelled again meanwhile: still refused, the caller may retry
            raise Conflict(f"{room.name}（{room.code}）在该时段刚被其他预约占用，请重试", code="room_taken", room=room.code) from error
        raise _clash_error(room, clash) from error
    await record_event(session, actor=actor, action="room.booked", subject=f"room:{room.code}",
                       data={"booking": booking.id, "project_code": project_code, "purpose": purpose,
                             "starts_at": start.isoformat(), "ends_at": end.isoformat()})
    return booking


async def get_booking(session: AsyncSession, booking_id: int) -> BookingWithRoom:
    row = (await session.execute(select(RoomBooking, Room).join(Room, Room.id == RoomBooking.room_id)
                                 .where(RoomBooking.id == booking_id))).first()
    if row is None:
        raise NotFound(f"场地预约 {booking_id} 不存在", booking=booking_id)
    return BookingWithRoom(*row)


async def bookings_of_project(session: AsyncSession, project_code: str) -> list[BookingWithRoom]:
    """The project's live bookings with their rooms, in time order."""
    rows = (await session.execute(select(RoomBooking, Room).join(Room, Room.id == RoomBooking.room_id)
                                  .where(RoomBooking.project_code == project_code, RoomBooking.cancelled_at.is_(None))
                                  .order_by(RoomBooking.during))).all()
    return [BookingWithRoom(*row) for row in rows]


async def cancel_booking(session: AsyncSession, *, actor: str, booking_id: int, reason: str) -> RoomBooking:
    """Cancel a live booking, with a reason; its time becomes free at once."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("取消预约须填写原因", code="reason_required", field="reason")
    booking = await session.scalar(select(RoomBooking).where(RoomBooking.id == booking_id).with_for_update())
    if booking is None:
        raise NotFound(f"场地预约 {booking_id} 不存在", booking=booking_id)
    if booking.cancelled_at is not None:
        raise Conflict(f"场地预约 {booking_id} 已于 {local_time(booking.cancelled_at)} 取消",
                       code="booking_cancelled", booking=booking_id)
    room = await session.get(Room, booking.room_id)
    booking.cancelled_at, booking.cancelled_by, booking.cancel_reason = await database_now(session), actor, reason
    await session.flush()
    await record_event(session, actor=actor, action="room.booking_cancelled", subject=f"room:{room.code}",
                       data={"booking": booking.id, "project_code": booking.project_code, "reason": reason,
                             "starts_at": booking.starts_at.isoformat(), "ends_at": booking.ends_at.isoformat()})
    return booking


async def free_rooms(session: AsyncSession, kind: str, starts_at: datetime, ends_at: datetime) -> list[Room]:
    """Active rooms of ``kind`` with no live booking overlapping ``[starts_at, ends_at)``."""
    if kind not in ROOM_KIND_NAMES:
        raise InvalidInput(f"未知的场地类型 {kind!r}（应为 opening 开标室 或 evaluation 评标室）", code="unknown_room_kind", field="kind")
    start, end = _window(starts_at, ends_at)
    busy = select(RoomBooking.id).where(RoomBooking.room_id == Room.id, RoomBooking.cancelled_at.is_(None),
                                        RoomBooking.during.op("&&")(_range(start, end))).exists()
    query = select(Room).where(Room.kind == kind, Room.active.is_(True), ~busy).order_by(Room.code)
    return list((await session.scalars(query)).all())


def local_day(day: date) -> tuple[datetime, datetime]:
    """The center's calendar day as a UTC half-open range."""
    start = datetime.combine(day, time.min, tzinfo=CENTER_ZONE)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=CENTER_ZONE)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


async def bookings_of_room(session: AsyncSession, room_code: str, day: date, *,
                           include_cancelled: bool = False) -> list[RoomBooking]:
    """The bookings of a room touching the center's calendar ``day``, in time order."""
    room = await room_by_code(session, room_code)
    start, end = local_day(day)
    query = (select(RoomBooking).where(RoomBooking.room_id == room.id,
                                       RoomBooking.during.op("&&")(_range(start, end)))
             .order_by(func.lower(RoomBooking.during), RoomBooking.id))
    if not include_cancelled:
        query = query.where(RoomBooking.cancelled_at.is_(None))
    return list((await session.scalars(query)).all())
