"""A tendering party registers only its own projects (进场登记); the center and agencies register
for any tendering party. One rule in bidding.tender.party_projects, asked by the API and the
party's registration page alike."""

from __future__ import annotations

import pytest

from bidding.tender.party_projects import registering_party
from tests import factories
from trading.errors import InvalidInput, PermissionDenied
from trading.roles import UserRole


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
