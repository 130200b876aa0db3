"""Credit over HTTP: the public credit publicity page (信用公示), the credit staff's pages
(records, entry, import, repair, revocation), and the JSON API under ``/api/credit``
(the same acts, the departments' push, and an eligibility/deposit preview).

Credit staff are the ``credit_officer`` role and the center's administrators; a
department pushes with its own API account (role ``department``, bound to its
department). A person's name and ID number are masked on the public page and answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK, HTTP_400_BAD_REQUEST
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.tender.registrations import preview_credit_check
from credit.bribery import ManualBriberyResult, run_bribery_check
from credit.departments import department_of
from credit.evidence import EvidenceFile, evidence_of_record, get_evidence, store_evidence
from credit.facts import SHOWN_STATUS_NAMES, describe_period, first_day, last_day
from credit.imports import IMPORT_COLUMNS, import_records
from credit.models import MAX_EVIDENCE_BYTES, CreditRecord
from credit.publicity import describe_scope, public_restrictions
from credit.push import push_records
from credit.records import enter_record, get_record, list_records, record_history, repair_record, revoke_record, shown_status
from credit.reference import SEVERITY_NAMES, departments, deposit_negative_list, record_kinds
from credit.subjects import SUBJECT_TYPE_NAMES, Subject, make_subject
from credit.validation import parse_day
from trading.accounts import User
from trading.audit import actor_of
from trading.database import transaction_now
from trading.errors import DomainError, InvalidInput
from trading.money import MAX_FEN
from trading.roles import UserRole
from trading.rules.store import TRADING_CATEGORIES
from trading.spreadsheets import ImportRejected
from web.core.auth import requires_role
from web.core.errors import status_of
from web.core.parameters import RowId

credit_staff = requires_role(UserRole.CREDIT_OFFICER, UserRole.ADMIN)
departments_only = requires_role(UserRole.DEPARTMENT)
# Evidence files may be 10 MiB; a form carries its fields and boundaries besides.
UPLOAD_LIMIT = MAX_EVIDENCE_BYTES + 1024 * 1024


def describe_record(record: CreditRecord, moment: datetime) -> dict[str, Any]:
    """A record as the credit staff see it (unmasked: they hold the source documents)."""
    department = departments().get(record.department_code)
    kind = record_kinds().get(record.kind)
    status = shown_status(record, moment)
    end = last_day(record.effective_to)
    return {
        "id": record.id, "subject_type": record.subject_type, "subject_type_name": SUBJECT_TYPE_NAMES[record.subject_type],
        "subject_key": record.subject_key, "subject_name": record.subject_name,
        "department": record.department_code, "department_name": department.name if department else record.department_code,
        "department_record_id": record.department_record_id,
        "kind": record.kind, "kind_name": kind.name if kind else record.kind,
        "severity": record.severity, "severity_name": SEVERITY_NAMES.get(record.severity, record.severity),
        "act": record.act, "decision_number": record.decision_number,
        "effective_from": first_day(record.effective_from).isoformat(),
        "effective_to": end.isoformat() if end else None,
        "period": describe_period(record.effective_from, record.effective_to),
        "categories": list(record.categories), "region_codes": list(record.region_codes),
        "scope": describe_scope(list(record.categories), list(record.region_codes)),
        "status": record.status, "shown_status": status, "shown_status_name": SHOWN_STATUS_NAMES[status],
        "status_reason": record.status_reason, "status_document": record.status_document,
        "channel": record.channel, "entered_by": record.entered_by, "created_at": record.created_at.isoformat(),
    }


async def _files(uploads: list[UploadFile] | UploadFile | None) -> list[EvidenceFile]:
    """The uploaded evidence files; a form's empty file field is no file."""
    if uploads is None:
        return []
    files = []
    for upload in uploads if isinstance(uploads, list) else [uploads]:
        data = await upload.read()
        if upload.filename or data:
            files.append(EvidenceFile(upload.filename or "evidence", upload.content_type or "", data))
    return files


def _form_choices() -> dict[str, Any]:
    return {"departments": list(departments().values()), "kinds": list(record_kinds().values()),
            "categories": TRADING_CATEGORIES, "subject_types": SUBJECT_TYPE_NAMES,
            "severities": SEVERITY_NAMES, "statuses": SHOWN_STATUS_NAMES,
            "negative_list": deposit_negative_list(), "max_mib": MAX_EVIDENCE_BYTES // (1024 * 1024)}


# ----------------------------------------------------------------------------- pages


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
                department_record_id=data.department_record_id or None, evidence=await _files(data.evidence))
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
                         document_number=data.document_number or None, evidence=await _files(data.evidence))
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
                raise InvalidInput("请选择要导入的 .csv 或 .xlsx 文件", field="file")
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


