"""Agency draws: drawn from the eligible pool, witnessed by the tendering party (never the
center alone), revealed when witnessed, declined only with a reason."""

from __future__ import annotations

import pytest

from agency_pool.agencies import set_agency_status
from agency_pool.draws import agency_assignment, decline_agency, draw_agency
from agency_pool.ties import declare_tie
from tests.common import factories
from trading import sealed_draw as sd
from trading.draws import COMMITTED, REVEALED, draw_bundle, supply_witness
from trading.errors import Conflict, InvalidInput, RuleViolation
from trading.keys import load_center_keys


@pytest.fixture(scope="module")
def keys(settings):
    return load_center_keys(settings)


@pytest.fixture
async def pool(session):
    party = await factories.organisation(session, "tendering_party")
    for code in ("AG-001", "AG-002", "AG-010", "AG-青山招标"):
        await factories.agency(session, code)
    tied = await factories.agency(session, "AG-TIED")
    await declare_tie(session, actor="test", code=tied.code, party_credit_code=party.credit_code, reason="同一集团")
    await factories.agency(session, "AG-SUSP")
    await set_agency_status(session, actor="test", code="AG-SUSP", status="suspended", reason="年度考核不合格")
    await factories.agency(session, "AG-LAND", categories=("land_mining",))
    return party


async def drawn(session, keys, party, project_code, **changes):
    """An agency draw witnessed by its tendering party (revealed at once: nothing to seal)."""
    draw = await draw_agency(session, keys, actor="test", project_code=project_code, category="construction",
                             tendering_party_credit_code=party.credit_code, **changes)
    return await supply_witness(session, keys, draw.draw_id, value="招标人现场 2719", by="user:2:tenderer")


async def test_the_draw_uses_exactly_the_eligible_pool_and_verifies(session, keys, pool):
    draw = await drawn(session, keys, pool, "JN-AG-1")
    assert draw.status == REVEALED and draw.witness_value == "招标人现场 2719"
    assert draw.pool == ["AG-001", "AG-002", "AG-010", "AG-青山招标"]
    assert draw.commit_record["pool_digest"] == "d46dd3b353466f6dcee5cf323868e4d2752841eadf089ef6a292b406c3deb55e"
    assert sd.verify_bundle(draw_bundle(draw, keys), keys.verify_key_hex).ok
    current = await agency_assignment(session, "JN-AG-1")
    assert current.agency.code == draw.reveal_record["selected"][0]


async def test_an_agency_draw_waits_for_its_witness_who_is_not_the_center(session, keys, pool):
    draw = await draw_agency(session, keys, actor="test", project_code="JN-AG-2", category="construction",
                             tendering_party_credit_code=pool.credit_code)
    assert draw.status == COMMITTED and draw.commit_record["criteria"]["witness"] == "tendering_party"
    assert (await agency_assignment(session, "JN-AG-2")).agency is None
    await supply_witness(session, keys, draw.draw_id, value="监督员 0421", by="user:7:supervisor")
    assert (await agency_assignment(session, "JN-AG-2")).agency is not None


async def test_declines_need_a_reason_and_move_to_the_reserves_in_order(session, keys, pool):
    draw = await drawn(session, keys, pool, "JN-AG-3")
    order = draw.reveal_record["selected"] + draw.reveal_record["reserves"]
    with pytest.raises(InvalidInput, match="理由"):
        await decline_agency(session, actor="user:2:tenderer", project_code="JN-AG-3", reason=" ")
    for index in range(1, 4):
        after = await decline_agency(session, actor="user:2:tenderer", project_code="JN-AG-3", reason="业绩不符合项目要求")
        assert after.agency.code == order[index]
    exhausted = await decline_agency(session, actor="user:2:tenderer", project_code="JN-AG-3", reason="同上")
    assert exhausted.agency is None and exhausted.declined == order
    with pytest.raises(Conflict):
        await decline_agency(session, actor="user:2:tenderer", project_code="JN-AG-3", reason="同上")
    # A replacement draw continues the first and offers none of the agencies already declined.
    with pytest.raises(RuleViolation):
        await draw_agency(session, keys, actor="test", project_code="JN-AG-3", category="construction",
                          tendering_party_credit_code=pool.credit_code, continues=draw.draw_id)
    await factories.agency(session, "AG-NEW")
    again = await drawn(session, keys, pool, "JN-AG-3", reserve_count=0, continues=draw.draw_id)
    assert again.pool == ["AG-NEW"] and again.commit_record["criteria"]["continues"] == draw.draw_id
    assert (await agency_assignment(session, "JN-AG-3")).agency.code == "AG-NEW"
