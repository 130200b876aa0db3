"""Announcements published through the platform (统一信息发布)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text, func, select
from sqlmodel import Field, SQLModel
from sqlalchemy.ext.asyncio import AsyncSession

from agency_pool.draws import agency_assignment
from bidding.tender.projects import Project
from trading.audit import record_event
from trading.columns import created_at_column
from trading.errors import InvalidInput, NotFound
from trading.organisations import Organisation

ANNOUNCEMENT_KINDS = {
    "tender": "招标公告",
    "change": "变更公告",
    "candidates": "中标候选人公示",
    "result": "中标结果公告",
    "contract": "合同公告",
}


# Kinds whose body names the parties of the result (candidates, winner, contract partner).
NAMING_KINDS = frozenset({"candidates", "result", "contract"})


class Announcement(SQLModel, table=True):
    __tablename__ = "announcements"
    __table_args__ = (
        # The portal's search (bidding/reading/listing.py): Chinese substrings of 3+ characters
        # through pg_trgm; the list walks (published_at, id) newest first.
        Index("ix_announcements_search_text_trgm", "search_text", postgresql_using="gin",
              postgresql_ops={"search_text": "gin_trgm_ops"}),
        Index("ix_announcements_published_at_id", "published_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(sa_column=Column(Integer, ForeignKey("projects.id"), nullable=False, index=True))
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    title: str = Field(sa_column=Column(String(300), nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    published_at: datetime = Field(sa_column=created_at_column())
    # What the public search looks in: the title, the project, its parties (announcement_search_text).
    search_text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


async def announcement_search_text(session: AsyncSession, project: Project, kind: str, title: str, body: str) -> str:
    """Title, project code and title, tendering party, serving agency; for result-type
    announcements the body too (it names the candidates or the winner). All of it is public."""
    party = await session.get(Organisation, project.tendering_party_id)
    parts = [title, project.code, project.title, party.name if party else ""]
    try:
        assignment = await agency_assignment(session, project.code)
    except NotFound:
        assignment = None
    if assignment is not None and assignment.agency is not None:
        parts.append(assignment.agency.name)
    if kind in NAMING_KINDS:
        parts.append(body)
    return "\n".join(part for part in parts if part)


async def publish_announcement(session: AsyncSession, *, actor: str, project: Project, kind: str, title: str, body: str) -> Announcement:
    if kind not in ANNOUNCEMENT_KINDS:
        raise InvalidInput(f"未知的公告类型「{kind}」", code="unknown_announcement_kind", field="kind")
    if not title.strip():
        raise InvalidInput("公告标题不能为空", code="title_required", field="title")
    announcement = Announcement(project_id=project.id, kind=kind, title=title.strip(), body=body,
                                search_text=await announcement_search_text(session, project, kind, title.strip(), body))
    session.add(announcement)
    await session.flush()
    await record_event(session, actor=actor, action="announcement.published", subject=f"project:{project.code}",
                       data={"announcement_id": announcement.id, "kind": kind, "title": announcement.title})
    return announcement


async def latest_announcements(session: AsyncSession, *, per_category: int = 5) -> dict[str, list[tuple[Announcement, Project]]]:
    """The newest announcements of each trading category, for the portal home."""
    newest_first = (Announcement.published_at.desc(), Announcement.id.desc())
    ranked = (
        select(Announcement.id, func.row_number().over(partition_by=Project.category, order_by=newest_first).label("rank"))
        .join(Project, Project.id == Announcement.project_id)
        .subquery()
    )
    rows = (await session.execute(
        select(Announcement, Project)
        .join(ranked, ranked.c.id == Announcement.id)
        .join(Project, Project.id == Announcement.project_id)
        .where(ranked.c.rank <= per_category)
        .order_by(*newest_first)
    )).all()
    grouped: dict[str, list[tuple[Announcement, Project]]] = {}
    for announcement, project in rows:
        grouped.setdefault(project.category, []).append((announcement, project))
    return grouped


async def latest_announcement(session: AsyncSession, project: Project, kind: str) -> Announcement | None:
    """The project's newest announcement of ``kind`` (e.g. the result announcement), None when there is none."""
    return await session.scalar(select(Announcement).where(
        Announcement.project_id == project.id, Announcement.kind == kind).order_by(Announcement.id.desc()).limit(1))
