"""Projects entering the center (进场登记), each pinned to a rule-set version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, String, func, select
from sqlmodel import Field, SQLModel
from sqlalchemy.ext.asyncio import AsyncSession

from trading.audit import record_event
from trading.codes import PROJECT_CODE
from trading.columns import created_at_column, money_column, timestamp_column
from trading.errors import Conflict, InvalidInput, NotFound
from trading.organisations import Organisation, Region
from trading.roles import OrgRole
from trading.rules.store import RuleSetRecord, TradingCategory, rule_set_in_force


class Project(SQLModel, table=True):
    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint("estimate_fen >= 0", name="projects_estimate_not_negative"),
        CheckConstraint("(state = 'suspended') = (suspended_from IS NOT NULL)", name="projects_suspended_remembers_state"),
        # Today's openings on the portal home (web/pages/public.py).
        Index("ix_projects_bid_deadline", "bid_deadline"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(40), nullable=False, unique=True))
    title: str = Field(sa_column=Column(String(300), nullable=False))
    category: str = Field(sa_column=Column(String(32), ForeignKey("trading_categories.code"), nullable=False, index=True))
    method: str = Field(sa_column=Column(String(32), nullable=False))
    region_code: str = Field(sa_column=Column(String(6), ForeignKey("regions.code"), nullable=False))
    tendering_party_id: int = Field(sa_column=Column(Integer, ForeignKey("organisations.id"), nullable=False))
    estimate_fen: int = Field(sa_column=money_column())
    rule_set_id: int = Field(sa_column=Column(Integer, ForeignKey("rule_sets.id"), nullable=False))
    state: str = Field(default="registered", sa_column=Column(String(32), nullable=False, server_default="registered"))
    registered_at: datetime = Field(sa_column=created_at_column())
    # The tender's life (bidding/tender/states.py): set only through bidding.tender.lifecycle.
    suspended_from: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    # When the current suspension began: a resume gives bidders the paused time back.
    suspended_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    documents_issued_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    bid_deadline: datetime | None = Field(default=None, sa_column=timestamp_column())
    publicity_started_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    # When the chronograph next acts on the tender (None: it waits for people).
    next_due_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True, index=True))
    # The failed or terminated project this one re-tenders (重新招标).
    retender_of_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("projects.id"), nullable=True))


async def register_project(
    session: AsyncSession,
    *,
    actor: str,
    code: str,
    title: str,
    category: str,
    method: str,
    region_code: str,
    tendering_party_id: int,
    estimate_fen: int,
    retender_of: Project | None = None,
) -> Project:
    """Register a project and pin the rule set in force today (database clock)."""
    if isinstance(estimate_fen, bool) or not isinstance(estimate_fen, int) or estimate_fen < 0:
        raise InvalidInput("估算价/预算金额应为不小于零的整数（单位：分）", code="invalid_estimate", field="estimate_fen")
    PROJECT_CODE.check(code)
    if not title.strip():
        raise InvalidInput("项目名称不能为空", code="title_required", field="title")
    if await session.get(TradingCategory, category) is None:
        raise InvalidInput(f"未知的交易类别「{category}」", code="unknown_category", field="category")
    if await session.get(Region, region_code) is None:
        raise InvalidInput(f"未知的行政区划代码「{region_code}」", code="unknown_region", field="region_code")
    party = await session.get(Organisation, tendering_party_id)
    if party is None or OrgRole.TENDERING_PARTY.value not in party.roles:
        raise InvalidInput("招标人须为已登记且具有招标人角色的单位", code="not_a_tendering_party", field="tendering_party_id")
    if await session.scalar(select(Project.id).where(Project.code == code)):
        raise Conflict(f"项目编号 {code} 已存在", code="project_code_taken", field="code")
    today = await session.scalar(select(func.current_date()))
    rule_set = await rule_set_in_force(session, category, method, today)
    project = Project(code=code, title=title.strip(), category=category, method=method, region_code=region_code,
                      tendering_party_id=tendering_party_id, estimate_fen=estimate_fen, rule_set_id=rule_set.id,
                      retender_of_id=retender_of.id if retender_of else None)
    session.add(project)
    await session.flush()
    await record_event(session, actor=actor, action="project.registered", subject=f"project:{code}",
                       data={"title": project.title, "category": category, "method": method,
                             "estimate_fen": estimate_fen, "rule_set": f"{rule_set.code}@{rule_set.version}",
                             "retender_of": retender_of.code if retender_of else None})
    return project


async def retender_project(session: AsyncSession, *, actor: str, project_code: str, new_code: str) -> Project:
    """Register the re-tender (重新招标) of a failed or terminated project: same party,
    category, method and estimate, under the rule set in force today; linked both ways."""
    old = await get_project(session, project_code, lock=True)
    if old.state not in ("failed", "terminated"):
        raise Conflict(f"项目 {project_code} 未流标或终止，不能重新招标", code="state_conflict", project=project_code,
                       state=old.state)
    again = await session.scalar(select(Project.code).where(Project.retender_of_id == old.id))
    if again is not None:
        raise Conflict(f"项目 {project_code} 已重新招标，新项目编号 {again}",
                       code="already_retendered", project=project_code, retender=again)
    title = old.title if old.title.endswith("（重新招标）") else f"{old.title}（重新招标）"
    return await register_project(session, actor=actor, code=new_code, title=title, category=old.category,
                                  method=old.method, region_code=old.region_code,
                                  tendering_party_id=old.tendering_party_id, estimate_fen=old.estimate_fen,
                                  retender_of=old)


async def get_project(session: AsyncSession, code: str, *, lock: bool = False) -> Project:
    """The project with ``code``; ``lock`` takes its row FOR UPDATE and reads it as locked
    (every step that must not race a deadline or another step locks it)."""
    query = select(Project).where(Project.code == code)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    project = await session.scalar(query)
    if project is None:
        raise NotFound(f"未找到项目 {code}", project_code=code)
    return project


async def project_by_code(session: AsyncSession, code: str) -> tuple[Project, Organisation, RuleSetRecord]:
    """The project with its tendering party and pinned rule set, in one query."""
    row = (await session.execute(
        select(Project, Organisation, RuleSetRecord)
        .join(Organisation, Organisation.id == Project.tendering_party_id)
        .join(RuleSetRecord, RuleSetRecord.id == Project.rule_set_id)
        .where(Project.code == code)
    )).first()
    if row is None:
        raise NotFound(f"未找到项目 {code}", project_code=code)
    return row[0], row[1], row[2]


async def recent_projects(session: AsyncSession, *, state: str | None = None, limit: int = 200) -> list[Project]:
    """The newest projects (in ``state`` when given), newest first."""
    query = select(Project).order_by(Project.id.desc()).limit(limit)
    if state:
        query = query.where(Project.state == state)
    return list((await session.scalars(query)).all())
