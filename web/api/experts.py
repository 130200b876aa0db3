"""The expert pool over HTTP: import/export for the center's administrators, and the
masked list and review list for administrators and supervisors.

The pool's membership is not public (it would invite lobbying of experts), and ID and
phone numbers are masked in every answer except the administrators' full export.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.status_codes import HTTP_200_OK
from sqlalchemy.ext.asyncio import AsyncSession

from expert_pool.experts import describe_experts, list_experts
from expert_pool.imports import export_experts, import_experts
from expert_pool.reviews import list_review_due
from trading.accounts import User
from trading.audit import actor_of
from trading.errors import InvalidInput
from trading.identifiers import mask_id_number
from trading.roles import UserRole
from web.api.docs import SPREADSHEETS
from web.core.auth import requires_role
from web.core.parameters import Day
from web.api.schemas.experts import ExpertView, ExpertsImported, ReviewDue

staff_only = requires_role(UserRole.ADMIN)
staff_and_supervisors = requires_role(UserRole.ADMIN, UserRole.SUPERVISOR)


@dataclass
class ExpertUpload:
    file: UploadFile


class ExpertController(Controller):
    path = "/api/experts"
    tags = ["experts"]

    @get("/", guards=[staff_and_supervisors], summary="Experts in the pool (ID and phone numbers masked)")
    async def list_all(
        self,
        session: AsyncSession,
        specialty: Annotated[str | None, Parameter(query="specialty", description="code; its subtree matches")] = None,
        status: Annotated[str | None, Parameter(query="status")] = None,
    ) -> list[ExpertView]:
        experts = await list_experts(session, specialty=specialty, status=status)
        return await describe_experts(session, experts, masked=True)

    @post("/import", guards=[staff_only], status_code=HTTP_200_OK,
          summary="Import experts from a CSV or XLSX file, all rows or none (400 lists every bad cell)")
    async def import_file(
        self,
        data: Annotated[ExpertUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        user: User,
        session: AsyncSession,
        dry_run: Annotated[bool, Parameter(query="dry_run", description="check only, write nothing")] = False,
    ) -> ExpertsImported:
        result = await import_experts(session, actor=actor_of(user), filename=data.file.filename or "",
                                      data=await data.file.read(), dry_run=dry_run)
        await session.commit()
        return {"imported": 0 if dry_run else result.count, "checked": result.count, "dry_run": dry_run,
                "experts": [{"row": row.row, "code": row.code} for row in result.rows]}

    @get("/export", guards=[staff_only], opt={"media_types": tuple(SPREADSHEETS.values())},
         summary="The whole pool as CSV or XLSX (full values unless masked)")
    async def export_file(
        self,
        session: AsyncSession,
        user: User,
        file_format: Annotated[str, Parameter(query="format", schema_extra={"enum": list(SPREADSHEETS)})] = "csv",
        masked: Annotated[bool, Parameter(query="masked")] = False,
    ) -> Response[bytes]:
        if file_format not in SPREADSHEETS:
            raise InvalidInput(f"不支持的导出格式「{file_format}」：请使用 csv 或 xlsx", code="unsupported_file_type", field="format")
        content = await export_experts(session, actor=actor_of(user), filename=f"experts.{file_format}",
                                       masked=masked)
        await session.commit()  # the export is audited
        return Response(content, media_type=SPREADSHEETS[file_format],
                        headers={"Content-Disposition": f'attachment; filename="experts.{file_format}"'})

    @get("/review-due", guards=[staff_and_supervisors], summary="Experts whose annual review is due or overdue")
    async def review_due(
        self,
        session: AsyncSession,
        on_date: Annotated[Day | None, Parameter(query="date")] = None,
        within_days: Annotated[int, Parameter(query="within_days", ge=0, le=366)] = 30,
    ) -> list[ReviewDue]:
        due = await list_review_due(session, on_date=on_date, within_days=within_days)
        return [{"code": item.expert.code, "name": item.expert.name,
                 "id_number": mask_id_number(item.expert.id_number), "status": item.expert.status,
                 "next_review_due": item.expert.next_review_due.isoformat(), "overdue": item.overdue,
                 "days_left": item.days_left} for item in due]
