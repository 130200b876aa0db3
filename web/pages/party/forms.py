"""The party pages' forms (web/pages/party/): a typed field, an uploaded document, a refusal
placed beside its field, the evaluation scheme's form, and booking a room from a form (the
center's tender pages book with it too)."""

from __future__ import annotations

from typing import Any

from litestar.datastructures import UploadFile
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.evaluation.scoring import COMPREHENSIVE, LOWEST_RATIO, MEAN_DEVIATION
from bidding.tender.projects import Project
from bidding.notice.documents import MAX_DOCUMENT_SIZE, DocumentFile
from trading.accounts import User
from trading.audit import actor_of
from trading.errors import DomainError, InvalidInput
from trading.rooms import book_room
from web.core.forms import FormState, local_moment

# The documents' limit plus room for the other fields and the multipart framing.
UPLOAD_LIMIT = MAX_DOCUMENT_SIZE + 1024 * 1024
SCHEME_FIELDS = ("method", "price_points", "price_formula", "k", "deduct_above", "deduct_below", "items")


def _scheme_items(form: FormState) -> list[dict[str, str]]:
    """The scoring items, one a line: a name and its points (「技术方案 60」)."""
    items = []
    for line in str(form.value("items") or "").splitlines():
        line = line.strip()
        if not line:
            continue
        name, _, points = line.replace("：", " ").replace(":", " ").replace("=", " ").rpartition(" ")
        if not name.strip():
            form.error("items", f"评分项「{line}」应写作「名称 分值」，例如「技术方案 60」")
            return []
        items.append({"name": name.strip(), "max_points": points.strip()})
    return items


def scheme_from_form(form: FormState) -> dict[str, Any] | None:
    """The scheme as the API's body takes it, or None with the form's errors."""
    form.required(("method", "评标办法"))
    method = form.value("method")
    if method and method != COMPREHENSIVE:
        return {"method": method}
    form.required(("price_points", "价格分"), ("price_formula", "价格分计算公式"), ("items", "评分项"))
    formula: dict[str, Any] = {"kind": form.value("price_formula")}
    if form.value("price_formula") == MEAN_DEVIATION:
        form.required(("k", "下浮系数 K"), ("deduct_above", "高于基准价每 1% 扣分"),
                      ("deduct_below", "低于基准价每 1% 扣分"))
        formula |= {name: form.value(name) for name in ("k", "deduct_above", "deduct_below")}
    items = _scheme_items(form)
    if not form.ok:
        return None
    return {"method": method, "price_points": form.value("price_points"), "price_formula": formula, "items": items}


def scheme_refusal(exc: DomainError) -> DomainError:
    """An item's points are refused under「名称.max_points」: on the form, the items field."""
    named = exc.details.get("field") if isinstance(exc.details, dict) else None
    if isinstance(named, str) and named.endswith(".max_points"):
        exc.details["field"] = "items"
    return exc


def scheme_form_of(scheme: Any) -> FormState:
    """The form filled in with the scheme in force (or the usual start)."""
    if scheme is None:
        return FormState.of({"method": COMPREHENSIVE, "price_formula": LOWEST_RATIO})
    data = scheme.to_json()
    formula = data.get("price_formula") or {}
    return FormState.of({"method": data["method"], "price_points": data.get("price_points", ""),
                         "price_formula": formula.get("kind", LOWEST_RATIO), "k": formula.get("k", ""),
                         "deduct_above": formula.get("deduct_above", ""), "deduct_below": formula.get("deduct_below", ""),
                         "items": "\n".join(f"{i['name']} {i['max_points']}" for i in data.get("items", []))})


def form_text(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def uploaded_document(form: Any, name: str = "file") -> DocumentFile | None:
    upload = form.get(name)
    if not isinstance(upload, UploadFile):
        return None
    content = await upload.read()
    if not upload.filename and not content:
        return None
    return DocumentFile(filename=upload.filename or "", content=content,
                        media_type=upload.content_type or "application/octet-stream")


def with_field(exc: DomainError, default: str) -> DomainError:
    """Give a refusal without a field the form field it is about."""
    if not isinstance(exc.details, dict) or not exc.details.get("field"):
        exc.details = {**(exc.details if isinstance(exc.details, dict) else {}), "field": default}
    return exc


async def book_from_form(session: AsyncSession, raw: Any, project: Project, user: User) -> FormState:
    """Book a room for the project from the form; refusals sit beside their fields (a clash beside the start)."""
    form = FormState.of({name: form_text(raw, name).strip() for name in ("room", "purpose", "starts_at", "ends_at")})
    form.required(("room", "场地"), ("purpose", "用途"), ("starts_at", "开始时间"), ("ends_at", "结束时间"))
    moments = {}
    for name, label in (("starts_at", "开始时间"), ("ends_at", "结束时间")):
        if form.value(name):
            try:
                moments[name] = local_moment(form.value(name), field=name, label=label)
            except InvalidInput as exc:
                form.refuse(exc)
    if form.ok:
        try:
            await book_room(session, actor=actor_of(user), room_code=form.value("room"), purpose=form.value("purpose"),
                            project_code=project.code, starts_at=moments["starts_at"], ends_at=moments["ends_at"])
        except DomainError as exc:
            await session.rollback()
            if "结束时间" in exc.message:
                exc = with_field(exc, "ends_at")
            elif exc.details.get("booking") or exc.details.get("starts_at"):
                exc = with_field(exc, "starts_at")  # a clash, or a time already past
            elif exc.details.get("room"):
                exc = with_field(exc, "room")
            form.refuse(exc)
    return form
