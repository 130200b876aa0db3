"""The center's rooms over the API (统一设施配备): the public list and free rooms, bookings
by the center and agencies, cancellations by the center."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import Parameter
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from trading.accounts import User
from trading.audit import actor_of
from trading.rooms import (
    book_room,
    booking_view,
    bookings_of_room,
    cancel_booking,
    free_rooms,
    get_booking,
    list_rooms,
    room_by_code,
    room_view,
)
from trading.roles import UserRole
from trading.timefmt import CENTER_ZONE
from web.core.auth import requires_role
from web.core.parameters import Day, Moment, RowId
from web.api.schemas.pools import BookingView, RoomView


def _aware(moment: datetime) -> datetime:
    """A time without an offset is read as the center's local time."""
    return moment.replace(tzinfo=CENTER_ZONE) if moment.tzinfo is None else moment


class BookingBody(BaseModel):
    project_code: str = Field(min_length=1, max_length=40)
    purpose: str = Field(min_length=1, max_length=200, description="e.g. 开标 or 评标")
    starts_at: datetime = Field(description="ISO 8601; without an offset it is Asia/Shanghai time")
    ends_at: datetime = Field(description="exclusive: a booking may start when another ends")


class CancelBody(BaseModel):
    reason: str = Field(max_length=500)


class RoomController(Controller):
    path = "/api/rooms"
    tags = ["rooms"]

    @get("/", summary="The center's active opening and evaluation rooms (public)")
    async def rooms(self, session: AsyncSession,
                    kind: Annotated[str | None, Parameter(query="kind", description="opening or evaluation")] = None,
                    ) -> list[RoomView]:
        return [room_view(room) for room in await list_rooms(session, kind=kind)]

    @get("/free", summary="Active rooms of a kind free for the whole of [starts_at, ends_at) (public)")
    async def free(self, session: AsyncSession, kind: Annotated[str, Parameter(query="kind")],
                   starts_at: Annotated[Moment, Parameter(query="starts_at")],
                   ends_at: Annotated[Moment, Parameter(query="ends_at")]) -> list[RoomView]:
        return [room_view(room) for room in await free_rooms(session, kind, _aware(starts_at), _aware(ends_at))]

    @get("/{code:str}/bookings", guards=[requires_role(UserRole.ADMIN, UserRole.AGENCY, UserRole.SUPERVISOR)],
         summary="A room's live bookings on one day of the center's calendar")
    async def bookings(self, code: str, session: AsyncSession,
                       day: Annotated[Day, Parameter(query="day")]) -> list[BookingView]:
        room = await room_by_code(session, code)
        return [booking_view(booking, room) for booking in await bookings_of_room(session, code, day)]

    @post("/{code:str}/bookings", guards=[requires_role(UserRole.ADMIN, UserRole.AGENCY)],
          summary="Book a room; 409 naming the clashing booking when the time is taken")
    async def book(self, code: str, data: BookingBody, user: User, session: AsyncSession) -> BookingView:
        booking = await book_room(session, actor=actor_of(user), room_code=code, purpose=data.purpose,
                                  project_code=data.project_code, starts_at=_aware(data.starts_at),
                                  ends_at=_aware(data.ends_at))
        await session.commit()
        found = await get_booking(session, booking.id)
        return booking_view(found.booking, found.room)

    @post("/bookings/{booking_id:int}/cancel", guards=[requires_role(UserRole.ADMIN)],
          summary="Cancel a booking with a reason; the time becomes free at once")
    async def cancel(self, booking_id: RowId, data: CancelBody, user: User, session: AsyncSession) -> BookingView:
        await cancel_booking(session, actor=actor_of(user), booking_id=booking_id, reason=data.reason)
        await session.commit()
        found = await get_booking(session, booking_id)
        return booking_view(found.booking, found.room)
