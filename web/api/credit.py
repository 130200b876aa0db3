"""Credit over the JSON API under ``/api/credit``: the credit staff's acts (records, entry,
import, repair, revocation, evidence, bribery checks), the departments' push, and an
eligibility/deposit preview; the portal's credit pages are web/pages/credit.py.

Credit staff are the ``credit_officer`` role and the center's administrators; a
department pushes with its own API account (role ``department``, bound to its
department). A person's name and ID number are masked on the public answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.status_codes import HTTP_200_OK
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.tender.registrations import preview_credit_check
from credit.bribery import ManualBriberyResult, run_bribery_check
from credit.departments import department_of
from credit.evidence import evidence_of_record, store_evidence
from credit.imports import import_records
from credit.publicity import public_restrictions
from credit.push import push_records
from credit.records import enter_record, get_record, list_records, record_history, repair_record, revoke_record
from credit.subjects import Subject, make_subject
from credit.validation import parse_day
from trading.accounts import User
from trading.audit import actor_of
from trading.database import transaction_now
from trading.errors import InvalidInput
from trading.money import MAX_FEN
from trading.roles import UserRole
from web.api.schemas.credit import (
    BriberyChecked,
    CreditPreview,
    CreditRecordDetail,
    CreditRecordView,
    EvidenceStored,
    ImportSummary,
    PublicRestriction,
    Pushed,
)
from web.core.auth import requires_role
from web.core.parameters import RowId
from web.core.credit_records import UPLOAD_LIMIT, credit_staff, describe_record, evidence_files

departments_only = requires_role(UserRole.DEPARTMENT)


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
                           q: Annotated[str | None, Parameter(query="q", max_length=100)] = None) -> list[PublicRestriction]:
        return [item.as_dict() for item in await public_restrictions(session, query=q)]

    @get("/records", guards=[credit_staff], summary="Credit records with filters (credit staff)")
    async def records(
        self, session: AsyncSession,
        q: Annotated[str | None, Parameter(query="q", max_length=100)] = None,
        department: Annotated[str | None, Parameter(query="department")] = None,
        kind: Annotated[str | None, Parameter(query="kind")] = None,
        severity: Annotated[str | None, Parameter(query="severity")] = None,
        status: Annotated[str | None, Parameter(query="status", description="active, pending, expired, repaired, revoked")] = None,
    ) -> list[CreditRecordView]:
        moment = await transaction_now(session)
        records = await list_records(session, query=q, department=department, kind=kind, severity=severity,
                                     status=status, at=moment)
        return [describe_record(record, moment) for record in records]

    @get("/records/{record_id:int}", guards=[credit_staff], summary="One record with its history and evidence")
    async def record(self, record_id: RowId, session: AsyncSession) -> CreditRecordDetail:
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
    async def enter(self, data: RecordEntry, user: User, session: AsyncSession) -> CreditRecordView:
        record = await enter_record(session, actor=actor_of(user), channel="api", **data.model_dump())
        await session.commit()
        return describe_record(record, await transaction_now(session))

    @post("/records/{record_id:int}/evidence", guards=[credit_staff], request_max_body_size=UPLOAD_LIMIT,
          summary="Attach an evidence file to a record (at most 10 MiB)")
    async def add_evidence(self, record_id: RowId, data: Annotated[EvidenceUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
                           user: User, session: AsyncSession) -> EvidenceStored:
        await get_record(session, record_id)
        files = await evidence_files(data.file)
        if not files:
            raise InvalidInput("请选择证明材料文件", code="file_required", field="file")
        evidence = await store_evidence(session, actor=actor_of(user), file=files[0], record_id=record_id)
        await session.commit()
        return {"id": evidence.id, "filename": evidence.filename, "sha256": evidence.sha256,
                "size_bytes": evidence.size_bytes}

    @post("/records/{record_id:int}/repair", guards=[credit_staff], status_code=HTTP_200_OK,
          summary="Credit repair (信用修复): the record stops deciding; history kept")
    async def repair(self, record_id: RowId, data: StatusChange, user: User,
                     session: AsyncSession) -> CreditRecordView:
        record = await repair_record(session, actor=actor_of(user), record_id=record_id, reason=data.reason,
                                     document_number=data.document_number)
        await session.commit()
        return describe_record(record, await transaction_now(session))

    @post("/records/{record_id:int}/revoke", guards=[credit_staff], status_code=HTTP_200_OK,
          summary="Revoke a record; history kept")
    async def revoke(self, record_id: RowId, data: StatusChange, user: User,
                     session: AsyncSession) -> CreditRecordView:
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
    ) -> ImportSummary:
        summary = await import_records(session, actor=actor_of(user), filename=data.file.filename or "",
                                       data=await data.file.read(), dry_run=dry_run)
        await session.commit()
        return summary.as_dict()

    @post("/push", guards=[departments_only], status_code=HTTP_200_OK,
          summary="A department pushes its records; idempotent on the department's record_id")
    async def push(self, data: PushBody, user: User, session: AsyncSession) -> Pushed:
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
    ) -> CreditPreview:
        check = await preview_credit_check(session, project_code=project, subject_key=subject,
                                           subject_type=subject_type, requested_deposit_fen=deposit_fen)
        return {"subject_type": check.subject_type, "subject_key": check.subject_key, **check.as_dict()}

    @post("/bribery-checks", guards=[credit_staff], request_max_body_size=UPLOAD_LIMIT,
          summary="Record a manual bribery-record check for a registration, with its evidence")
    async def bribery_check(self, data: Annotated[BriberyCheckForm, Body(media_type=RequestEncodingType.MULTI_PART)],
                            user: User, session: AsyncSession) -> BriberyChecked:
        subject: Subject = make_subject(data.subject_type, data.subject_key, data.subject_name)
        source = ManualBriberyResult(
            outcome=data.outcome, method=data.method, note=data.note, evidence=await evidence_files(data.file),
            document_number=data.document_number or None,
            judgment_date=parse_day(data.judgment_date, "judgment_date", "判决生效日期", required=False))
        check = await run_bribery_check(session, actor=actor_of(user), project_code=data.project_code,
                                        subject=subject, source=source, lookback_years=data.lookback_years,
                                        at=await transaction_now(session))
        await session.commit()
        return {"id": check.id, "project_code": check.project_code, "subject_key": subject.public_key(),
                "method": check.method, "outcome": check.outcome, "found_record_ids": check.found_record_ids}