# ------------------------------------------------------------------------------- API


class RecordEntry(BaseModel):
    subject_type: str = Field(description="organisation or person (单位/个人)")
    subject_key: str = Field(max_length=40, description="credit code or ID number")
    subject_name: str = Field(max_length=200)
    department: str = Field(max_length=50, description="department code or name")
    kind: str = Field(max_length=60, description="record kind code or name")
    act: str = Field(max_length=2000)
    decision_number: str = Field(max_length=100)
    effective_from: date
    effective_to: date | None = Field(default=None, description="last day in force; none: until repaired or revoked")
    categories: list[str] = Field(default_factory=list, description="empty: every trading category")
    region_codes: list[str] = Field(default_factory=list, description="empty: every region")
    department_record_id: str | None = Field(default=None, max_length=100)


class StatusChange(BaseModel):
    reason: str = Field(max_length=500)
    document_number: str | None = Field(default=None, max_length=100)


class PushBody(BaseModel):
    records: list[dict[str, Any]] = Field(description="the department's records, each with its own record_id")


@dataclass
class EvidenceUpload:
    file: UploadFile


@dataclass
class BriberyCheckForm:
    project_code: str
    subject_key: str
    subject_name: str
    method: str
    outcome: str
    note: str
    file: UploadFile
    subject_type: str = "organisation"
    document_number: str = ""
    judgment_date: str = ""
    lookback_years: int | None = None


