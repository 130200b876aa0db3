"""Draw records in the database: commit, witness, seal, reveal, void — and verification."""

from __future__ import annotations


import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from trading import sealed_draw as sd
from trading.audit import AuditEntry
from trading.draws import (
    COMMITTED,
    REVEALED,
    VOIDED,
    WITNESSED,
    WITNESS_TENDERING_PARTY,
    Draw,
    commit_draw,
    draw_bundle,
    draws_of_project,
    reveal_draw,
    sealed_selection,
    supply_witness,
    void_draw,
)
from trading.errors import Conflict, InvalidInput, PermissionDenied, RuleViolation
from trading.keys import load_center_keys

POOL = [f"EXP{i:04d}" for i in range(1, 31)]


@pytest.fixture(scope="module")
def keys(settings):
    return load_center_keys(settings)


async def _past(session):
    # An unseal moment already reached: the result waits for an explicit reveal.
    return await session.scalar(text("SELECT clock_timestamp() - interval '1 second'"))


async def committed(session, keys, **changes):
    values = dict(actor="user:1:admin", purpose="expert", project_code="JN-2026-GC-0100",
                  criteria={"specialties": ["A08"]}, pool=list(reversed(POOL)), count=5, reserve_count=2,
                  witness_required=True, unseal_at=await _past(session)) | changes
    return await commit_draw(session, keys, **values)


async def revealed(session, keys, **changes):
    draw = await committed(session, keys, **changes)
    if draw.status == COMMITTED:
        await supply_witness(session, keys, draw.draw_id, value="supervisor:9c1e", by="user:7:supervisor")
    return await reveal_draw(session, keys, draw.draw_id, actor="system")


async def test_a_complete_draw_verifies_with_the_centers_key(session, keys):
    draw = await revealed(session, keys)
    assert draw.status == REVEALED and draw.draw_id.startswith("D-")
    result = sd.verify_bundle(draw_bundle(draw, keys), keys.verify_key_hex)
    assert result.ok and result.revealed, result.message
    assert list(result.selected) == draw.reveal_record["selected"]
    assert draw.pool == sorted(POOL)


async def test_until_the_reveal_nobody_sees_the_selection(session, keys):
    draw = await committed(session, keys)
    await supply_witness(session, keys, draw.draw_id, value="supervisor:1", by="user:7:supervisor")
    bundle = draw_bundle(draw, keys)
    assert bundle["reveal"] is None and bundle["pool"] is None
    selected, reserves = sealed_selection(keys, draw)
    text_of_bundle = str(bundle)
    assert not any(code in text_of_bundle for code in selected + reserves)
    assert b"EXP" not in draw.sealed_result  # stored encrypted
    check = sd.verify_bundle(bundle, keys.verify_key_hex)
    assert check.ok and not check.revealed


async def test_the_notification_step_gets_exactly_what_is_later_revealed(session, keys):
    draw = await committed(session, keys)
    await supply_witness(session, keys, draw.draw_id, value="w", by="user:7:supervisor")
    before = sealed_selection(keys, draw)
    draw = await reveal_draw(session, keys, draw.draw_id, actor="system")
    assert before == (draw.reveal_record["selected"], draw.reveal_record["reserves"])


async def test_too_small_a_pool_is_refused_before_anything_is_committed(session, keys):
    draws_before = await session.scalar(select(func.count()).select_from(Draw))
    audit_before = await session.scalar(select(func.count()).select_from(AuditEntry))
    with pytest.raises(RuleViolation, match="不足以抽取"):
        await committed(session, keys, pool=POOL[:3], count=5)
    assert await session.scalar(select(func.count()).select_from(Draw)) == draws_before
    assert await session.scalar(select(func.count()).select_from(AuditEntry)) == audit_before


async def test_a_draw_without_witness_says_so_and_is_witnessed_at_once(session, keys):
    draw = await committed(session, keys, witness_required=False)
    assert draw.status == WITNESSED and draw.witness_value == ""
    assert draw.commit_record["criteria"]["witness"] == "none"
    draw = await reveal_draw(session, keys, draw.draw_id, actor="system")
    assert sd.verify_bundle(draw_bundle(draw, keys), keys.verify_key_hex).ok


async def test_a_draw_with_nothing_to_keep_sealed_is_revealed_when_witnessed(session, keys):
    agency = await committed(session, keys, purpose="agency", count=1, reserve_count=3, unseal_at=None,
                             witness=WITNESS_TENDERING_PARTY)
    assert agency.draw_id.startswith("AG-") and agency.status == COMMITTED
    assert agency.commit_record["criteria"]["witness"] == "tendering_party"
    agency = await supply_witness(session, keys, agency.draw_id, value="招标人 3391", by="user:2:tenderer")
    assert agency.status == REVEALED
    witnessed = await committed(session, keys, unseal_at=None)
    assert witnessed.status == COMMITTED
    witnessed = await supply_witness(session, keys, witnessed.draw_id, value="w", by="user:7:supervisor")
    assert witnessed.status == REVEALED
    assert sd.verify_bundle(draw_bundle(witnessed, keys), keys.verify_key_hex).ok


