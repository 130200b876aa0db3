"""Rule sets in the database: loaded once, immutable per version, pinned on projects."""

from __future__ import annotations

import shutil
from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from bidding.tender.projects import Project, register_project
from tests.common import factories
from trading.errors import ConfigurationError, InvalidInput, NotFound
from trading.rules.ruleset import DATA_DIR as RULESET_DATA_DIR
from trading.rules.store import RuleSetRecord, get_rule_set, rule_set_in_force, sync_reference_data


async def test_shipped_rule_sets_are_loaded_with_their_sources(session):
    record = await get_rule_set(session, "construction-open-tender", "2019.1")
    rule = record.rule("tender_docs_to_bid_deadline_min_days")
    assert rule["value"] == 20 and rule["unit"] == "days"
    assert "二十四" in rule["source"] or "24" in rule["source"]
    procurement = await rule_set_in_force(session, "government_procurement", "public_tender", date(2026, 11, 22))
    assert procurement.rule("min_valid_bids")["value"] == 3


async def test_loading_again_changes_nothing(session):
    before = await session.scalar(select(text("count(*)")).select_from(RuleSetRecord))
    assert await sync_reference_data(session) == []
    assert await session.scalar(select(text("count(*)")).select_from(RuleSetRecord)) == before


async def test_a_changed_file_under_a_loaded_version_is_refused(session, tmp_path):
    directory = tmp_path / "rules"
    shutil.copytree(RULESET_DATA_DIR, directory)
    path = directory / "construction-open-tender-2019.1.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('title = "', 'title = "（改）', 1), encoding="utf-8")
    with pytest.raises(ConfigurationError, match="须发布新版本"):
        await sync_reference_data(session, rule_set_dir=directory)


async def test_the_database_refuses_to_rewrite_a_loaded_rule_set(session):
    with pytest.raises(DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(text("UPDATE rule_sets SET content = '{}'::jsonb"))


async def test_unknown_rule_and_unknown_version_are_named(session):
    record = await get_rule_set(session, "construction-open-tender", "2019.1")
    with pytest.raises(NotFound, match="no_such_rule"):
        record.rule("no_such_rule")
    with pytest.raises(NotFound, match="1999.9"):
        await get_rule_set(session, "construction-open-tender", "1999.9")
    with pytest.raises(NotFound, match="没有适用"):
        await rule_set_in_force(session, "construction", "open_tender", date(2000, 1, 1))


async def test_a_project_is_pinned_to_the_rule_set_in_force(session):
    party = await factories.organisation(session, "tendering_party")
    project = await register_project(session, actor="test", code="JN-TEST-0001", title="测试项目", category="construction",
                                     method="open_tender", region_code="370800", tendering_party_id=party.id,
                                     estimate_fen=1_000_000_00)
    pinned = await session.get(RuleSetRecord, project.rule_set_id)
    assert (pinned.code, pinned.version) == ("construction-open-tender", "2019.2")
    stored = await session.scalar(select(Project).where(Project.code == "JN-TEST-0001"))
    assert stored.rule_set_id == pinned.id


@pytest.mark.parametrize(("changes", "message"), [
    ({"estimate_fen": 12.5}, "整数"),
    ({"estimate_fen": -1}, "不小于零"),
    ({"category": "nonsense"}, "交易类别"),
    ({"title": "  "}, "项目名称"),
])
async def test_bad_project_input_is_refused_in_chinese(session, changes, message):
    party = await factories.organisation(session, "tendering_party")
    values = {"code": "JN-TEST-0002", "title": "测试项目", "category": "construction", "method": "open_tender",
              "region_code": "370800", "tendering_party_id": party.id, "estimate_fen": 100, **changes}
    with pytest.raises(InvalidInput, match=message):
        await register_project(session, actor="test", **values)


async def test_only_a_tendering_party_may_register_a_project(session):
    bidder = await factories.organisation(session, "bidder")
    with pytest.raises(InvalidInput, match="招标人"):
        await register_project(session, actor="test", code="JN-TEST-0003", title="测试项目", category="construction",
                               method="open_tender", region_code="370800", tendering_party_id=bidder.id, estimate_fen=100)
