"""The agency pool over HTTP: the public list, and import/export for the center's administrators."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from agency_pool.exports import export_agencies
from agency_pool.imports import import_agencies
from agency_pool.listing import AgencyListing, list_agencies
from trading.accounts import User
from trading.audit import actor_of
from trading.roles import UserRole
from web.api.docs import SPREADSHEETS
from web.core.auth import requires_role
from web.api.schemas.pools import AgenciesImported, AgencyListed


@dataclass
class AgencyUpload:
    file: UploadFile


def describe_listing(agency: AgencyListing) -> AgencyListed:
    return {"code": agency.code, "name": agency.name, "qualification_level": agency.qualification_level,
            "categories": agency.categories, "category_names": agency.category_names,
            "city": agency.city, "city_name": agency.city_name,
            "status": agency.status, "status_name": agency.status_name,
            "rating_average": agency.rating_average, "rating_count": agency.rating_count}


class AgencyController(Controller):
    path = "/api/agencies"
    tags = ["agencies"]

    @get("/", summary="The agency pool with each agency's recent rating average (public)")
    async def list_all(self, session: AsyncSession) -> list[AgencyListed]:
        return [describe_listing(agency) for agency in await list_agencies(session)]

    @post("/import", guards=[requires_role(UserRole.ADMIN)],
          summary="Import agencies from a CSV or XLSX file, all rows or none (400 lists every bad cell)")
    async def import_file(
        self,
        data: Annotated[AgencyUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        user: User,
        session: AsyncSession,
        dry_run: Annotated[bool, Parameter(query="dry_run", description="check only, write nothing")] = False,
    ) -> AgenciesImported:
        summary = await import_agencies(session, actor=actor_of(user), filename=data.file.filename or "",
                                        data=await data.file.read(), dry_run=dry_run)
        await session.commit()
        return summary.as_dict()

    @get("/export", guards=[requires_role(UserRole.ADMIN)], opt={"media_types": tuple(SPREADSHEETS.values())},
         summary="The whole pool as CSV or XLSX")
    async def export_file(
        self, session: AsyncSession, file_format: Annotated[str, Parameter(query="format", schema_extra={"enum": list(SPREADSHEETS)})] = "csv"
    ) -> Response[bytes]:
        content = await export_agencies(session, file_format=file_format)
        return Response(content, media_type=SPREADSHEETS[file_format],
                        headers={"Content-Disposition": f'attachment; filename="agencies.{file_format}"'})
