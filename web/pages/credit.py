"""Credit over the portal: the public credit publicity page (信用公示) and the credit staff's
pages (records, entry, import, repair, revocation). Credit staff are the ``credit_officer``
role and the center's administrators. A person's name and ID number are masked on the public
page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST
from sqlalchemy.ext.asyncio import AsyncSession

from credit.evidence import evidence_of_record, get_evidence
from credit.facts import SHOWN_STATUS_NAMES
from credit.imports import IMPORT_COLUMNS, import_records
from credit.models import MAX_EVIDENCE_BYTES
from credit.publicity import public_restrictions
from credit.records import enter_record, get_record, list_records, record_history, repair_record, revoke_record
from credit.reference import SEVERITY_NAMES, departments, deposit_negative_list, record_kinds
from credit.subjects import SUBJECT_TYPE_NAMES
from credit.validation import parse_day
from trading.accounts import User
from trading.audit import actor_of
from trading.database import transaction_now
from trading.errors import DomainError, InvalidInput
from trading.rules.store import TRADING_CATEGORIES
from trading.spreadsheets import ImportRejected
from web.core.errors import status_of
from web.core.parameters import RowId
from web.core.credit_records import UPLOAD_LIMIT, credit_staff, describe_record, evidence_files


def _form_choices() -> dict[str, Any]:
    return {"departments": list(departments().values()), "kinds": list(record_kinds().values()),
            "categories": TRADING_CATEGORIES, "subject_types": SUBJECT_TYPE_NAMES,
            "severities": SEVERITY_NAMES, "statuses": SHOWN_STATUS_NAMES,
            "negative_list": deposit_negative_list(), "max_mib": MAX_EVIDENCE_BYTES // (1024 * 1024)}


@dataclass
class RecordForm:
    subject_type: str = "organisation"
    subject_key: str = ""
    subject_name: str = ""
    department: str = ""
    kind: str = ""
    act: str = ""
    decision_number: str = ""
    effective_from: str = ""
    effective_to: str = ""
    categories: list[str] = field(default_factory=list)
    region_codes: str = ""
    department_record_id: str = ""
    evidence: UploadFile | None = None


@dataclass
class StatusForm:
    reason: str = ""
    document_number: str = ""
    evidence: UploadFile | None = None


@dataclass
class ImportForm:
    file: UploadFile | None = None
    dry_run: str = ""


class CreditPageController(Controller):
    include_in_schema = False

    @get("/credit", name="credit.publicity")
    async def publicity(self, session: AsyncSession, q: Annotated[str | None, Parameter(query="q", max_length=100)] = None
                        ) -> Template:
        """信用公示: the restrictions in force, searched by name or credit code; people masked."""
        return Template("credit/publicity.html", context={
            "q": q or "", "restrictions": await public_restrictions(session, query=q)})

    @get("/credit/records", name="credit.records", guards=[credit_staff])
    async def records(
        self, session: AsyncSession,
        q: Annotated[str | None, Parameter(query="q", max_length=100)] = None,
        department: Annotated[str | None, Parameter(query="department")] = None,
        kind: Annotated[str | None, Parameter(query="kind")] = None,
        severity: Annotated[str | None, Parameter(query="severity")] = None,
        status: Annotated[str | None, Parameter(query="status")] = None,
    ) -> Template:
        filters = {"q": q or "", "department": department or "", "kind": kind or "", "severity": severity or "",
                   "status": status or ""}
        moment = await transaction_now(session)
        records = await list_records(session, query=q, department=department or None, kind=kind or None,
                                     severity=severity or None, status=status or None, at=moment)
        return Template("credit/records.html", context={
            **_form_choices(), "filters": filters, "records": [describe_record(r, moment) for r in records]})

    @get("/credit/records/new", name="credit.record_form", guards=[credit_staff])
    async def record_form(self) -> Template:
        return Template("credit/record_form.html", context={**_form_choices(), "form": RecordForm(), "error": None})

    @post("/credit/records", name="credit.enter", guards=[credit_staff], request_max_body_size=UPLOAD_LIMIT)
    async def enter(
        self, data: Annotated[RecordForm, Body(media_type=RequestEncodingType.MULTI_PART)], user: User,
        session: AsyncSession,
    ) -> Template | Redirect:
        try:
            record = await enter_record(
                session, actor=actor_of(user), subject_type=data.subject_type, subject_key=data.subject_key,
                subject_name=data.subject_name, department=data.department, kind=data.kind, act=data.act,
                decision_number=data.decision_number,
                effective_from=parse_day(data.effective_from, "effective_from", "生效日期"),
                effective_to=parse_day(data.effective_to, "effective_to", "截止日期", required=False),
                categories=data.categories, region_codes=data.region_codes,
                department_record_id=data.department_record_id or None, evidence=await evidence_files(data.evidence))
        except DomainError as exc:
            await session.rollback()
            data.evidence = None
            return Template("credit/record_form.html", status_code=status_of(exc),
                            context={**_form_choices(), "form": data, "error": exc.message})
        await session.commit()
        return Redirect(f"/credit/records/{record.id}")

    @get("/credit/records/{record_id:int}", name="credit.record", guards=[credit_staff])
    async def record(self, record_id: RowId, session: AsyncSession, error: str | None = None) -> Template:
        moment = await transaction_now(session)
        record = await get_record(session, record_id)
        return Template("credit/record.html", context={
            **_form_choices(), "record": describe_record(record, moment),
            "history": await record_history(session, record_id),
            "evidence": await evidence_of_record(session, record_id), "error": error})

    async def _status_change(self, change, record_id: int, data: StatusForm, user: User,
                             session: AsyncSession) -> Redirect:
        try:
            await change(session, actor=actor_of(user), record_id=record_id, reason=data.reason,
                         document_number=data.document_number or None, evidence=await evidence_files(data.evidence))
        except DomainError as exc:
            await session.rollback()
            return Redirect(f"/credit/records/{record_id}?error={quote(exc.message)}")
        await session.commit()
        return Redirect(f"/credit/records/{record_id}")

    @post("/credit/records/{record_id:int}/repair", name="credit.repair", guards=[credit_staff],
          request_max_body_size=UPLOAD_LIMIT)
    async def repair(self, record_id: RowId, data: Annotated[StatusForm, Body(media_type=RequestEncodingType.MULTI_PART)],
                     user: User, session: AsyncSession) -> Redirect:
        return await self._status_change(repair_record, record_id, data, user, session)

    @post("/credit/records/{record_id:int}/revoke", name="credit.revoke", guards=[credit_staff],
          request_max_body_size=UPLOAD_LIMIT)
    async def revoke(self, record_id: RowId, data: Annotated[StatusForm, Body(media_type=RequestEncodingType.MULTI_PART)],
                     user: User, session: AsyncSession) -> Redirect:
        return await self._status_change(revoke_record, record_id, data, user, session)

    @get("/credit/import", name="credit.import_form", guards=[credit_staff])
    async def import_form(self) -> Template:
        return Template("credit/import.html", context={"columns": IMPORT_COLUMNS, "summary": None, "errors": None,
                                                       "error": None, "filename": None})

    @post("/credit/import", name="credit.import", guards=[credit_staff], request_max_body_size=UPLOAD_LIMIT)
    async def import_file(self, data: Annotated[ImportForm, Body(media_type=RequestEncodingType.MULTI_PART)],
                          user: User, session: AsyncSession) -> Template:
        context: dict[str, Any] = {"columns": IMPORT_COLUMNS, "summary": None, "errors": None, "error": None,
                                   "filename": data.file.filename if data.file else None}
        try:
            if data.file is None:
                raise InvalidInput("请选择要导入的 .csv 或 .xlsx 文件", code="file_required", field="file")
            summary = await import_records(session, actor=actor_of(user), filename=data.file.filename or "",
                                           data=await data.file.read(), dry_run=bool(data.dry_run))
        except ImportRejected as rejected:
            return Template("credit/import.html", status_code=HTTP_400_BAD_REQUEST,
                            context={**context, "errors": rejected.errors})
        except DomainError as exc:
            return Template("credit/import.html", status_code=status_of(exc), context={**context, "error": exc.message})
        await session.commit()
        return Template("credit/import.html", context={**context, "summary": summary})

    @get("/credit/evidence/{evidence_id:int}", name="credit.evidence", guards=[credit_staff])
    async def evidence(self, evidence_id: RowId, session: AsyncSession) -> Response[bytes]:
        evidence = await get_evidence(session, evidence_id)
        return Response(evidence.data, media_type=evidence.content_type, headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(evidence.filename)}",
            "X-Content-Type-Options": "nosniff"})
