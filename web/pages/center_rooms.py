"""The center's rooms page (/center/rooms): a day's bookings of every room, booking and
cancelling. Who may do what follows the API (web/api/rooms.py): the center's administrators
book, supervisors read.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.tender.states import local_date
from trading.accounts import User
from trading.audit import actor_of
from trading.database import database_now
from trading.errors import DomainError
from trading.roles import UserRole
from trading.rooms import ROOM_KIND_NAMES, book_room, bookings_of_room, cancel_booking, describe_period, list_rooms
from trading.timefmt import CENTER_ZONE
from web.core.auth import requires_role
from web.core.forms import FormState, form_values, local_moment
from web.core.parameters import Day, RowId

pool_readers = requires_role(UserRole.ADMIN, UserRole.SUPERVISOR)
admins_only = requires_role(UserRole.ADMIN)


def _booking_field(exc: DomainError) -> str | None:
    details = exc.details
    if "booking" in details:  # a clash with another booking: the time is what is wrong
        return "starts_at"
    if "ends_at" in details:
        return "ends_at"
    if "starts_at" in details:
        return "starts_at"
    return "room" if "room" in details else None


class CenterRoomController(Controller):
    path = "/center"
    include_in_schema = False

    async def _rooms_page(self, session: AsyncSession, day: date, form: FormState, status_code: int = 200,
                          cancel: FormState | None = None) -> Template:
        rooms = []
        for room in await list_rooms(session):
            bookings = await bookings_of_room(session, room.code, day)
            rooms.append({"room": room, "bookings": [
                {"id": b.id, "project_code": b.project_code, "purpose": b.purpose, "booked_by": b.booked_by,
                 "period": describe_period(b.starts_at, b.ends_at)} for b in bookings]})
        return Template("center/rooms.html", status_code=status_code, context={
            "day": day, "rooms": rooms, "form": form, "cancel": cancel or FormState.of({"reason": ""}),
            "kind_names": ROOM_KIND_NAMES,
            "room_choices": [(r["room"].code, f"{r['room'].name}（{r['room'].code}，{r['room'].kind_name}）")
                             for r in rooms]})

    @get("/rooms", name="center.rooms", guards=[pool_readers])
    async def rooms(self, session: AsyncSession,
                    day: Annotated[Day | None, Parameter(query="day")] = None) -> Template:
        """The rooms and their bookings on one day of the center's calendar; the booking form."""
        day = day or local_date(await database_now(session))
        empty = {"room": "", "project_code": "", "purpose": "开标", "starts_at": "", "ends_at": ""}
        return await self._rooms_page(session, day, FormState.of(empty))

    @post("/rooms/bookings", name="center.book_room", guards=[admins_only])
    async def book(self, request: Request, user: User, session: AsyncSession) -> Template | Redirect:
        """Book a room for a tender; an overlapping booking is refused beside the time."""
        form = FormState.of(await form_values(request))
        form.required(("room", "场地"), ("project_code", "项目编号"), ("purpose", "用途"),
                      ("starts_at", "开始时间"), ("ends_at", "结束时间"))
        starts = form.read(local_moment, "starts_at", "开始时间")
        ends = form.read(local_moment, "ends_at", "结束时间")
        await form.attempt(session, lambda: book_room(
            session, actor=actor_of(user), room_code=form.value("room"), purpose=form.value("purpose"),
            project_code=form.value("project_code"), starts_at=starts, ends_at=ends),
            _booking_field)
        day = starts.astimezone(CENTER_ZONE).date() if starts else local_date(await database_now(session))
        if not form.ok:
            return await self._rooms_page(session, day, form, HTTP_400_BAD_REQUEST)
        await session.commit()
        return Redirect(f"/center/rooms?day={day.isoformat()}")

    @post("/rooms/bookings/{booking_id:int}/cancel", name="center.cancel_booking", guards=[admins_only])
    async def cancel(self, booking_id: RowId, request: Request, user: User, session: AsyncSession
                     ) -> Template | Redirect:
        values = await form_values(request)
        form = FormState.of(values)
        try:
            day = date.fromisoformat(values.get("day", ""))
        except ValueError:  # the page's own hidden field; without it, today
            day = local_date(await database_now(session))
        form.required(("reason", "取消原因"))
        await form.attempt(session, lambda: cancel_booking(
            session, actor=actor_of(user), booking_id=booking_id, reason=form.value("reason")))
        if not form.ok:
            form.values["booking_id"] = booking_id
            empty = FormState.of({"room": "", "project_code": "", "purpose": "开标", "starts_at": "", "ends_at": ""})
            return await self._rooms_page(session, day, empty, HTTP_400_BAD_REQUEST, cancel=form)
        await session.commit()
        return Redirect(f"/center/rooms?day={day.isoformat()}")
