"""Who sees a project's evaluation (bidding.evaluation.readers.evaluation_for), asked by the API
and the party's result page: the project's own tendering party sees it as the party, another
project's party (or agency, or a role with no part in it) is refused before anything is read."""

from __future__ import annotations

import itertools

import pytest

from bidding.evaluation.readers import evaluation_for
from bidding.tender.projects import register_project
from tests.common import factories
from trading.errors import NotFound, PermissionDenied
from trading.roles import UserRole

_codes = itertools.count(1)


async def test_a_party_sees_its_own_projects_evaluation_and_no_other(demo, session):
    party = await factories.user(session, UserRole.TENDERING_PARTY)
    project = await register_project(session, actor="test", code=f"JN-2026-GC-E{next(_codes):04d}",
                                     title="济宁市测试道路工程", category="construction", method="open_tender",
                                     region_code="370800", tendering_party_id=party.organisation_id,
                                     estimate_fen=86_500_000_00)
    with pytest.raises(NotFound) as not_yet:  # its own project: past the refusal, to the evaluation itself
        await evaluation_for(session, project.code, party)
    assert not_yet.value.code == "evaluation_not_started"
    for stranger in (await factories.user(session, UserRole.TENDERING_PARTY), await factories.user(session, UserRole.AGENCY),
                     await factories.user(session, UserRole.FINANCE)):
        with pytest.raises(PermissionDenied) as refused:
            await evaluation_for(session, project.code, stranger)
        assert refused.value.message == "您无权查看本项目的评标情况"
