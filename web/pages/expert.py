"""The expert's workspace (评标专家): summonses to confirm or decline, the evaluation session of
each committee the expert sits on (chair election, qualification / preliminary / detailed
review, scores per item, rejection with a ground and reasons), and the report signed with
the expert's own Ed25519 key in the browser or by a recorded confirmation.

Every act calls the services of :mod:`expert_pool.committees` and :mod:`bidding.evaluation`
as the expert's own account (matched to the pool by ID number); a refusal is shown next to
its field with what the expert typed kept. An expert sees only the rounds it sits on.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.evaluation.expert_keys import active_expert_key, register_expert_key
from bidding.evaluation.grounds import REJECTION_GROUNDS
from bidding.evaluation.records import PASS, REJECT
from bidding.evaluation.report import complete_report, record_dissent, sign_report
from bidding.evaluation.review import close_stage, record_review, record_scores
from bidding.evaluation.sitting import vote_for_chair
from bidding.evaluation.stages import CHAIR, COMPLETED, DETAILED, REPORT, REVIEW_STAGES, STAGE_NAMES
from bidding.evaluation.views import evaluation_view, evaluations_of_expert
from expert_pool.committees import answer_invitation, expert_of_user, invitations_of
from expert_pool.models import Expert
from trading.accounts import User
from trading.audit import actor_of
from trading.canonical import canon
from trading.errors import DomainError, InvalidInput
from trading.keys import key_id
from trading.roles import UserRole
from web.core.auth import requires_role
from web.core.errors import status_of
from web.core.forms import FormState
from web.core.parameters import RowId
from web.core.state import AppContext
from web.pages.supervision import when

experts_only = requires_role(UserRole.EXPERT)


async def _form(request: Request) -> dict[str, str]:
    """The posted fields (the CSRF token left out); a repeated field keeps its last value."""
    form = await request.form()
    return {name: value for name, value in form.items() if name != "_csrf_token" and isinstance(value, str)}


async def _expert(session: AsyncSession, user: User) -> Expert:
    return await expert_of_user(session, user)


class ExpertPageController(Controller):
    path = "/expert"
    include_in_schema = False
    guards = [experts_only]

    # ------------------------------------------------------------------ summonses and rounds

    async def _home(self, session: AsyncSession, expert: Expert, *, answers: dict[int, FormState] | None = None,
                    key_form: FormState | None = None, status_code: int = 200) -> Template:
        key = await active_expert_key(session, expert.id)
        return Template("expert/home.html", status_code=status_code, context={
            "expert": expert, "when": when, "invitations": await invitations_of(session, expert.id),
            "evaluations": await evaluations_of_expert(session, expert.id), "answers": answers or {},
            "blank": FormState(), "key": key, "key_id": key_id(key.verify_key) if key else None,
            "key_form": key_form or FormState()})

    @get("/", name="expert.home")
    async def home(self, user: User, session: AsyncSession) -> Template:
        return await self._home(session, await _expert(session, user))

    @post("/summonses/{member_id:int}", name="expert.answer")
    async def answer(self, member_id: RowId, request: Request, user: User, session: AsyncSession,
                     context: AppContext) -> Template | Redirect:
        expert = await _expert(session, user)
        data = await _form(request)
        form = FormState.of(data)
        status_code = 400
        if data.get("answer") not in ("confirm", "decline"):
            form.general.append("请选择确认参加或谢绝参加")
        else:
            try:
                await answer_invitation(session, context.keys, member_id=member_id,
                                        expert_id=expert.id, accept=data["answer"] == "confirm",
                                        reason=data.get("reason", ""), actor=actor_of(user))
            except DomainError as exc:
                await session.rollback()
                expert = await _expert(session, user)  # the rollback expired what was loaded
                form.refuse(exc)
                status_code = status_of(exc)
        if not form.ok:
            return await self._home(session, expert, answers={member_id: form}, status_code=status_code)
        await session.commit()
        return Redirect("/expert")

    @post("/key", name="expert.key")
    async def key(self, request: Request, user: User, session: AsyncSession) -> Template | Redirect:
        expert = await _expert(session, user)
        data = await _form(request)
        form = FormState.of(data)
        try:
            await register_expert_key(session, actor=actor_of(user), expert_id=expert.id,
                                      verify_key=data.get("verify_key", ""))
        except DomainError as exc:
            await session.rollback()
            expert = await _expert(session, user)  # the rollback expired what was loaded
            form.refuse(exc)
            return await self._home(session, expert, key_form=form, status_code=status_of(exc))
        await session.commit()
        return Redirect("/expert#key")

    # ------------------------------------------------------------------ the evaluation session

    async def _evaluation(self, session: AsyncSession, expert: Expert, code: str,
                          forms: dict[str, FormState] | None = None, status_code: int = 200) -> Template:
        view = await evaluation_view(session, code, role=UserRole.EXPERT.value, expert_id=expert.id)
        forms = dict(forms or {})
        stage = view["stage"]
        item_names = [item["name"] for item in view["scheme"].get("items", [])]
        for bid in view["bids"]:
            bidder = bid["bidder_credit_code"]
            own = next((r for r in bid["reviews"] if r["stage"] == stage), None)
            if f"review:{bidder}" not in forms:
                forms[f"review:{bidder}"] = FormState.of({
                    "verdict": own["verdict"] if own else "", "ground": own["ground"] or "" if own else "",
                    "reason": own["reason"] or "" if own else ""})
            if f"score:{bidder}" not in forms:
                mine = bid["scores"][0]["scores"] if bid["scores"] else []
                points = {row["item"]: row["points"] for row in mine}
                forms[f"score:{bidder}"] = FormState.of({f"item_{i}": points.get(name, "")
                                                         for i, name in enumerate(item_names)})
        me = next(m for m in view["members"] if m["expert"] == expert.code)
        key = await active_expert_key(session, expert.id)
        return Template("expert/evaluation.html", status_code=status_code, context={
            "view": view, "mine": me, "expert": expert, "is_chair": view["chair"] == expert.code, "forms": forms,
            "blank": FormState(), "stage": stage, "stage_names": STAGE_NAMES, "review_stages": REVIEW_STAGES,
            "chair_stage": CHAIR, "detailed": DETAILED, "report_stage": REPORT, "completed": COMPLETED,
            "grounds": REJECTION_GROUNDS, "item_names": item_names,
            "ground_options": [(number, f"{number}. {text}") for number, text in REJECTION_GROUNDS.items()],
            "member_options": [(m["expert"], f"{m['name']}（{m['expert']}）") for m in view["members"]], "when": when,
            "report_canon": canon(view["report"]).decode() if view["report"] else None,
            "key": key, "key_id": key_id(key.verify_key) if key else None})

    @get("/evaluations/{code:str}", name="expert.evaluation")
    async def evaluation(self, code: str, user: User, session: AsyncSession) -> Template:
        return await self._evaluation(session, await _expert(session, user), code)

    async def _act(self, request: Request, user: User, session: AsyncSession, code: str, form_name: str,
                   act) -> Template | Redirect:
        """Run ``act(expert, data, form)``; on a refusal show the page again with the form as typed."""
        expert = await _expert(session, user)
        data = await _form(request)
        form = FormState.of(data)
        key = form_name.format_map(defaultdict(str, data))
        try:
            await act(expert, data, form)
            if not form.ok:
                raise InvalidInput("请修改标出的内容后再提交", code="invalid_form")
        except DomainError as exc:
            await session.rollback()
            expert = await _expert(session, user)  # the rollback expired what was loaded
            if form.ok:
                form.refuse(exc)
            return await self._evaluation(session, expert, code, {key: form}, status_code=status_of(exc))
        await session.commit()
        return Redirect(f"/expert/evaluations/{code}#{key.replace(':', '-')}")

    @post("/evaluations/{code:str}/chair-vote", name="expert.vote")
    async def vote(self, code: str, request: Request, user: User, session: AsyncSession) -> Template | Redirect:
        async def act(expert: Expert, data: dict[str, str], form: FormState) -> None:
            form.required(("candidate", "推选的组长"))
            if form.ok:
                await vote_for_chair(session, actor=actor_of(user), project_code=code, expert_id=expert.id,
                                     candidate_code=data["candidate"])
        return await self._act(request, user, session, code, "vote", act)

    @post("/evaluations/{code:str}/reviews", name="expert.review")
    async def review(self, code: str, request: Request, user: User, session: AsyncSession) -> Template | Redirect:
        async def act(expert: Expert, data: dict[str, str], form: FormState) -> None:
            verdict = data.get("verdict", "")
            if verdict not in (PASS, REJECT):
                form.error("verdict", "请选择通过或否决")
                return
            ground_text = data.get("ground", "").strip()
            ground: Any = None
            if verdict == REJECT:
                ground = int(ground_text) if ground_text.isdigit() else None
            await record_review(session, actor=actor_of(user), project_code=code, expert_id=expert.id,
                                bidder_credit_code=data.get("bidder_credit_code", ""), verdict=verdict,
                                ground=ground, reason=data.get("reason", ""))
        return await self._act(request, user, session, code, "review:{bidder_credit_code}", act)

    @post("/evaluations/{code:str}/scores", name="expert.score")
    async def score(self, code: str, request: Request, user: User, session: AsyncSession) -> Template | Redirect:
        async def act(expert: Expert, data: dict[str, str], form: FormState) -> None:
            view = await evaluation_view(session, code, role=UserRole.EXPERT.value, expert_id=expert.id)
            names = [item["name"] for item in view["scheme"].get("items", [])]
            form.required(*((f"item_{i}", f"「{name}」的得分") for i, name in enumerate(names)))
            if not form.ok:
                return
            try:
                await record_scores(session, actor=actor_of(user), project_code=code, expert_id=expert.id,
                                    bidder_credit_code=data.get("bidder_credit_code", ""),
                                    scores={name: data[f"item_{i}"].strip() for i, name in enumerate(names)})
            except InvalidInput as exc:
                # Next to the item the refusal names (by its field, or in its message).
                named = exc.details.get("field") if isinstance(exc.details, dict) else None
                for i, name in enumerate(names):
                    if named == name or f"「{name}」" in exc.message:
                        form.error(f"item_{i}", exc.message)
                        break
                else:
                    raise
        return await self._act(request, user, session, code, "score:{bidder_credit_code}", act)

    @post("/evaluations/{code:str}/close-stage", name="expert.close_stage")
    async def close(self, code: str, request: Request, user: User, session: AsyncSession) -> Template | Redirect:
        async def act(expert: Expert, data: dict[str, str], form: FormState) -> None:
            await close_stage(session, actor=actor_of(user), project_code=code, expert_id=expert.id)
        return await self._act(request, user, session, code, "close", act)

    @post("/evaluations/{code:str}/signature", name="expert.sign")
    async def sign(self, code: str, request: Request, user: User, session: AsyncSession) -> Template | Redirect:
        async def act(expert: Expert, data: dict[str, str], form: FormState) -> None:
            signature = data.get("signature", "").strip() or None
            if signature is None and data.get("confirm") != "yes":
                form.error("signature", "请用签名密钥文件签署，或勾选确认后以本人账号确认签署")
                return
            await sign_report(session, actor=actor_of(user), project_code=code, expert_id=expert.id,
                              signature=signature)
        return await self._act(request, user, session, code, "sign", act)

    @post("/evaluations/{code:str}/dissent", name="expert.dissent")
    async def dissent(self, code: str, request: Request, user: User, session: AsyncSession) -> Template | Redirect:
        async def act(expert: Expert, data: dict[str, str], form: FormState) -> None:
            await record_dissent(session, actor=actor_of(user), project_code=code, expert_id=expert.id,
                                 reasons=data.get("reasons", ""))
        return await self._act(request, user, session, code, "dissent", act)

    @post("/evaluations/{code:str}/complete", name="expert.complete")
    async def complete(self, code: str, request: Request, user: User, session: AsyncSession) -> Template | Redirect:
        async def act(expert: Expert, data: dict[str, str], form: FormState) -> None:
            await complete_report(session, actor=actor_of(user), project_code=code, expert_id=expert.id)
        return await self._act(request, user, session, code, "close", act)


async def expert_workspace(session: AsyncSession, user: User) -> dict[str, Any]:
    """The expert's section of /workspace: summonses waiting for an answer, rounds under way."""
    try:
        expert = await _expert(session, user)
    except DomainError as exc:
        return {"expert_error": exc.message}
    return {"waiting": [i for i in await invitations_of(session, expert.id) if i["status"] == "invited"],
            "evaluations": [e for e in await evaluations_of_expert(session, expert.id) if e["stage"] != COMPLETED],
            "when": when}
