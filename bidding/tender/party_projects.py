"""The projects a tendering party or an agency acts for, and how the party means to run
each tender: with an agency drawn from the pool by the center (统一中介机构抽取), or itself
(自行招标, 招标投标法 第十二条) — the choice made at registration (进场登记).

The choice is an audited fact of the project (``project.agency_mode``); the agency itself
comes only from the center's sealed draw (:mod:`bidding.draws.project_draws`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agency_pool.agencies import Agency
from agency_pool.draws import agency_assignment
from bidding.tender.projects import Project
from trading.audit import AuditEntry, record_event
from trading.draws import REVEALED, Draw
from trading.errors import InvalidInput, NotFound, PermissionDenied
from trading.events import publish_event
from trading.organisations import Organisation
from trading.roles import OrgRole, UserRole

DRAW, SELF = "draw", "self"
AGENCY_MODES = {DRAW: "由交易中心从代理机构库抽取招标代理机构", SELF: "招标人自行招标（招标投标法 第十二条）"}
MODE_ACTION = "project.agency_mode"


PARTY_ROLES = frozenset({UserRole.TENDERING_PARTY.value, UserRole.AGENCY.value})


async def acts_for(session: AsyncSession, project: Project, role: str | None, organisation_id: int | None) -> bool:
    """Whether someone acts for the project: the center, the project's tendering party, or the agency serving it."""
    if role == UserRole.ADMIN.value:
        return True
    if organisation_id is None:
        return False
    if role == UserRole.TENDERING_PARTY.value:
        return organisation_id == project.tendering_party_id
    if role == UserRole.AGENCY.value:
        try:
            assignment = await agency_assignment(session, project.code)
        except NotFound:
            return False
        return assignment.agency is not None and assignment.agency.organisation_id == organisation_id
    return False


async def check_acts_for(session: AsyncSession, project: Project, role: str | None, organisation_id: int | None,
                         doing: str | None = None) -> Project:
    """The project, when the person acts for it (:func:`acts_for`); refused naming ``doing`` otherwise."""
    if not await acts_for(session, project, role, organisation_id):
        if doing is None:
            raise PermissionDenied(f"项目 {project.code} 不是本单位招标或代理的项目，无权查看或办理", code="not_project_party",
                                   project=project.code)
        raise PermissionDenied(f"只有项目 {project.code} 的招标人、其代理机构或交易中心可以{doing}", code="not_project_party",
                               project=project.code)
    return project


async def viewer_role(session: AsyncSession, project: Project, role: str | None,
                      organisation_id: int | None) -> str | None:
    """The role a reader sees the project's questions and objections as: a tendering party or
    agency of another project sees what the public sees (None)."""
    if role in PARTY_ROLES and not await acts_for(session, project, role, organisation_id):
        return None
    return role


def check_party_owns(party: Organisation, role: str, organisation_id: int | None) -> None:
    """A tendering party registers only its own projects; the center and agencies register for any party."""
    if role == UserRole.TENDERING_PARTY.value and organisation_id != party.id:
        raise PermissionDenied("招标人只能为本单位登记项目", code="not_own_party",
                               field="tendering_party_credit_code")


async def registrable_parties(session: AsyncSession, role: str, organisation_id: int | None) -> list[Organisation]:
    """The tendering parties a user in ``role`` may register a project for, by name (a party: itself only)."""
    query = select(Organisation).where(Organisation.roles.contains([OrgRole.TENDERING_PARTY.value]))
    if role == UserRole.TENDERING_PARTY.value:
        query = query.where(Organisation.id == organisation_id)
    return list((await session.scalars(query.order_by(Organisation.name))).all())


async def registering_party(session: AsyncSession, credit_code: str, *, role: str,
                            organisation_id: int | None) -> Organisation:
    """The tendering party a user in ``role`` may register a project for, by its credit code."""
    party = await session.scalar(select(Organisation).where(Organisation.credit_code == credit_code))
    if party is None:
        raise InvalidInput(f"未找到招标人 {credit_code}", code="unknown_tendering_party", field="tendering_party_credit_code")
    check_party_owns(party, role, organisation_id)
    return party


async def choose_agency_mode(session: AsyncSession, *, actor: str, project: Project, mode: str) -> None:
    """Record how the tender is to be run; ``draw`` asks the center for an agency draw."""
    if mode not in AGENCY_MODES:
        raise InvalidInput("请选择代理方式：抽取代理机构或自行招标", code="agency_mode_required", field="agency_mode")
    await record_event(session, actor=actor, action=MODE_ACTION, subject=f"project:{project.code}",
                       data={"mode": mode, "mode_name": AGENCY_MODES[mode]})
    await publish_event(session, f"project:{project.code}", MODE_ACTION, {"mode": mode})


async def agency_mode_of(session: AsyncSession, project_code: str) -> str | None:
    """The latest recorded choice, or None (registered before the choice was asked)."""
    entry = await session.scalar(select(AuditEntry).where(
        AuditEntry.subject == f"project:{project_code}", AuditEntry.action == MODE_ACTION)
        .order_by(AuditEntry.seq.desc()).limit(1))
    return entry.data.get("mode") if entry is not None else None


async def projects_served_by_agency(session: AsyncSession, organisation_id: int) -> list[Project]:
    """Projects whose current agency (drawn, not declined) is the organisation's."""
    own = set((await session.scalars(select(Agency.code).where(Agency.organisation_id == organisation_id))).all())
    if not own:
        return []
    codes = (await session.scalars(select(Draw.project_code).where(Draw.purpose == "agency", Draw.status == REVEALED)
                                   .distinct())).all()
    served = []
    for code in codes:
        assignment = await agency_assignment(session, code)
        if assignment.agency is not None and assignment.agency.code in own:
            served.append(code)
    if not served:
        return []
    return list((await session.scalars(select(Project).where(Project.code.in_(served))
                                       .order_by(Project.id.desc()))).all())


async def projects_of(session: AsyncSession, role: str, organisation_id: int | None) -> list[Project]:
    """The projects a tendering party (its own) or an agency (those it serves) acts for, newest first."""
    if organisation_id is None:
        return []
    if role == UserRole.TENDERING_PARTY.value:
        return list((await session.scalars(select(Project).where(Project.tendering_party_id == organisation_id)
                                           .order_by(Project.id.desc()))).all())
    if role == UserRole.AGENCY.value:
        return await projects_served_by_agency(session, organisation_id)
    return []
