"""Organisations are registered under a valid unified social credit code, once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.common import factories
from trading.audit import AuditEntry
from trading.errors import Conflict, InvalidInput, NotFound
from trading.organisations import get_organisation, register_organisation


async def test_a_registered_organisation_is_found_by_its_code_and_audited(session):
    await factories.region(session)
    org = await register_organisation(session, actor="user:1:admin", credit_code=" 91370800ma3c5k8e74 ",
                                      name="山东青山招标代理有限公司", roles=["agency"], region_code="370800")
    assert org.credit_code == "91370800MA3C5K8E74"
    assert (await get_organisation(session, "91370800MA3C5K8E74")).id == org.id
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.subject == "organisation:91370800MA3C5K8E74"))
    assert entry.action == "organisation.registered" and entry.actor == "user:1:admin"


async def test_a_wrong_check_character_is_refused_saying_which_character(session):
    await factories.region(session)
    with pytest.raises(InvalidInput) as caught:
        await register_organisation(session, actor="test", credit_code="91370800MA3C5K8E75", name="某公司",
                                    roles=["bidder"], region_code="370800")
    assert "第18位" in caught.value.message and "4" in caught.value.message


@pytest.mark.parametrize(("changes", "message"), [
    ({"roles": ["king"]}, "未知的单位角色"),
    ({"roles": []}, "至少"),
    ({"name": " "}, "名称"),
    ({"region_code": "999999"}, "行政区划"),
])
async def test_bad_registrations_are_refused_in_chinese(session, changes, message):
    await factories.region(session)
    values = {"credit_code": factories.credit_code(), "name": "某公司", "roles": ["bidder"], "region_code": "370800", **changes}
    with pytest.raises(InvalidInput, match=message):
        await register_organisation(session, actor="test", **values)


async def test_the_same_code_cannot_be_registered_twice(session):
    org = await factories.organisation(session, "bidder")
    with pytest.raises(Conflict, match="已登记"):
        await register_organisation(session, actor="test", credit_code=org.credit_code, name="另一家",
                                    roles=["bidder"], region_code="370800")


async def test_an_unknown_code_is_not_found(session):
    with pytest.raises(NotFound):
        await get_organisation(session, factories.credit_code())