class CreditApiController(Controller):
    path = "/api/credit"
    tags = ["credit"]

    @get("/restrictions", summary="Credit publicity: restrictions in force (people masked; public)")
    async def restrictions(self, session: AsyncSession,
                           q: Annotated[str | None, Parameter(query="q", max_length=100)] = None) -> list[dict[str, Any]]:
        return [item.as_dict() for item in await public_restrictions(session, query=q)]

    @get("/records", guards=[credit_staff], summary="Credit records with filters (credit staff)")
    async def records(
        self, session: AsyncSession,
        q: Annotated[str | None, Parameter(query="q", max_length=100)] = None,
        department: Annotated[str | None, Parameter(query="department")] = None,
        kind: Annotated[str | None, Parameter(query="kind")] = None,
        severity: Annotated[str | None, Parameter(query="severity")] = None,
        status: Annotated[str | None, Parameter(query="status", description="active, pending, expired, repaired, revoked")] = None,
    ) -> list[dict[str, Any]]:
        moment = await transaction_now(session)
        records = await list_records(session, query=q, department=department, kind=kind, severity=severity,
                                     status=status, at=moment)
        return [describe_record(record, moment) for record in records]

    @get("/records/{record_id:int}", guards=[credit_staff], summary="One record with its history and evidence")
    async def record(self, record_id: RowId, session: AsyncSession) -> dict[str, Any]:
        moment = await transaction_now(session)
        record = await get_record(session, record_id)
        return {**describe_record(record, moment),
                "history": [{"action": c.action, "actor": c.actor, "reason": c.reason,
                             "document_number": c.document_number, "changes": c.changes, "at": c.at.isoformat()}
                            for c in await record_history(session, record_id)],
                "evidence": [{"id": e.id, "filename": e.filename, "content_type": e.content_type,
                              "size_bytes": e.size_bytes, "sha256": e.sha256}
                             for e in await evidence_of_record(session, record_id)]}

    @post("/records", guards=[credit_staff], summary="Enter a credit record (credit staff)")
    async def enter(self, data: RecordEntry, user: User, session: AsyncSession) -> dict[str, Any]:
        record = await enter_record(session, actor=actor_of(user), channel="api", **data.model_dump())
        await session.commit()
        return describe_record(record, await transaction_now(session))

    @post("/records/{record_id:int}/evidence", guards=[credit_staff], request_max_body_size=UPLOAD_LIMIT,
          summary="Attach an evidence file to a record (at most 10 MiB)")
    async def add_evidence(self, record_id: RowId, data: Annotated[EvidenceUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
                           user: User, session: AsyncSession) -> dict[str, Any]:
        await get_record(session, record_id)
        files = await _files(data.file)
        if not files:
            raise InvalidInput("请选择证明材料文件", field="file")
        evidence = await store_evidence(session, actor=actor_of(user), file=files[0], record_id=record_id)
        await session.commit()
        return {"id": evidence.id, "filename": evidence.filename, "sha256": evidence.sha256,
                "size_bytes": evidence.size_bytes}

    @post("/records/{record_id:int}/repair", guards=[credit_staff], status_code=HTTP_200_OK,
          summary="Credit repair (信用修复): the record stops deciding; history kept")
    async def repair(self, record_id: RowId, data: StatusChange, user: User, session: AsyncSession) -> dict[str, Any]:
        record = await repair_record(session, actor=actor_of(user), record_id=record_id, reason=data.reason,
                                     document_number=data.document_number)
        await session.commit()
        return describe_record(record, await transaction_now(session))

    @post("/records/{record_id:int}/revoke", guards=[credit_staff], status_code=HTTP_200_OK,
          summary="Revoke a record; history kept")
    async def revoke(self, record_id: RowId, data: StatusChange, user: User, session: AsyncSession) -> dict[str, Any]:
        record = await revoke_record(session, actor=actor_of(user), record_id=record_id, reason=data.reason,
                                     document_number=data.document_number)
        await session.commit()
        return describe_record(record, await transaction_now(session))

    @post("/import", guards=[credit_staff], status_code=HTTP_200_OK, request_max_body_size=UPLOAD_LIMIT,
          summary="Import records from a CSV or XLSX file, all rows or none (400 lists every bad cell)")
    async def import_file(
        self, data: Annotated[EvidenceUpload, Body(media_type=RequestEncodingType.MULTI_PART)], user: User,
        session: AsyncSession,
        dry_run: Annotated[bool, Parameter(query="dry_run", description="check only, write nothing")] = False,
    ) -> dict[str, Any]:
        summary = await import_records(session, actor=actor_of(user), filename=data.file.filename or "",
                                       data=await data.file.read(), dry_run=dry_run)
        await session.commit()
        return summary.as_dict()

    @post("/push", guards=[departments_only], status_code=HTTP_200_OK,
          summary="A department pushes its records; idempotent on the department's record_id")
    async def push(self, data: PushBody, user: User, session: AsyncSession) -> dict[str, Any]:
        department = await department_of(session, user)
        outcomes = await push_records(session, actor=actor_of(user), department=department, items=data.records)
        await session.commit()
        return {"department": department.code, "records": [outcome.as_dict() for outcome in outcomes]}

    @get("/preview", guards=[credit_staff], summary="Eligibility and deposit answers for a subject and a project, now")
    async def preview(
        self, session: AsyncSession,
        project: Annotated[str, Parameter(query="project", max_length=40)],
        subject: Annotated[str, Parameter(query="subject", max_length=40, description="credit code or ID number")],
        subject_type: Annotated[str, Parameter(query="subject_type")] = "organisation",
        # schema_extra: Litestar leaves a bound of 0 out of an optional parameter's schema.
        deposit_fen: Annotated[int | None, Parameter(query="deposit_fen", ge=0, le=MAX_FEN,
                                                     schema_extra={"minimum": 0})] = None,
    ) -> dict[str, Any]:
        check = await preview_credit_check(session, project_code=project, subject_key=subject,
                                           subject_type=subject_type, requested_deposit_fen=deposit_fen)
        return {"subject_type": check.subject_type, "subject_key": check.subject_key, **check.as_dict()}

    @post("/bribery-checks", guards=[credit_staff], request_max_body_size=UPLOAD_LIMIT,
          summary="Record a manual bribery-record check for a registration, with its evidence")
    async def bribery_check(self, data: Annotated[BriberyCheckForm, Body(media_type=RequestEncodingType.MULTI_PART)],
                            user: User, session: AsyncSession) -> dict[str, Any]:
        subject: Subject = make_subject(data.subject_type, data.subject_key, data.subject_name)
        source = ManualBriberyResult(
            outcome=data.outcome, method=data.method, note=data.note, evidence=await _files(data.file),
            document_number=data.document_number or None,
            judgment_date=parse_day(data.judgment_date, "judgment_date", "判决生效日期", required=False))
        check = await run_bribery_check(session, actor=actor_of(user), project_code=data.project_code,
                                        subject=subject, source=source, lookback_years=data.lookback_years,
                                        at=await transaction_now(session))
        await session.commit()
        return {"id": check.id, "project_code": check.project_code, "subject_key": subject.public_key(),
                "method": check.method, "outcome": check.outcome, "found_record_ids": check.found_record_ids}
