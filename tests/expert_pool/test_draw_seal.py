"""sealed-draw/1 step 7 ("Seal"): before the reveal, no table, log or queue holds a draw's
drawn codes, their order or the reserves in clear. Only experts already called appear,
without rank; after the reveal the public record has everything.

The check reads the database as an intruder (or a backup) would: every text, JSON, array
and byte column of every table, the audit log and the outbox included, and every
``expert_id`` column. A reserve not yet called must look exactly like a pool member who
was never drawn.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from agency_pool.draws import draw_agency
from expert_pool.committees import (
    CommitteeMember,
    GroupSpec,
    answer_invitation,
    request_committee,
    unseal_committee,
    witness_committee_draw,
)
from expert_pool.models import Expert
from tests.common import factories
from trading.audit import AuditEntry
from trading.draws import REVEALED, Draw, get_draw, sealed_selection, supply_witness
from trading.keys import load_center_keys
from trading.rules.store import get_rule_set

SCANNED_TYPES = ("text", "character varying", "character", "json", "jsonb", "ARRAY", "tsvector", "bytea")


@pytest.fixture(scope="module")
def keys(settings):
    return load_center_keys(settings)


async def _columns(session) -> dict[str, list[tuple[str, str]]]:
    rows = await session.execute(text(
        "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
        "JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
        "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND c.data_type = ANY(:types) "
        "ORDER BY c.table_name, c.ordinal_position"), {"types": list(SCANNED_TYPES)})
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        tables.setdefault(table, []).append((column, data_type))
    return tables


async def where_found(session, needles: list[str]) -> dict[str, dict[tuple[str, str], int]]:
    """For each needle: the (table, column) pairs whose values contain it, with row counts."""
    found: dict[str, dict[tuple[str, str], int]] = {needle: {} for needle in needles}
    params = {f"n{i}": needle for i, needle in enumerate(needles)}
    for table, columns in (await _columns(session)).items():
        tests, keys = [], []
        for column, data_type in columns:
            for i, needle in enumerate(needles):
                if data_type == "bytea":
                    test = f"position(convert_to(:n{i}, 'UTF8') in \"{column}\") > 0"
                else:
                    test = f"strpos(\"{column}\"::text, :n{i}) > 0"
                tests.append(f"count(*) FILTER (WHERE {test})")
                keys.append((needle, column))
        counts = (await session.execute(text(f"SELECT {', '.join(tests)} FROM \"{table}\""), params)).one()
        for (needle, column), count in zip(keys, counts, strict=True):
            if count:
                found[needle][(table, column)] = count
    return found


async def expert_id_rows(session, expert_ids: list[int]) -> dict[int, dict[str, int]]:
    """For each expert id: the tables whose ``expert_id`` column points at it, with row counts."""
    tables = (await session.scalars(text(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND column_name = 'expert_id'"))).all()
    found: dict[int, dict[str, int]] = {expert_id: {} for expert_id in expert_ids}
    for table in tables:
        for expert_id, count in await session.execute(text(
                f"SELECT expert_id, count(*) FROM \"{table}\" WHERE expert_id = ANY(:ids) GROUP BY expert_id"),
                {"ids": expert_ids}):
            found[expert_id][table] = count
    return found


async def _committee(session, keys, specialty: str, pool_size: int, count: int, reserves: int):
    rule_set = await get_rule_set(session, "construction-open-tender", "2019.1")
    for _ in range(pool_size):
        await factories.expert(session, specialties=[specialty])
    party = await factories.organisation(session, "tendering_party")
    start = (await session.scalar(select(func.now())) + timedelta(days=3)).replace(microsecond=0)
    request = await request_committee(
        session, keys, actor="user:1:admin", project_code="JN-2026-GC-0400", rule_set=rule_set,
        tendering_party_code=party.credit_code, agency_code=None, bidder_codes=[], starts_at=start,
        ends_at=start + timedelta(hours=4), place="第5评标室", groups=[GroupSpec(specialty, count, reserves)])
    draw = await session.scalar(select(Draw).where(Draw.project_code == "JN-2026-GC-0400",
                                                   Draw.commit_record["criteria"]["committee_request"].as_integer()
                                                   == request.id))
    return request, draw


async def _members(session, request_id: int) -> list[tuple[CommitteeMember, Expert]]:
    return list((await session.execute(
        select(CommitteeMember, Expert).join(Expert, Expert.id == CommitteeMember.expert_id)
        .where(CommitteeMember.request_id == request_id).order_by(CommitteeMember.id)
        .execution_options(populate_existing=True))).all())


async def test_step_7_seal_before_the_reveal_nothing_at_rest_names_an_uncalled_reserve_or_a_rank(session, keys):
    request, draw = await _committee(session, keys, "C0601", pool_size=12, count=5, reserves=3)
    await witness_committee_draw(session, keys, draw.draw_id, value="监督员 6012", by="user:7:supervisor")
    draw = await get_draw(session, draw.draw_id)
    selected, reserves = sealed_selection(keys, draw)  # what only the notification step may know
    # One drawn expert declines: the first reserve is called, the other two are not.
    member, _ = (await _members(session, request.id))[0]
    await answer_invitation(session, keys, member_id=member.id, expert_id=member.expert_id, accept=False,
                            reason="当天出差", actor="expert")
    rows = await _members(session, request.id)
    called = [expert.code for _, expert in rows]
    assert sorted(called) == sorted(selected + reserves[:1])
    hidden = reserves[1:]
    never_drawn = [code for code in draw.pool if code not in selected + reserves]

    # Text, JSON, arrays and bytes of every table: an uncalled reserve is found exactly
    # where an expert never drawn is (the pool list, the expert's own records), no more.
    found = await where_found(session, hidden + never_drawn)
    control = found[never_drawn[0]]
    assert all(found[code] == control for code in never_drawn)  # the yardstick itself is even
    for code in hidden:
        assert found[code] == control, f"reserve {code} at rest in clear: {set(found[code]) - set(control)}"
    # The drawn order is nowhere, not even as a list of those already called.
    for separator in (",", ", "):
        orders = [separator.join(json.dumps(code) for code in selected), separator.join(selected)]
        assert not any((await where_found(session, orders)).values())
    # No row points at an uncalled reserve more than at an expert never drawn.
    ids = dict((await session.execute(select(Expert.code, Expert.id).where(
        Expert.code.in_(hidden + never_drawn)))).all())
    by_id = await expert_id_rows(session, list(ids.values()))
    assert all(by_id[ids[code]] == by_id[ids[never_drawn[0]]] for code in hidden)

    # No rank: no column of it, none in the log, and the first call went out in pool order.
    assert not (await session.scalar(text(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'committee_members' "
        "AND column_name = 'rank'")))
    entries = (await session.scalars(select(AuditEntry).where(
        AuditEntry.subject.in_([f"committee:{request.id}", f"draw:{draw.draw_id}"])))).all()
    assert entries and not any("rank" in entry.data for entry in entries)
    first_call = [expert.code for member, expert in rows[:5]]
    assert first_call == sorted(selected)

    # At the session start the reveal record has everything, in order.
    await session.execute(text("UPDATE committee_requests SET starts_at = now() - interval '1 minute' WHERE id = :r"),
                          {"r": request.id})
    await session.execute(text("UPDATE draws SET unseal_at = now() - interval '1 minute' WHERE draw_id = :d"),
                          {"d": draw.draw_id})
    await unseal_committee(session, keys, request.id, actor="system")
    draw = await get_draw(session, draw.draw_id, for_update=True)
    assert draw.status == REVEALED
    assert (draw.reveal_record["selected"], draw.reveal_record["reserves"]) == (selected, reserves)
    after = await where_found(session, hidden)
    for code in hidden:
        assert ("draws", "reveal_record") in after[code]


async def test_step_7_seal_holds_for_agency_draws_until_their_witness_reveals_them(session, keys):
    party = await factories.organisation(session, "tendering_party")
    codes = [f"AG-SEAL-{i:02d}" for i in range(6)]
    for code in codes:
        await factories.agency(session, code)
    draw = await draw_agency(session, keys, actor="user:1:admin", project_code="JN-2026-GC-0401",
                             category="construction", tendering_party_credit_code=party.credit_code, reserve_count=2)
    found = await where_found(session, codes)
    assert all(found[code] == found[codes[0]] for code in codes)  # nothing is drawn before the witness
    draw = await supply_witness(session, keys, draw.draw_id, value="招标人 8802", by="user:2:tenderer")
    assert draw.status == REVEALED  # nothing to keep sealed once witnessed: revealed in the same step
    drawn = draw.reveal_record["selected"] + draw.reveal_record["reserves"]
    after = await where_found(session, drawn)
    assert all(("draws", "reveal_record") in after[code] for code in drawn)


async def test_step_7_seal_the_migration_leaves_existing_draws_no_rank_and_no_uncalled_reserve(
        server_url, template_url, keys):
    """Rows written before revision 2 (every drawn expert a member, with a rank) are brought
    into the sealed form: uncalled reserves go (the encrypted result keeps them), ranks go."""
    import anyio
    from sqlalchemy.engine import make_url

    from tests.conftest import create_database_from_template
    from trading.database import make_engine, make_sessionmaker, run_as_server_admin, transaction
    from trading.schema import downgrade_database, upgrade_database

    url = await create_database_from_template(server_url, template_url, "draws_seal_migration")
    engine = make_engine(url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            request, draw = await _committee(session, keys, "A0601", pool_size=9, count=5, reserves=2)
            await witness_committee_draw(session, keys, draw.draw_id, value="监督员 1", by="user:7:supervisor")
            _, reserves = sealed_selection(keys, await get_draw(session, draw.draw_id))
            reserve_ids = list((await session.scalars(select(Expert.id).where(Expert.code.in_(reserves)))).all())
        await anyio.to_thread.run_sync(downgrade_database, url, "w1bidpending1")
        async with engine.begin() as conn:  # the old form: the reserves as ranked member rows
            for rank, expert_id in enumerate(reserve_ids, start=5):
                await conn.execute(text(
                    "INSERT INTO committee_members (request_id, group_id, draw_id, expert_id, rank, status) "
                    "SELECT request_id, group_id, draw_id, :e, :rank, 'reserve' FROM committee_members "
                    "WHERE request_id = :r LIMIT 1"), {"e": expert_id, "rank": rank, "r": request.id})
        await anyio.to_thread.run_sync(upgrade_database, url)
        async with engine.connect() as conn:
            statuses = (await conn.scalars(text("SELECT status FROM committee_members WHERE request_id = :r"),
                                           {"r": request.id})).all()
            assert statuses == ["invited"] * 5
            assert not await conn.scalar(text("SELECT count(*) FROM committee_members WHERE expert_id = ANY(:ids)"),
                                         {"ids": reserve_ids})
            assert not await conn.scalar(text(
                "SELECT count(*) FROM information_schema.columns WHERE table_name = 'committee_members' "
                "AND column_name = 'rank'"))
    finally:
        await engine.dispose()
        await run_as_server_admin(server_url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
