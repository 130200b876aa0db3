"""Supervisors' pages (电子监察): the dashboard of today's live sessions with the deadline
watch's cards and the alerts, a live view per session (a draw, an opening, an evaluation),
witnessing a draw, and deciding complaints.

A live view renders the current state on the server; ``/static/live/live.js`` listens to
the session's server-sent events (``web.core.live``, fed by PostgreSQL LISTEN/NOTIFY) and
re-reads the state fragment on each event. Every act calls the same services as the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.award.complaints import ACCEPTED, DISMISS, FILED, UPHELD_OUTCOMES, accept_complaint, decide_complaint, reject_complaint
from bidding.tender.deadline_watch import YELLOW_MIN, YELLOW_SHARE, open_cards
from bidding.evaluation.rounds import LIVE_KINDS as EVALUATION_KINDS
from bidding.evaluation.views import evaluation_progress
from bidding.opening.proceedings import opening_record
from bidding.tender.states import local_date
from bidding.reading.supervision import live_sessions, waiting_complaints
from bidding.draws.project_draws import may_witness, witness_draw
from trading.accounts import User
from trading.audit import actor_of
from trading.draws import COMMITTED, WITNESS_TENDERING_PARTY, draw_bundle, get_draw
from trading.errors import DomainError
from trading.ledger import collusion_flags
from trading.roles import UserRole
from trading.rules.calendar import default_calendar, missing_year_card
from trading.sealed_draw import verify_bundle
from trading.timefmt import local_time
from web.core.auth import requires_role
from web.core.errors import status_of
from web.core.forms import FormState
from web.core.parameters import RowId
from web.core.state import AppContext

watchers = requires_role(UserRole.SUPERVISOR, UserRole.ADMIN)
supervisors_only = requires_role(UserRole.SUPERVISOR)

# The events each live view re-reads on (besides ``ready`` and ``resync``, which every view does).
DRAW_KINDS = ("draw.committed", "draw.witness_requested", "draw.witnessed", "draw.revealed", "draw.voided")
OPENING_KINDS = ("opening.started", "opening.signed_in", "opening.handed_in", "opening.bids_opened",
                 "opening.not_decrypted", "opening.window_closed", "opening.max_price_announced",
                 "opening.objection_raised", "opening.objection_answered", "opening.finished")
TENDER_KINDS = ("tender.start_evaluation", "tender.fail", "tender.publish_candidates", "tender.suspend",
                "tender.resume", "tender.reevaluate", "tender.terminate")
OUTCOME_CHOICES = [("reevaluate", "投诉成立，责令重新评审"), ("terminate", "投诉成立，终止招标、重新招标"),
                   (DISMISS, "投诉不成立，驳回投诉")]


def when(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A stored moment (datetime or ISO text) in the center's zone."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return local_time(value, fmt)


def _shown(**context: Any) -> dict[str, Any]:
    return {"when": when, **context}


def _live(stream: str, state: str, kinds: tuple[str, ...]) -> dict[str, str]:
    return {"stream": stream, "state": state, "kinds": " ".join(kinds)}


@dataclass
class WitnessForm:
    value: str = ""


@dataclass
class AcceptanceForm:
    decision: str = ""
    reason: str = ""


@dataclass
class DecisionForm:
    outcome: str = ""
    reason: str = ""


class SupervisionPageController(Controller):
    path = "/supervision"
    include_in_schema = False
    guards = [watchers]

    # ------------------------------------------------------------------ the dashboard

    @get("/", name="supervision.dashboard")
    async def dashboard(self, session: AsyncSession) -> Template:
        flags = [flag for flag in await collusion_flags(session) if flag.dismissed_at is None]
        live = await live_sessions(session)
        return Template("supervision/dashboard.html", context=_shown(
            live=live, cards=await open_cards(session), flags=flags,
            calendar_card=missing_year_card(default_calendar(), local_date(live["now"])),
            complaints=await waiting_complaints(session),
            card_rule=f"期限届满前最后 1/{YELLOW_SHARE} 期间（至少最后 {int(YELLOW_MIN.total_seconds() // 3600)} 小时）"
                      f"未办结亮黄牌；逾期未办结或逾期办结亮红牌"))

    # ------------------------------------------------------------------ a draw

    async def _draw_context(self, session: AsyncSession, context: AppContext, draw_id: str,
                            user: User | None = None) -> dict[str, Any]:
        draw = await get_draw(session, draw_id)
        bundle = draw_bundle(draw, context.keys)
        return _shown(draw=draw, bundle=bundle, committed=COMMITTED,
                      verification=verify_bundle(bundle, context.keys.verify_key_hex),
                      party_witness=WITNESS_TENDERING_PARTY,
                      may_witness=draw.status == COMMITTED and await may_witness(session, user, draw),
                      live=_live(f"/live/draw/{draw.draw_id}", f"/supervision/draws/{draw.draw_id}/state", DRAW_KINDS))

    @get("/draws/{draw_id:str}", name="supervision.draw")
    async def draw(self, draw_id: str, context: AppContext, session: AsyncSession, user: User) -> Template:
        shown = await self._draw_context(session, context, draw_id, user)
        return Template("supervision/draw.html", context={**shown, "form": FormState()})

    @get("/draws/{draw_id:str}/state", name="supervision.draw_state")
    async def draw_state(self, draw_id: str, context: AppContext, session: AsyncSession) -> Template:
        return Template("supervision/_draw_state.html", context=await self._draw_context(session, context, draw_id))

    @post("/draws/{draw_id:str}/witness", name="supervision.witness", guards=[supervisors_only])
    async def witness(self, draw_id: str, context: AppContext, user: User, session: AsyncSession,
                      data: Annotated[WitnessForm, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Template | Redirect:
        form = FormState.of({"value": data.value})
        try:
            # An expert draw's witness also invites the drawn experts (as the API does).
            await witness_draw(session, context.keys, draw_id=draw_id, value=data.value, user=user)
        except DomainError as exc:
            await session.rollback()
            form.refuse(exc)
            shown = await self._draw_context(session, context, draw_id, user)
            return Template("supervision/draw.html", status_code=status_of(exc), context={**shown, "form": form})
        await session.commit()
        return Redirect(f"/supervision/draws/{draw_id}")

    # ------------------------------------------------------------------ an opening

    async def _opening_context(self, session: AsyncSession, code: str) -> dict[str, Any]:
        record = await opening_record(session, code)
        return _shown(record=record, live=_live(f"/live/opening/{code}", f"/supervision/openings/{code}/state",
                                                OPENING_KINDS))

    @get("/openings/{code:str}", name="supervision.opening")
    async def opening(self, code: str, session: AsyncSession) -> Template:
        return Template("supervision/opening.html", context=await self._opening_context(session, code))

    @get("/openings/{code:str}/state", name="supervision.opening_state")
    async def opening_state(self, code: str, session: AsyncSession) -> Template:
        return Template("supervision/_opening_state.html", context=await self._opening_context(session, code))

    # ------------------------------------------------------------------ an evaluation

    async def _evaluation_context(self, session: AsyncSession, code: str) -> dict[str, Any]:
        progress = await evaluation_progress(session, code)
        return _shown(progress=progress, live=_live(f"/live/project/{code}", f"/supervision/evaluations/{code}/state",
                                                    EVALUATION_KINDS + TENDER_KINDS))

    @get("/evaluations/{code:str}", name="supervision.evaluation")
    async def evaluation(self, code: str, session: AsyncSession) -> Template:
        return Template("supervision/evaluation.html", context=await self._evaluation_context(session, code))

    @get("/evaluations/{code:str}/state", name="supervision.evaluation_state")
    async def evaluation_state(self, code: str, session: AsyncSession) -> Template:
        return Template("supervision/_evaluation_state.html", context=await self._evaluation_context(session, code))

    # ------------------------------------------------------------------ complaints

    async def _complaints_page(self, session: AsyncSession, forms: dict[int, FormState] | None = None,
                               status_code: int = 200) -> Template:
        return Template("supervision/complaints.html", status_code=status_code, context=_shown(
            complaints=await waiting_complaints(session), forms=forms or {}, filed=FILED, accepted=ACCEPTED,
            outcomes=OUTCOME_CHOICES, blank=FormState()))

    @get("/complaints", name="supervision.complaints")
    async def complaints(self, session: AsyncSession) -> Template:
        return await self._complaints_page(session)

    @post("/complaints/{code:str}/{complaint_id:int}/acceptance", name="supervision.complaint_acceptance",
          guards=[supervisors_only])
    async def acceptance(self, code: str, complaint_id: RowId, user: User, session: AsyncSession,
                         data: Annotated[AcceptanceForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
                         ) -> Template | Redirect:
        form = FormState.of({"decision": data.decision, "reason": data.reason})
        status_code = 400
        if data.decision not in ("accept", "reject"):
            form.error("decision", "请选择受理或不予受理")
        else:
            act = accept_complaint if data.decision == "accept" else reject_complaint
            try:
                await act(session, actor=actor_of(user), project_code=code, complaint_id=complaint_id,
                          reason=data.reason)
            except DomainError as exc:
                await session.rollback()
                form.refuse(exc)
                status_code = status_of(exc)
        if not form.ok:
            return await self._complaints_page(session, {complaint_id: form}, status_code=status_code)
        await session.commit()
        return Redirect("/supervision/complaints")

    @post("/complaints/{code:str}/{complaint_id:int}/decision", name="supervision.complaint_decision",
          guards=[supervisors_only])
    async def decision(self, code: str, complaint_id: RowId, user: User, session: AsyncSession,
                       data: Annotated[DecisionForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
                       ) -> Template | Redirect:
        form = FormState.of({"outcome": data.outcome, "reason": data.reason})
        status_code = 400
        if data.outcome not in (*UPHELD_OUTCOMES, DISMISS):
            form.error("outcome", "请选择处理决定")
        else:
            try:
                await decide_complaint(session, actor=actor_of(user), project_code=code, complaint_id=complaint_id,
                                       outcome=data.outcome, reason=data.reason)
            except DomainError as exc:
                await session.rollback()
                form.refuse(exc)
                status_code = status_of(exc)
        if not form.ok:
            return await self._complaints_page(session, {complaint_id: form}, status_code=status_code)
        await session.commit()
        return Redirect("/supervision/complaints")


async def supervisor_workspace(session: AsyncSession, user: User) -> dict[str, Any]:
    """The supervisor's section of /workspace: what is live now and what waits."""
    live = await live_sessions(session)
    cards = await open_cards(session)
    return {"live": live, "red_cards": sum(1 for c in cards if c["card"] == "red"),
            "yellow_cards": sum(1 for c in cards if c["card"] == "yellow"),
            "complaints": await waiting_complaints(session),
            "flags": sum(1 for flag in await collusion_flags(session) if flag.dismissed_at is None)}