async def test_an_agency_draw_has_a_witness_who_is_not_the_center(session, keys):
    """Spec: every draw has a witness who is not the center; the center alone cannot reveal
    an agency draw (the AG-0042 vector's empty witness stays a protocol vector only)."""
    before = await session.scalar(select(func.count()).select_from(Draw))
    with pytest.raises(RuleViolation, match="见证"):
        await committed(session, keys, purpose="agency", witness_required=False, count=1, reserve_count=3,
                        unseal_at=None)
    assert await session.scalar(select(func.count()).select_from(Draw)) == before
    # Even a stored agency draw witnessed with nothing (as before revision 2) is never revealed.
    draw = await committed(session, keys, purpose="agency", count=1, reserve_count=0, unseal_at=await _past(session))
    await session.execute(text("UPDATE draws SET status = 'witnessed', witness_value = '', witness_at = clock_timestamp(), "
                               "sealed_result = :r WHERE draw_id = :d"),
                          {"r": keys.seal(b'{"selected": ["EXP0001"], "reserves": []}'), "d": draw.draw_id})
    with pytest.raises(RuleViolation, match="见证"):
        await reveal_draw(session, keys, draw.draw_id, actor="system")


@pytest.mark.parametrize("value", ["", "   ", "x" * 201])
async def test_a_bad_witness_value_is_refused(session, keys, value):
    draw = await committed(session, keys)
    with pytest.raises(InvalidInput):
        await supply_witness(session, keys, draw.draw_id, value=value, by="user:7:supervisor")


async def test_a_witness_is_given_once_and_only_where_configured(session, keys):
    draw = await committed(session, keys)
    await supply_witness(session, keys, draw.draw_id, value="first", by="user:7:supervisor")
    with pytest.raises(Conflict):
        await supply_witness(session, keys, draw.draw_id, value="second", by="user:7:supervisor")
    unwitnessed = await committed(session, keys, witness_required=False)
    with pytest.raises(Conflict, match="无需见证"):
        await supply_witness(session, keys, unwitnessed.draw_id, value="x", by="user:7:supervisor")


async def test_the_result_stays_sealed_until_the_unseal_moment(session, keys):
    later = await session.scalar(text("SELECT clock_timestamp() + interval '1 hour'"))
    draw = await committed(session, keys, unseal_at=later)
    await supply_witness(session, keys, draw.draw_id, value="w", by="user:7:supervisor")
    with pytest.raises(RuleViolation, match="评标开始"):
        await reveal_draw(session, keys, draw.draw_id, actor="system")
    with pytest.raises(Conflict):
        await reveal_draw(session, keys, (await committed(session, keys)).draw_id, actor="system")


async def test_voiding_keeps_the_attempt_and_needs_a_supervisor_after_the_witness(session, keys):
    early = await committed(session, keys, project_code="JN-VOID-1")
    with pytest.raises(InvalidInput):
        await void_draw(session, keys, early.draw_id, reason=" ", actor="user:1:admin")
    await void_draw(session, keys, early.draw_id, reason="抽取条件录入错误", actor="user:1:admin")
    late = await committed(session, keys, project_code="JN-VOID-1")
    await supply_witness(session, keys, late.draw_id, value="w", by="user:7:supervisor")
    with pytest.raises(PermissionDenied, match="监督人员批准"):
        await void_draw(session, keys, late.draw_id, reason="会场停电", actor="user:1:admin")
    await void_draw(session, keys, late.draw_id, reason="会场停电", actor="user:1:admin",
                    approved_by_supervisor="user:7:supervisor")
    done = await revealed(session, keys, project_code="JN-VOID-1")
    with pytest.raises(Conflict):
        await void_draw(session, keys, done.draw_id, reason="不喜欢结果", actor="user:1:admin",
                        approved_by_supervisor="user:7:supervisor")
    listed = await draws_of_project(session, "JN-VOID-1")
    assert [d.status for d in listed] == [VOIDED, VOIDED, REVEALED]
    assert draw_bundle(listed[1], keys)["void"]["record"]["approved_by"] == "user:7:supervisor"


async def test_a_void_before_the_witness_is_a_signed_record_with_a_null_seed(session, keys):
    draw = await committed(session, keys)
    draw = await void_draw(session, keys, draw.draw_id, reason="抽取条件录入错误", actor="user:1:admin")
    bundle = draw_bundle(draw, keys)
    record = bundle["void"]["record"]
    assert set(record) == {"protocol", "draw_id", "reason", "approved_by", "voided_at", "center_seed"}
    assert record["protocol"] == "sealed-draw-void/1" and record["draw_id"] == draw.draw_id
    assert record["reason"] == "抽取条件录入错误" and record["approved_by"] is None and record["center_seed"] is None
    assert record["voided_at"].endswith("Z") and bundle["pool"] is None  # no outcome existed yet
    result = sd.verify_bundle(bundle, keys.verify_key_hex)
    assert result.ok and result.voided and not result.revealed and result.selected == ()
    assert "作废" in result.message


