"""Tender documents (招标文件) and their versions (统一信息发布).

Version 1 goes out with the tender announcement (:func:`bidding.notice.announce.announce_tender`
or :func:`bidding.notice.announce.publish_documents`); every change (变更/澄清) that replaces the
file publishes the next version with its "change" announcement
(:func:`bidding.notice.clarifications.publish_clarification`). A version is never replaced: each
row keeps its number, SHA-256, size, the database clock at publication and the
announcement it went out with.

Storage: the bytes are a ``bytea`` column, like sealed bids (:mod:`bidding.bids.submission`). A
version exists exactly when its announcement committed (one transaction, no orphan file
after a rollback, no announced version without its bytes); database backups and replicas
carry it; and several app workers behind a load balancer see it without a shared
``var_dir``. Documents are tens of MiB at most (:data:`MAX_DOCUMENT_SIZE`), well inside
bytea's 1 GiB; listings select the columns without the bytes.

Who may fetch (电子招标投标办法 第二十五条: no registration for the project, 报名, may be
required to download the documents; only registration on the platform): the list of
versions is public once the tender is announced; the bytes go to every logged-in user of
the platform once the documents are issued (``projects.documents_issued_at``). Who
downloaded is not recorded or shown (same 办法 第二十六条 forbids disclosing it).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from bidding.notice.announcements import Announcement
from bidding.tender.projects import Project, get_project
from bidding.tender.states import TenderState
from trading.audit import record_event
from trading.columns import timestamp_column
from trading.database import database_now
from trading.errors import Conflict, InvalidInput, NotFound

MAX_DOCUMENT_SIZE = 100 * 1024 * 1024
MAX_FILENAME_CHARS = 200
_UNSAFE_FILENAME = re.compile(r"[\x00-\x1f/\\]")


class TenderDocumentVersion(SQLModel, table=True):
    __tablename__ = "tender_document_versions"
    __table_args__ = (
        UniqueConstraint("project_id", "number", name="tender_document_versions_number_unique"),
        CheckConstraint("number >= 1", name="tender_document_versions_number_positive"),
        CheckConstraint("size = octet_length(content)", name="tender_document_versions_size_is_length"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(sa_column=Column(Integer, ForeignKey("projects.id"), nullable=False, index=True))
    number: int = Field(sa_column=Column(Integer, nullable=False))
    filename: str = Field(sa_column=Column(String(MAX_FILENAME_CHARS), nullable=False))
    media_type: str = Field(sa_column=Column(String(100), nullable=False))
    sha256: str = Field(sa_column=Column(String(64), nullable=False))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    published_by: str = Field(sa_column=Column(String(200), nullable=False))
    # The database clock at publication.
    published_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    announcement_id: int = Field(sa_column=Column(Integer, ForeignKey("announcements.id"), nullable=False))
    # Set when the version went out with a clarification/change (version 2 onwards).
    clarification_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("clarifications.id"),
                                                                        nullable=True))


@dataclass(frozen=True)
class DocumentFile:
    """A tender documents file as uploaded."""

    filename: str
    content: bytes
    media_type: str = "application/octet-stream"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def checked_document(document: DocumentFile) -> DocumentFile:
    """The file with a safe name, refused when empty or too large."""
    if not isinstance(document.content, (bytes, bytearray, memoryview)):
        raise InvalidInput("招标文件内容必须是字节串", code="document_not_bytes", field="file")
    content = bytes(document.content)
    if not content:
        raise InvalidInput("招标文件不能为空文件", code="document_empty", field="file")
    if len(content) > MAX_DOCUMENT_SIZE:
        raise InvalidInput(f"招标文件超过 {MAX_DOCUMENT_SIZE // (1024 * 1024)} MiB", code="document_too_large", field="file")
    name = _UNSAFE_FILENAME.sub("_", (document.filename or "").strip()).strip(". ")
    if not name:
        raise InvalidInput("招标文件须有文件名", code="document_name_required", field="file")
    if len(name) > MAX_FILENAME_CHARS:
        raise InvalidInput(f"招标文件名不能超过 {MAX_FILENAME_CHARS} 字", code="document_name_too_long", field="file")
    media_type = (document.media_type or "application/octet-stream").strip()[:100]
    return DocumentFile(filename=name, content=content, media_type=media_type)


async def latest_version_number(session: AsyncSession, project: Project) -> int:
    """0 when no version is published yet."""
    return await session.scalar(select(func.coalesce(func.max(TenderDocumentVersion.number), 0))
                                .where(TenderDocumentVersion.project_id == project.id))


async def add_document_version(session: AsyncSession, *, actor: str, project: Project, announcement: Announcement,
                               document: DocumentFile, clarification_id: int | None = None) -> TenderDocumentVersion:
    """Store the next version of the project's documents with the announcement it goes out
    with; the caller holds the project row locked (numbers without gaps or duplicates)."""
    document = checked_document(document)
    now = await database_now(session)
    number = await latest_version_number(session, project) + 1
    version = TenderDocumentVersion(project_id=project.id, number=number, filename=document.filename,
                                    media_type=document.media_type, sha256=document.sha256,
                                    size=len(document.content), content=document.content, published_by=actor,
                                    published_at=now, announcement_id=announcement.id,
                                    clarification_id=clarification_id)
    session.add(version)
    await session.flush()
    await record_event(session, actor=actor, action="tender_documents.published", subject=f"project:{project.code}",
                       data={"version": number, "filename": version.filename, "sha256": version.sha256,
                             "size": version.size, "announcement_id": announcement.id,
                             "clarification_id": clarification_id, "published_at": now.isoformat()})
    return version


_LISTED = (TenderDocumentVersion.number, TenderDocumentVersion.filename, TenderDocumentVersion.media_type,
           TenderDocumentVersion.sha256, TenderDocumentVersion.size, TenderDocumentVersion.published_at,
           TenderDocumentVersion.announcement_id, TenderDocumentVersion.clarification_id)


async def document_versions(session: AsyncSession, project_code: str) -> list[dict[str, Any]]:
    """Every version of the project's documents, oldest first, without the bytes (public)."""
    project = await get_project(session, project_code)
    rows = (await session.execute(
        select(*_LISTED, Announcement.kind, Announcement.title)
        .join(Announcement, Announcement.id == TenderDocumentVersion.announcement_id)
        .where(TenderDocumentVersion.project_id == project.id).order_by(TenderDocumentVersion.number))).all()
    latest = rows[-1].number if rows else None
    return [{"number": row.number, "filename": row.filename, "media_type": row.media_type, "sha256": row.sha256,
             "size": row.size, "published_at": row.published_at.isoformat(),
             "announcement": {"id": row.announcement_id, "kind": row.kind, "title": row.title},
             "clarification_id": row.clarification_id, "current": row.number == latest} for row in rows]


async def document_version(session: AsyncSession, project_code: str, number: int | None = None
                           ) -> TenderDocumentVersion:
    """One version with its bytes (None: the current one), once the documents are issued."""
    project = await get_project(session, project_code)
    if project.state == TenderState.REGISTERED or project.documents_issued_at is None:
        raise Conflict(f"项目 {project.code} 尚未发布招标公告，没有可获取的招标文件", code="documents_not_issued",
                       project=project.code)
    now = await database_now(session)
    if now < project.documents_issued_at:
        raise Conflict(f"项目 {project.code} 的招标文件自 {project.documents_issued_at.isoformat()} 起发出",
                       code="documents_not_issued", project=project.code,
                       documents_issued_at=project.documents_issued_at.isoformat())
    query = select(TenderDocumentVersion).where(TenderDocumentVersion.project_id == project.id)
    if number is None:
        query = query.order_by(TenderDocumentVersion.number.desc()).limit(1)
    else:
        query = query.where(TenderDocumentVersion.number == number)
    version = await session.scalar(query)
    if version is None:
        raise NotFound(f"项目 {project.code} 没有第 {number} 版招标文件" if number else f"项目 {project.code} 尚无招标文件",
                       project=project.code, version=number)
    return version
