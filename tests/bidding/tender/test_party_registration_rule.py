"""The parties' rules in bidding.tender.party_projects, asked by the API and the pages alike: a
tendering party registers only its own projects (进场登记), the center and agencies for any
party; only the center, the project's tendering party and the agency serving it act for a
project; another project's party reads its questions and objections as the public does."""

from __future__ import annotations

import itertools

import pytest

from bidding.tender.party_projects import acts_for, check_acts_for, registering_party, registrable_parties, viewer_role
from bidding.tender.projects import register_project
from tests.common import factories
from trading.errors import InvalidInput, PermissionDenied
from trading.roles import UserRole

_codes = itertools.count(1)


async def test_a_tendering_party_registers_for_itself_only(session):
    own = await factories.organisation(session, "tendering_party")
    other = await factories.organisation(session, "tendering_party")
    assert (await registering_party(session, own.credit_code, role=UserRole.TENDERING_PARTY.value,
                                    organisation_id=own.id)).id == own.id
    with pytest.raises(PermissionDenied) as refused:
        await registering_party(session, other.credit_code, role=UserRole.TENDERING_PARTY.value,
                                organisation_id=own.id)
    assert (refused.value.code, refused.value.message) == ("not_own_party", "招标人只能为本单位登记项目")
    assert refused.value.details["field"] == "tendering_party_credit_code"


@pytest.mark.parametrize("role", [UserRole.ADMIN, UserRole.AGENCY])
async def test_the_center_and_agencies_register_for_any_party(session, role):
    party = await factories.organisation(session, "tendering_party")
    somebody = await factories.organisation(session, "agency")
    assert (await registering_party(session, party.credit_code, role=role.value,
                                    organisation_id=somebody.id)).id == party.id


async def test_an_unknown_party_is_named_in_the_refusal(session):
    code = factories.credit_code()
    with pytest.raises(InvalidInput) as refused:
        await registering_party(session, code, role=UserRole.ADMIN.value, organisation_id=None)
    assert refused.value.message == f"未找到招标人 {code}"


# --------------------------------------------------------------------------- acting for a project

async def _project(session):
    party = await factories.organisation(session, "tendering_party")
    project = await register_project(session, actor="test", code=f"JN-2026-GC-P{next(_codes):04d}",
                                     title="济宁市测试道路工程", category="construction", method="open_tender",
                                     region_code="370800", tendering_party_id=party.id, estimate_fen=86_500_000_00)
    return project, party


async def test_only_the_center_and_the_projects_own_party_act_for_it(demo, session):
    project, party = await _project(session)
    other = await factories.organisation(session, "tendering_party")
    assert await acts_for(session, project, UserRole.ADMIN.value, None)
    assert await acts_for(session, project, UserRole.TENDERING_PARTY.value, party.id)
    assert not await acts_for(session, project, UserRole.TENDERING_PARTY.value, other.id)
    # An agency acts only once the center's draw names it; a bidder or supervisor never.
    for role in (UserRole.AGENCY, UserRole.BIDDER, UserRole.SUPERVISOR):
        assert not await acts_for(session, project, role.value, party.id)

    with pytest.raises(PermissionDenied) as api:
        await check_acts_for(session, project, UserRole.TENDERING_PARTY.value, other.id, "发布招标公告")
    assert api.value.message == f"只有项目 {project.code} 的招标人、其代理机构或交易中心可以发布招标公告"
    with pytest.raises(PermissionDenied) as page:
        await check_acts_for(session, project, UserRole.TENDERING_PARTY.value, other.id)
    assert page.value.message == f"项目 {project.code} 不是本单位招标或代理的项目，无权查看或办理"
    assert (api.value.code, page.value.code) == ("not_project_party", "not_project_party")


async def test_another_projects_party_reads_questions_as_the_public(demo, session):
    project, party = await _project(session)
    other = await factories.organisation(session, "tendering_party")
    party_role = UserRole.TENDERING_PARTY.value
    assert await viewer_role(session, project, party_role, party.id) == party_role
    assert await viewer_role(session, project, party_role, other.id) is None
    assert await viewer_role(session, project, UserRole.SUPERVISOR.value, None) == UserRole.SUPERVISOR.value
    assert await viewer_role(session, project, None, None) is None


async def test_the_registration_form_lists_a_party_only_itself(demo, session):
    own = await factories.organisation(session, "tendering_party")
    await factories.organisation(session, "tendering_party")
    assert [p.id for p in await registrable_parties(session, UserRole.TENDERING_PARTY.value, own.id)] == [own.id]
    listed = await registrable_parties(session, UserRole.AGENCY.value, None)
    assert own.id in [p.id for p in listed] and len(listed) > 1
