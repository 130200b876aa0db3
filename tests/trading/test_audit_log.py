"""The audit log in the database (统一电子监察): gapless, linked, append-only, signed, and
verifiable by supervisors from the command line, including from an exported file.

The module's database starts from the template, which already holds the reference-data
entries (``rule_set.loaded``), so tests speak of seqs relative to the head they find.
Tests that need other connections to see entries commit them; that only appends to the
module's chain, which stays sound, and every checkpoint is signed with the module's keys.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import nacl.signing
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import create_database_from_template
from trading.audit import AuditCheckpoint, AuditEntry, iter_entries, make_checkpoint, record_event, verify_audit_log
from trading.audit_chain import GENESIS_HASH, entry_hash, verify_chain
from trading.canonical import MAX_SAFE_INTEGER
from trading.database import make_engine, make_sessionmaker, run_as_server_admin, transaction
from trading.keys import CenterKeys, load_center_keys, verify_signature

OTHER_KEY = CenterKeys(signing_key=nacl.signing.SigningKey(bytes(range(100, 132))), kek=bytes(32))


@pytest.fixture(scope="module")
def keys(settings):
    """The center's keys for this module (the CLI finds the same ones in TRADING_VAR_DIR)."""
    return load_center_keys(settings)


async def head(session: AsyncSession) -> tuple[int, str]:
    row = (await session.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1))).first()
    return (row[0], row[1]) if row else (0, GENESIS_HASH)


async def all_entries(session: AsyncSession) -> list[dict[str, Any]]:
    return [entry async for entry in iter_entries(session)]


async def commit_events(engine, *subjects: str, data: dict[str, Any] | None = None) -> list[int]:
    """Record events in committed transactions, as services do; returns their seqs."""
    seqs = []
    for subject in subjects:
        async with transaction(make_sessionmaker(engine)) as session:
            entry = await record_event(session, actor="user:7:jnzx_admin", action="project.registered", subject=subject,
                                       data=data or {"project_name": "济宁市某道路工程", "budget_fen": 120_000_000})
            seqs.append(entry.seq)
    return seqs


# --- numbering and linking ---------------------------------------------------------------

async def test_events_are_numbered_one_after_another_and_linked_by_hash(session, keys):
    start_seq, start_hash = await head(session)
    entries = [
        await record_event(session, actor=f"user:{i}:bidder{i}", action="bid.sealed", subject="project:JN-2026-GC-0007",
                           data={"bidder": "山东某建设集团有限公司", "lots": [1, 2, [3, "三"]], "deposit_fen": 800_000 + i})
        for i in range(5)
    ]
    assert [entry.seq for entry in entries] == list(range(start_seq + 1, start_seq + 6))
    assert entries[0].prev_hash == start_hash
    for earlier, later in zip(entries, entries[1:]):
        assert later.prev_hash == earlier.hash
        assert later.at > earlier.at
    for entry in entries:
        assert entry.hash == entry_hash(entry.body())

    session.expunge_all()  # read back what the database holds, not the objects we made
    stored = await all_entries(session)
    assert [entry["seq"] for entry in stored] == list(range(1, start_seq + 6))
    assert stored[-1]["data"] == {"bidder": "山东某建设集团有限公司", "lots": [1, 2, [3, "三"]], "deposit_fen": 800_004}
    assert verify_chain(stored).ok
    report = await verify_audit_log(session, keys.verify_key_hex)
    assert report.ok and report.entries == start_seq + 5


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER),
              # PostgreSQL's JSONB stores no NUL character.
              st.text(alphabet=st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=10),
              st.text(alphabet="投标报价保证金元整", max_size=10)),
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(st.text("abcdefghij_", min_size=1, max_size=6), children, max_size=3)),
    max_leaves=10,
)


@hypothesis_settings(max_examples=15, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.dictionaries(st.text("abcdefghij_", min_size=1, max_size=8), json_values, max_size=5))
async def test_whatever_data_an_event_carries_reads_back_with_the_hash_it_was_given(session, data):
    """What is hashed must be exactly what JSONB gives back, or the log would fail its own check."""
    async with session.begin_nested() as savepoint:
        entry = await record_event(session, actor="system", action="deposit.refunded", subject="project:JN-2026-ZC-0001",
                                   data=data)
        stored = await session.get(AuditEntry, entry.seq)  # read back from the database
        assert stored.data == data
        assert entry_hash(stored.body()) == stored.hash
        await savepoint.rollback()


