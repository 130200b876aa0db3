"""The pools ask credit whom to exclude: a court-listed defaulter is not drawn as an expert,
and an agency restricted by a serious record is not in an agency draw's pool."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from agency_pool.eligibility import eligible_agencies
from credit.records import repair_record
from expert_pool.availability import available_expert_codes, available_experts
from tests.common import factories
from tests.common.credit_factories import credit_record

PARTY = factories.credit_code(9_100_001)
SESSION_START = datetime(2027, 3, 1, 1, 0, tzinfo=timezone.utc)


async def available(session) -> list[str]:
    experts = await available_experts(session, specialties=["A08"], window_start=SESSION_START,
                                      window_end=SESSION_START + timedelta(hours=4))
    return [expert.code for expert in experts]


async def test_a_court_listed_defaulter_is_not_available_as_an_expert(session):
    listed = await factories.expert(session, name="张三")
    clean = await factories.expert(session, name="李四")
    other_kind = await factories.expert(session, name="王五")
    before = await available(session)
    assert {listed.code, clean.code, other_kind.code} <= set(before)

    record = await credit_record(session, subject_type="person", subject_key=listed.id_number, name="张三",
                                 kind="失信被执行人", department="法院", days=None)
    # Only the defaulter kind bars an expert; other records of a person are for other decisions.
    await credit_record(session, subject_type="person", subject_key=other_kind.id_number, name="王五",
                        kind="行贿犯罪", department="法院", days=None)
    # An expired defaulter record no longer counts.
    await credit_record(session, subject_type="person", subject_key=clean.id_number, name="李四",
                        kind="失信被执行人", department="法院", days_ago=400, days=100)

    now_available = await available(session)
    assert listed.code not in now_available
    assert {clean.code, other_kind.code} <= set(now_available)
    codes = await available_expert_codes(session, specialties=["A08"], window_start=SESSION_START,
                                         window_end=SESSION_START + timedelta(hours=4))
    assert sorted(codes) == sorted(now_available)

    await repair_record(session, actor="test", record_id=record.id, reason="已履行完毕，移出失信名单")
    assert listed.code in await available(session)


async def test_an_agency_restricted_by_credit_is_not_eligible(session):
    restricted = await factories.agency(session, "AG-901")
    elsewhere = await factories.agency(session, "AG-902", categories=("construction", "government_procurement"))
    minor = await factories.agency(session, "AG-903")
    clean = await factories.agency(session, "AG-904")

    async def eligible(category: str = "construction", region_code: str | None = None) -> list[str]:
        return [agency.code for agency in await eligible_agencies(
            session, category=category, tendering_party_credit_code=PARTY, region_code=region_code)]

    assert await eligible() == ["AG-901", "AG-902", "AG-903", "AG-904"]
    credit_code = await _credit_code(session, restricted)
    await credit_record(session, credit_code=credit_code, name=restricted.name, kind="串通投标（情节严重）")
    await credit_record(session, credit_code=await _credit_code(session, elsewhere), name=elsewhere.name,
                        kind="政府采购严重违法失信行为", department="财政", categories=["government_procurement"],
                        region_codes=["371700"])
    await credit_record(session, credit_code=await _credit_code(session, minor), name=minor.name,
                        kind="无正当理由放弃中标资格")

    assert await eligible() == ["AG-902", "AG-903", "AG-904"]
    # The 财政 record restricts government procurement in 菏泽 (371700) only: joint sanctions follow its scope.
    assert await eligible("government_procurement") == []  # no region given: any region scope counts
    assert await eligible("government_procurement", region_code="370811") == ["AG-902"]
    assert await eligible("government_procurement", region_code="371702") == []
    assert clean.code in await eligible()


async def _credit_code(session, agency) -> str:
    from trading.organisations import Organisation

    return (await session.get(Organisation, agency.organisation_id)).credit_code


async def test_the_pools_sql_condition_agrees_with_the_pure_decision(session):
    """The pools' restriction condition and eligibility() give the same answer."""
    from sqlalchemy import literal, select

    from credit.checks import subject_facts
    from trading.database import transaction_now
    from credit.decisions import eligibility
    from credit.facts import ProjectFacts
    from credit.queries import restricted_organisation

    cases = [
        dict(kind="串通投标（情节严重）"),
        dict(kind="串通投标（情节严重）", categories=["government_procurement"]),
        dict(kind="串通投标（情节严重）", region_codes=["370000"]),
        dict(kind="串通投标（情节严重）", region_codes=["371700"]),
        dict(kind="串通投标（情节严重）", days_ago=400, days=100),
        dict(kind="无正当理由放弃中标资格"),
        dict(kind="行贿犯罪", department="法院", days_ago=365 * 2, days=None),
        dict(kind="行贿犯罪", department="法院", days_ago=365 * 4, days=None),
    ]
    codes = []
    for case in cases:
        code = factories.credit_code()
        await credit_record(session, credit_code=code, name="测试单位", **case)
        codes.append(code)
    moment = await transaction_now(session)
    for category in ("construction", "government_procurement"):
        for lookback in (None, 3):
            project = ProjectFacts(code="P", category=category, region_code="370811", estimate_fen=0,
                                   requested_deposit_fen=None, deposit_max_basis_points=200,
                                   bribery_lookback_years=lookback)
            for code in codes:
                pure = not eligibility(await subject_facts(session, "organisation", code), project, moment).admitted
                for at in (None, moment):
                    sql = await session.scalar(select(restricted_organisation(
                        literal(code), category=category, region_code="370811", bribery_lookback_years=lookback,
                        at=at)))
                    assert sql == pure, (code, category, lookback, at)
