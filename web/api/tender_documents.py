"""Tender documents (招标文件) over the API: versions listed for everyone, fetched by any
user logged in to the platform (电子招标投标办法 第二十五条: no registration for the project
may be required), published by the project's tendering party, its agency or the center
(version 1 with the tender announcement, later ones as changes)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.notice.announce import publish_documents
from bidding.tender.party_projects import check_acts_for
from bidding.tender.projects import get_project
from bidding.notice.documents import MAX_DOCUMENT_SIZE, DocumentFile, document_version, document_versions
from trading.accounts import User
from trading.audit import actor_of
from trading.errors import InvalidInput
from trading.roles import UserRole
from web.core.auth import requires_login, requires_role
from web.core.files import attachment
from web.core.parameters import RowId
from web.api.schemas.notice import DocumentsUpload, DocumentVersion

# The file limit plus room for the other fields and the multipart framing.
MAX_REQUEST_SIZE = MAX_DOCUMENT_SIZE + 1024 * 1024


class TenderDocumentController(Controller):
    path = "/api/projects/{code:str}/documents"
    tags = ["bidding"]

    @get("/", summary="Versions of the tender documents: number, SHA-256, size, published_at, announcement (public)")
    async def versions(self, code: str, session: AsyncSession) -> list[DocumentVersion]:
        return await document_versions(session, code)

    @get("/current", guards=[requires_login], summary="The current version's file (any logged-in user)")
    async def current(self, code: str, session: AsyncSession) -> Response[bytes]:
        return self._file(await document_version(session, code))

    @get("/{number:int}", guards=[requires_login], summary="One version's file (any logged-in user)")
    async def fetch(self, code: str, number: RowId, session: AsyncSession) -> Response[bytes]:
        return self._file(await document_version(session, code, number))

    @staticmethod
    def _file(version) -> Response[bytes]:
        return Response(version.content, media_type=version.media_type,
                        headers={"Content-Disposition": attachment(version.filename),
                                 "X-Content-SHA256": version.sha256, "X-Document-Version": str(version.number)})

    @post("/", guards=[requires_role(UserRole.TENDERING_PARTY, UserRole.AGENCY, UserRole.ADMIN)],
          request_max_body_size=MAX_REQUEST_SIZE,
          summary="Publish a version (multipart: file, title, body): version 1 with the tender announcement, "
                  "later ones as a change (the deadline moves when the rules ask)",
          body=Annotated[DocumentsUpload, Body(media_type=RequestEncodingType.MULTI_PART)])
    async def publish(self, code: str, request: Request, user: User, session: AsyncSession) -> DocumentVersion:
        await check_acts_for(session, await get_project(session, code), user.role, user.organisation_id, "发布招标文件")
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("请以 multipart/form-data 提交招标文件：file（文件）、title（公告标题）、body（说明）", code="invalid_upload",
                               field="file")
        title, body = form.get("title"), form.get("body")
        document = DocumentFile(filename=upload.filename or "", content=await upload.read(),
                                media_type=upload.content_type or "application/octet-stream")
        version = await publish_documents(session, actor=actor_of(user), project_code=code, document=document,
                                          title=title if isinstance(title, str) else None,
                                          body=body if isinstance(body, str) else "")
        await session.commit()
        listed = await document_versions(session, code)
        return next(item for item in listed if item["number"] == version.number)