async def test_a_void_after_the_witness_publishes_the_seed_and_what_it_would_have_selected(session, keys):
    draw = await committed(session, keys)
    draw = await supply_witness(session, keys, draw.draw_id, value="supervisor:5521", by="user:7:supervisor")
    discarded = sealed_selection(keys, draw)
    draw = await void_draw(session, keys, draw.draw_id, reason="会场停电", actor="user:1:admin",
                           approved_by_supervisor="user:7:supervisor")
    bundle = draw_bundle(draw, keys)
    record = bundle["void"]["record"]
    assert record["approved_by"] == "user:7:supervisor"
    assert sd.commitment(draw.draw_id, bytes.fromhex(record["center_seed"])) == draw.commit_record["commitment"]
    assert bundle["pool"] == sorted(POOL) and bundle["reveal"] is None
    result = sd.verify_bundle(bundle, keys.verify_key_hex)
    assert result.ok and result.voided
    assert (list(result.selected), list(result.reserves)) == tuple(discarded)
    audit = await session.scalar(select(AuditEntry).where(AuditEntry.subject == f"draw:{draw.draw_id}",
                                                          AuditEntry.action == "draw.voided"))
    assert audit.data["seed_published"] is True and record["center_seed"] not in str(audit.data)


async def test_a_void_record_is_checked_like_every_other_record(session, keys):
    draw = await committed(session, keys)
    draw = await supply_witness(session, keys, draw.draw_id, value="w", by="user:7:supervisor")
    draw = await void_draw(session, keys, draw.draw_id, reason="会场停电", actor="user:1:admin",
                           approved_by_supervisor="user:7:supervisor")
    bundle = draw_bundle(draw, keys)

    def forged(**changes):
        record = {**bundle["void"]["record"], **changes}
        return {**bundle, "void": {"record": record, "signature": keys.sign(record)}}

    tampered = {**bundle, "void": {**bundle["void"], "record": {**bundle["void"]["record"], "reason": "结果不理想"}}}
    assert sd.verify_bundle(tampered, keys.verify_key_hex).failed_check == "void_signature"
    assert sd.verify_bundle(forged(center_seed=None), keys.verify_key_hex).failed_check == "void_seed"
    assert sd.verify_bundle(forged(approved_by=None), keys.verify_key_hex).failed_check == "void_approval"
    assert sd.verify_bundle(forged(center_seed="00" * 32), keys.verify_key_hex).failed_check == "commitment"
    assert sd.verify_bundle(forged(voided_at="2000-01-01T00:00:00Z"), keys.verify_key_hex).failed_check == "timeline"
    assert sd.verify_bundle(forged(protocol="sealed-draw/1"), keys.verify_key_hex).failed_check == "void_record"


async def test_the_database_never_deletes_a_draw(session, keys):
    draw = await committed(session, keys)
    with pytest.raises(DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(text("DELETE FROM draws WHERE draw_id = :d"), {"d": draw.draw_id})


@pytest.mark.parametrize(("column", "value", "check"), [
    ("pool", """(pool - 0) || '["EXP9999"]'::jsonb""", "pool_digest"),
    ("witness_value", "'someone else'", "witness"),
    ("reveal_record", """jsonb_set(reveal_record, '{center_seed}', to_jsonb(repeat('0', 64)))""", "reveal_signature"),
    ("reveal_record", """jsonb_set(reveal_record, '{selected,0}', '"EXP9999"')""", "reveal_signature"),
    ("commit_record", """jsonb_set(commit_record, '{pool_size}', '31')""", "commit_signature"),
    ("commit_signature", "repeat('0', 128)", "commit_signature"),
    ("reveal_signature", "repeat('0', 128)", "reveal_signature"),
])
async def test_tampering_with_any_stored_piece_fails_verification(session, keys, column, value, check):
    draw = await revealed(session, keys)
    await session.execute(text(f"UPDATE draws SET {column} = {value} WHERE draw_id = :d"), {"d": draw.draw_id})
    tampered = await session.scalar(select(Draw).where(Draw.draw_id == draw.draw_id)
                                    .execution_options(populate_existing=True))
    result = sd.verify_bundle(draw_bundle(tampered, keys), keys.verify_key_hex)
    assert not result.ok and result.failed_check == check, result.message


async def test_every_step_is_in_the_audit_log(session, keys):
    draw = await revealed(session, keys)
    actions = (await session.scalars(select(AuditEntry.action).where(AuditEntry.subject == f"draw:{draw.draw_id}")
                                      .order_by(AuditEntry.seq))).all()
    assert actions == ["draw.committed", "draw.witnessed", "draw.revealed"]
