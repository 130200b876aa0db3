"""好差评 of the center's service steps: only those a step served rate it, once, after it was
served; a poor rating says why; the center sees the summary per step."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from bidding.ratings.service import rate_service_step, service_rating_summary, steps_to_rate
from cli.demo import load_demo_data
from tests.common import award_world, factories
from tests.common.portal import csrf_token_from, log_in
from trading.accounts import User, create_user
from trading.audit import AuditEntry
from trading.database import make_sessionmaker, transaction
from trading.errors import Conflict, InvalidInput, PermissionDenied
from trading.keys import load_center_keys
from trading.organisations import Organisation
from trading.roles import UserRole
from web.app import create_app


async def user_of(session, organisation: Organisation, role: UserRole) -> User:
    return await create_user(session, actor="test", username=f"u{organisation.credit_code[-8:].lower()}{role.value[:3]}",
                             display_name="测试用户", role=role.value, password=factories.PASSWORD,
                             organisation_id=organisation.id)


async def test_each_step_is_rated_once_by_those_it_served_after_it_was_served(session, keys):
    tender = await award_world.tender_in_evaluation(session, keys, [100_000_00, 101_000_00, 102_000_00])
    party = await session.get(Organisation, tender.project.tendering_party_id)
    tenderer = await user_of(session, party, UserRole.TENDERING_PARTY)
    bidder = await user_of(session, tender.bidders[0], UserRole.BIDDER)
    stranger = await factories.user(session, UserRole.BIDDER)

    # In evaluation: the opening has been served, the award notice not yet.
    assert [s["code"] for s in await steps_to_rate(session, tender.code, tenderer)] == \
        ["project_registration", "announcement", "opening"]
    assert [s["code"] for s in await steps_to_rate(session, tender.code, bidder)] == \
        ["bidder_registration", "deposit", "opening"]
    with pytest.raises(PermissionDenied):
        await steps_to_rate(session, tender.code, stranger)

    await rate_service_step(session, user=bidder, project_code=tender.code, step="opening", grade="good")
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "service.rated")
                                 .order_by(AuditEntry.seq.desc()).limit(1))
    assert entry.data == {"step": "opening", "grade": "good", "comment": ""}
    with pytest.raises(Conflict, match="已评价过"):
        await rate_service_step(session, user=bidder, project_code=tender.code, step="opening", grade="poor",
                                comment="再评一次")
    with pytest.raises(PermissionDenied, match="未为您提供服务"):  # a bidder does not register projects
        await rate_service_step(session, user=bidder, project_code=tender.code, step="project_registration",
                                grade="good")
    with pytest.raises(Conflict, match="尚未进行"):
        await rate_service_step(session, user=tenderer, project_code=tender.code, step="award_notice", grade="good")
    with pytest.raises(InvalidInput, match="差评请写明原因") as refused:
        await rate_service_step(session, user=tenderer, project_code=tender.code, step="opening", grade="poor")
    assert refused.value.details["field"] == "comment"
    await rate_service_step(session, user=tenderer, project_code=tender.code, step="opening", grade="poor",
                            comment="解密等待时间过长")

    [opening] = [s for s in await service_rating_summary(session) if s["code"] == "opening"]
    assert (opening["total"], opening["good"], opening["fair"], opening["poor"], opening["good_percent"]) == (2, 1, 0, 1, 50)
    assert opening["comments"] == [("差评", "解密等待时间过长")]


@pytest.fixture(scope="module")
async def client(settings, database_url, engine):
    async with transaction(make_sessionmaker(engine)) as session:
        await load_demo_data(session)
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def keys(settings, client):
    return load_center_keys(settings)  # the app's keys, made when it started


async def test_the_page_keeps_what_was_typed_and_the_center_sees_the_summary(client, engine, keys):
    async with transaction(make_sessionmaker(engine)) as session:
        tender = await award_world.tender_in_evaluation(session, keys, [100_000_00, 101_000_00, 102_000_00],
                                                        party_credit_code="12370800MB12345670")  # demo tenderer's
    assert (await log_in(client, "tenderer")).status_code in (302, 303)
    page = await client.get(f"/services/rate?project={tender.code}")
    assert page.status_code == 200 and "开标服务" in page.text and "投标报名" not in page.text
    token = await csrf_token_from(client, f"/services/rate?project={tender.code}")
    refused = await client.post("/services/rate", data={"project": tender.code, "step": "opening", "grade": "poor",
                                                        "comment": "", "_csrf_token": token})
    assert refused.status_code == 400 and "差评请写明原因" in refused.text
    assert 'value="poor" checked' in refused.text  # what was chosen stays chosen
    done = await client.post("/services/rate", data={"project": tender.code, "step": "opening", "grade": "good",
                                                     "comment": "开标顺利", "_csrf_token": token},
                             follow_redirects=False)
    assert done.status_code in (302, 303)
    assert "已评价：好评（开标顺利）" in (await client.get(f"/services/rate?project={tender.code}")).text
    assert (await client.get("/center/ratings/services")).status_code == 403  # the center's summary
    await client.post("/logout", data={"_csrf_token": token})
    client.cookies.clear()
    assert (await log_in(client, "admin")).status_code in (302, 303)
    summary = await client.get("/center/ratings/services")
    assert summary.status_code == 200 and "开标服务" in summary.text and "开标顺利" in summary.text
