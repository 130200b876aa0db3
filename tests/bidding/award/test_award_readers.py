"""Who reads what the award stage keeps (bidding.award.readers), asked by the API: objections
and complaints in full for the center, supervisors and the project's own parties, a bidder its
own only; the award notice's PDF for the center, supervisors, the project's parties and the
winner, nobody else."""

from __future__ import annotations

import itertools

import pytest

from bidding.award.award_notice import AwardNotice
from bidding.award.readers import check_notice_reader, reading_scope
from bidding.tender.projects import register_project
from tests.common import factories
from trading.errors import NotAuthenticated, PermissionDenied
from trading.roles import UserRole

_codes = itertools.count(1)


async def _project_of(session, party_user):
    return await register_project(session, actor="test", code=f"JN-2026-GC-R{next(_codes):04d}",
                                  title="济宁市测试道路工程", category="construction", method="open_tender",
                                  region_code="370800", tendering_party_id=party_user.organisation_id,
                                  estimate_fen=86_500_000_00)


async def test_objections_and_complaints_are_read_in_full_or_a_bidder_its_own(demo, session):
    party = await factories.user(session, UserRole.TENDERING_PARTY)
    project = await _project_of(session, party)
    bidder, supervisor = await factories.user(session, UserRole.BIDDER), await factories.user(session, UserRole.SUPERVISOR)
    other_party = await factories.user(session, UserRole.TENDERING_PARTY)

    assert await reading_scope(session, project.code, supervisor) is None
    assert await reading_scope(session, project.code, party) is None
    assert await reading_scope(session, project.code, bidder) == bidder.organisation_id
    with pytest.raises(NotAuthenticated):
        await reading_scope(session, project.code, None)
    with pytest.raises(PermissionDenied) as refused:
        await reading_scope(session, project.code, other_party)
    assert refused.value.message == f"只有项目 {project.code} 的招标人、其代理机构或交易中心可以办理此事项"
    with pytest.raises(PermissionDenied) as expert:
        await reading_scope(session, project.code, await factories.user(session, UserRole.EXPERT))
    assert expert.value.message == "您的角色无权查看"


async def test_the_award_notice_pdf_is_for_the_center_the_parties_and_the_winner(demo, session):
    party = await factories.user(session, UserRole.TENDERING_PARTY)
    project = await _project_of(session, party)
    winner, loser = await factories.user(session, UserRole.BIDDER), await factories.user(session, UserRole.BIDDER)
    notice = AwardNotice(project_id=project.id, organisation_id=winner.organisation_id)
    for reader in (party, winner, await factories.user(session, UserRole.ADMIN),
                   await factories.user(session, UserRole.SUPERVISOR)):
        await check_notice_reader(session, notice, reader)
    for reader in (loser, await factories.user(session, UserRole.TENDERING_PARTY)):
        with pytest.raises(PermissionDenied) as refused:
            await check_notice_reader(session, notice, reader)
        assert refused.value.message == "只有交易中心、监督人员、招标人及其代理机构和中标人可以下载中标通知书"
    with pytest.raises(NotAuthenticated):
        await check_notice_reader(session, notice, None)
