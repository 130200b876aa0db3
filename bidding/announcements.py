"""Announcements published through the platform (统一信息发布)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, String, Text, func, select
from sqlmodel import Field, SQLModel
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.projects import Project
from trading.audit import record_event
from trading.columns import created_at_column
from trading.errors import InvalidInput

ANNOUNCEMENT_KINDS = {
    "tender": "招标公告",
    "change": "变更公告",
    "candidates": "中标候选人公示",
    "result": "中标结果公告",
    "contract": "合同公告",
}


class Announcement(SQLModel, table=True):
    __tablename__ = "announcements"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(sa_column=Column(Integer, ForeignKey("projects.id"), nullable=False, index=True))
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    title: str = Field(sa_column=Column(String(300), nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    published_at: datetime = Field(sa_column=created_at_column())


async def publish_announcement(session: AsyncSession, *, actor: str, project: Project, kind: str, title: str, body: str) -> Announcement:
    if kind not in ANNOUNCEMENT_KINDS:
        raise InvalidInput(f"未知的公告类型「{kind}」", field="kind")
    if not title.strip():
        raise InvalidInput("公告标题不能为空", field="title")
    announcement = Announcement(project_id=project.id, kind=kind, title=title.strip(), body=body)
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