async def test_a_rolled_back_transaction_leaves_no_entry_and_no_gap(engine):
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        before_seq, before_hash = await head(session)

    class Abandon(Exception):
        pass

    with pytest.raises(Abandon):
        async with transaction(sessions) as session:
            entry = await record_event(session, actor="user:9:agent", action="announcement.published",
                                       subject="project:JN-2026-GC-0099", data={"note": "将被回滚"})
            assert entry.seq == before_seq + 1
            raise Abandon

    async with transaction(sessions) as session:
        entry = await record_event(session, actor="user:9:agent", action="announcement.published",
                                   subject="project:JN-2026-GC-0100", data={"note": "正式发布"})
    assert (entry.seq, entry.prev_hash) == (before_seq + 1, before_hash)
    async with sessions() as session:
        subjects = (await session.scalars(select(AuditEntry.subject).where(AuditEntry.seq > before_seq))).all()
        assert subjects == ["project:JN-2026-GC-0100"]


async def test_concurrent_writers_leave_a_gapless_chain_that_verifies(server_url, template_url):
    """20 transactions on their own connections write at once; every fourth rolls back."""
    url = await create_database_from_template(server_url, template_url, "audit_concurrent")
    engine = make_engine(url, pool_size=25)
    sessions = make_sessionmaker(engine)
    writers = 20
    all_open = asyncio.Barrier(writers)

    async def writer(i: int) -> int | None:
        try:
            async with transaction(sessions) as session:
                await session.execute(text("SELECT 1"))  # hold a connection and an open transaction
                await all_open.wait()
                entry = await record_event(session, actor=f"user:{i}:bidder{i}", action="bid.sealed",
                                           subject=f"bid:{i}", data={"writer": i, "status": "已密封"})
                await asyncio.sleep(0.001 * (i % 5))  # keep the transaction open a little
                if i % 4 == 3:
                    raise RuntimeError("bidder gave up")
                return entry.seq
        except RuntimeError:
            return None

    try:
        async with sessions() as session:
            before = (await head(session))[0]
        results = await asyncio.gather(*(writer(i) for i in range(writers)))
        committed = sorted(seq for seq in results if seq is not None)
        assert committed == list(range(before + 1, before + 16))

        async with sessions() as session:
            entries = await all_entries(session)
            assert [entry["seq"] for entry in entries] == list(range(1, before + 16))
            assert {entry["subject"] for entry in entries[before:]} == {f"bid:{i}" for i in range(writers) if i % 4 != 3}
            assert verify_chain(entries).ok
    finally:
        await engine.dispose()
        await run_as_server_admin(server_url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


# --- append-only -------------------------------------------------------------------------

CHANGES = {
    "UPDATE": "UPDATE {table} SET {column} = {column}",
    "DELETE": "DELETE FROM {table}",
    "TRUNCATE": "TRUNCATE {table} CASCADE",
}
COLUMNS = {"audit_log": "actor", "audit_checkpoints": "signature", "rule_sets": "title"}


@pytest.mark.parametrize("operation", list(CHANGES))
@pytest.mark.parametrize("table", list(COLUMNS))
async def test_the_database_refuses_to_change_or_empty_append_only_tables(session, keys, table, operation):
    await record_event(session, actor="system", action="test.event", subject="test")
    assert await make_checkpoint(session, keys) is not None
    count = await session.scalar(text(f"SELECT count(*) FROM {table}"))
    assert count > 0

    with pytest.raises(DBAPIError) as refused:
        async with session.begin_nested():
            await session.execute(text(CHANGES[operation].format(table=table, column=COLUMNS[table])))
    assert f"table {table} is append-only: {operation} refused" in str(refused.value)
    assert await session.scalar(text(f"SELECT count(*) FROM {table}")) == count


# --- checkpoints and verification --------------------------------------------------------

async def test_a_checkpoint_signs_the_head_and_only_when_something_is_new(session, keys):
    await record_event(session, actor="system", action="draw.revealed", subject="draw:D-2026-0001", data={"selected": 5})
    seq, chain_hash = await head(session)
    checkpoint = await make_checkpoint(session, keys)
    assert (checkpoint.seq, checkpoint.hash) == (seq, chain_hash)
    assert checkpoint.record["seq"] == seq and checkpoint.record["hash"] == chain_hash
    assert checkpoint.key_id == keys.key_id
    assert verify_signature(checkpoint.record, checkpoint.signature, keys.verify_key_hex)
    assert not verify_signature(checkpoint.record, checkpoint.signature, OTHER_KEY.verify_key_hex)

    assert await make_checkpoint(session, keys) is None

    await record_event(session, actor="system", action="award.issued", subject="project:JN-2026-GC-0007")
    later = await make_checkpoint(session, keys)
    assert later.seq == seq + 1
    report = await verify_audit_log(session, keys.verify_key_hex)
    assert report.ok and report.entries == seq + 1
    assert report.checkpoints == await session.scalar(select(func.count()).select_from(AuditCheckpoint))

    bad = await verify_audit_log(session, OTHER_KEY.verify_key_hex)
    first = await session.scalar(select(func.min(AuditCheckpoint.seq)))
    assert not bad.ok and bad.bad_seq == first and "检查点签名无效" in bad.problem


@pytest.mark.parametrize("tampering", ["update_data", "delete_entry"])
async def test_tampering_behind_the_triggers_is_caught_and_named(session, keys, tampering):
    for i in range(3):
        await record_event(session, actor="user:3:expert", action="evaluation.scored", subject="project:JN-2026-GC-0007",
                           data={"bidder": f"投标人{i}", "score": 80 + i})
    await make_checkpoint(session, keys)
    target = (await head(session))[0] - 1
    assert (await verify_audit_log(session, keys.verify_key_hex)).ok

    # A superuser switches the triggers off for the transaction (rolled back after the test).
    await session.execute(text("SET LOCAL session_replication_role = replica"))
    if tampering == "update_data":
        await session.execute(text("""UPDATE audit_log SET data = '{"bidder": "投标人1", "score": 99}' WHERE seq = :s"""),
                              {"s": target})
    else:
        await session.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": target})
    session.expire_all()  # the session must not answer from the objects it wrote itself

    report = await verify_audit_log(session, keys.verify_key_hex)
    assert not report.ok
    assert report.bad_seq == target
    assert f"第 {target} 条" in report.describe()


# --- the command line --------------------------------------------------------------------

async def test_cli_checkpoint_then_verify(engine, cli):
    [seq] = await commit_events(engine, "project:JN-2026-GC-0201")
    signed = await cli("audit", "checkpoint")
    assert signed.exit_code == 0, signed.output
    assert f"已签名检查点：第 {seq} 条" in signed.output
    again = await cli("audit", "checkpoint")
    assert again.exit_code == 0 and "自上个检查点以来没有新记录" in again.output

    verified = await cli("audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert "审计日志完整" in verified.output
    assert f"{seq} 条记录" in verified.output


async def test_cli_export_verifies_and_an_edited_export_is_caught(engine, cli, keys, tmp_path):
    first, second = await commit_events(engine, "project:JN-2026-GC-0301", "project:JN-2026-GC-0302")
    assert (await cli("audit", "checkpoint")).exit_code == 0
    path = tmp_path / "audit-export.json"
    exported = await cli("audit", "export", str(path))
    assert exported.exit_code == 0, exported.output
    assert f"已导出 {second} 条记录" in exported.output
    content = json.loads(path.read_text(encoding="utf-8"))
    assert content["verify_key"] == keys.verify_key_hex
    assert [entry["seq"] for entry in content["entries"]] == list(range(1, second + 1))

    verified = await cli("audit", "verify", "--file", str(path))
    assert verified.exit_code == 0, verified.output
    assert "审计日志完整" in verified.output

    # Someone lowers the budget of the first project in the exported copy.
    entry = content["entries"][first - 1]
    assert entry["subject"] == "project:JN-2026-GC-0301"
    entry["data"]["budget_fen"] = 1
    path.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    caught = await cli("audit", "verify", "--file", str(path))
    assert caught.exit_code != 0
    assert "审计日志校验失败" in caught.output
    assert f"第 {first} 条记录内容与其哈希不符" in caught.output


async def test_cli_verify_with_another_key_fails_on_the_checkpoint(engine, cli):
    await commit_events(engine, "project:JN-2026-GC-0401")
    assert (await cli("audit", "checkpoint")).exit_code == 0
    async with make_sessionmaker(engine)() as session:
        first_checkpoint = await session.scalar(select(func.min(AuditCheckpoint.seq)))

    result = await cli("audit", "verify", "--key", OTHER_KEY.verify_key_hex)
    assert result.exit_code != 0
    assert f"截至第 {first_checkpoint} 条的检查点签名无效" in result.output
