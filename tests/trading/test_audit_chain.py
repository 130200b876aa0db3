"""The audit chain (audit-chain/1) as an auditor sees it: a correct chain verifies, and
every kind of tampering is caught with the first bad entry named.

Pure tests, no database. What ``bad_seq`` names, for an original chain of entries 1..n:

- a field of entry k altered (any field, including ``seq``, ``prev_hash`` and ``hash``,
  or a field removed) → k;
- entry k removed → k (the missing number), whether it was the first, a middle one or the
  last one that a checkpoint covers;
- entries i < j swapped → i (position i now holds entry j);
- a forged entry inserted before entry p: p when it does not link to entry p-1; p+1 when
  it does (the forgery alone looks sound, the displaced original entry no longer fits);
- the chain consistently rewritten from entry k (hashes recomputed) → the chain check
  passes; the first signed checkpoint at or after k names its own seq;
- a checkpoint with a bad signature, or signed by another key → that checkpoint's seq.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import nacl.signing
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.audit_chain import GENESIS_HASH, checkpoint_record, entry_body, entry_hash, verify_chain
from trading.canonical import MAX_SAFE_INTEGER, canon
from trading.keys import CenterKeys
from trading.timefmt import rfc3339

CENTER = CenterKeys(signing_key=nacl.signing.SigningKey(bytes(range(32))), kek=bytes(32))
OTHER = CenterKeys(signing_key=nacl.signing.SigningKey(bytes(range(100, 132))), kek=bytes(32))
START = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
BODY_FIELDS = ("protocol", "seq", "at", "actor", "action", "subject", "data", "prev_hash")

# --- strategies --------------------------------------------------------------------------

CHINESE = "招标投标人采购代理开评标专家公示中标候选通知书保证金退付监督投诉济宁市工程"
texts = st.one_of(st.text(max_size=20), st.text(alphabet=CHINESE, min_size=1, max_size=12))
keys_ = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=10)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER), texts)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys_, children, max_size=4)),
    max_leaves=8,
)
data_dicts = st.dictionaries(keys_, json_values, max_size=5)
actors = st.one_of(
    st.just("system"),
    st.builds(lambda n, name: f"user:{n}:{name}", st.integers(1, 10_000), st.text(alphabet="abcdefgh0123456789", min_size=1, max_size=8)),
)
actions = st.sampled_from(["project.registered", "announcement.published", "bid.sealed", "bid.opened",
                           "draw.revealed", "award.issued", "deposit.refunded", "user.logged_in"])
subjects = st.one_of(st.builds(lambda n: f"project:JN-2026-GC-{n:04d}", st.integers(1, 9999)), texts)
# The last item is the microseconds since the previous entry: clock_timestamp() moves on.
events = st.tuples(actors, actions, subjects, data_dicts, st.integers(1, 10**9))
hex64 = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
# What an attacker may write into an exported file: any JSON, floats included.
tampered_values = st.one_of(json_values, st.floats(allow_nan=False, allow_infinity=False))


def build_chain(specs: list[tuple[str, str, str, dict, int]]) -> list[dict[str, Any]]:
    """Entries exactly as ``record_event`` makes them (times ascending, hashes linked)."""
    entries, prev, at = [], GENESIS_HASH, START
    for seq, (actor, action, subject, data, micros) in enumerate(specs, start=1):
        at += timedelta(microseconds=micros)
        body = entry_body(seq, at, actor, action, subject, data, prev)
        prev = entry_hash(body)
        entries.append({**body, "hash": prev})
    return entries


def rehash(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What an attacker with write access does to hide a change: renumber and relink all."""
    out, prev = [], GENESIS_HASH
    for seq, entry in enumerate(entries, start=1):
        body = {**{key: entry[key] for key in BODY_FIELDS}, "seq": seq, "prev_hash": prev}
        prev = entry_hash(body)
        out.append({**body, "hash": prev})
    return out


def sign_checkpoints(entries: list[dict[str, Any]], seqs: list[int], keys: CenterKeys = CENTER) -> list[dict[str, Any]]:
    checkpoints = []
    for seq in seqs:
        record = checkpoint_record(seq, entries[seq - 1]["hash"], rfc3339(START + timedelta(days=1, seconds=seq)))
        checkpoints.append({"record": record, "signature": keys.sign(record), "key_id": keys.key_id})
    return checkpoints


@st.composite
def chains(draw, min_size: int = 1, max_size: int = 8, min_checkpoints: int = 0):
    """A correct chain and the seqs at which the center signed checkpoints."""
    entries = build_chain(draw(st.lists(events, min_size=min_size, max_size=max_size)))
    seqs = draw(st.lists(st.integers(1, len(entries)), min_size=min_checkpoints, unique=True, max_size=4))
    return entries, sorted(seqs)


def different(draw, strategy, old):
    """A value of ``strategy`` whose canonical JSON differs from ``old``'s."""
    def spelling(value):
        try:
            return canon(value)
        except (TypeError, ValueError):
            return repr(value).encode()
    return draw(strategy.filter(lambda new: spelling(new) != spelling(old)))


def assert_bad(report, bad_seq: int, *words: str) -> None:
    assert not report.ok
    assert type(report.bad_seq) is int and report.bad_seq == bad_seq, report.problem
    assert f"第 {bad_seq} 条" in report.problem
    for word in words:
        assert word in report.problem
    assert report.describe().startswith("审计日志校验失败")


def verify(entries, checkpoints=(), key: CenterKeys | None = CENTER):
    return verify_chain(entries, checkpoints, key.verify_key_hex if key else None)


# --- a correct chain ---------------------------------------------------------------------

@settings(database=None)
@given(chains())
def test_a_correct_chain_with_its_checkpoints_verifies(chain):
    entries, seqs = chain
    report = verify(entries, sign_checkpoints(entries, seqs))
    assert report.ok and report.bad_seq is None and report.problem is None
    assert (report.entries, report.checkpoints) == (len(entries), len(seqs))
    assert report.describe() == f"审计日志完整：{len(entries)} 条记录，{len(seqs)} 个签名检查点均有效"


def test_an_empty_log_verifies():
    assert verify([]).ok


# --- altered entries ---------------------------------------------------------------------

@settings(database=None)
@given(chains(), st.data())
def test_altering_any_field_of_any_entry_names_that_entry(chain, data):
    entries, seqs = chain
    checkpoints = sign_checkpoints(entries, seqs)
    k = data.draw(st.integers(1, len(entries)), label="k")
    field = data.draw(st.sampled_from(BODY_FIELDS + ("hash",)), label="field")
    entry = entries[k - 1]
    old = entry[field]
    if field == "data":
        if old and data.draw(st.booleans()):
            key = data.draw(st.sampled_from(sorted(old)))
            new = {**old, key: different(data.draw, tampered_values, old[key])}
        else:
            new = {**old, data.draw(keys_.filter(lambda key: key not in old)): data.draw(tampered_values)}
    elif field == "seq":
        new = different(data.draw, st.one_of(st.integers(-5, 20), st.booleans(), st.floats(-5, 20), st.text(max_size=3), st.none()), old)
    elif field == "at":
        new = different(data.draw, st.builds(rfc3339, st.datetimes(timezones=st.just(UTC))), old)
    elif field in ("prev_hash", "hash"):
        new = different(data.draw, hex64, old)
    else:
        new = different(data.draw, st.one_of(texts, tampered_values), old)
    entries[k - 1] = {**entry, field: new}

    report = verify(entries, checkpoints)
    assert_bad(report, k)
    assert report.entries == k - 1


@pytest.mark.parametrize("field", BODY_FIELDS + ("hash",))
def test_an_entry_with_a_field_removed_is_named_not_a_crash(field):
    entries = build_chain([("system", "bid.sealed", "project:JN-2026-GC-0007", {"amount_fen": 1}, 1)] * 3)
    del entries[1][field]
    assert_bad(verify(entries), 2)


# --- removed, reordered, inserted entries ------------------------------------------------

@settings(database=None)
@given(chains(min_size=2), st.sampled_from(["first", "middle", "last"]), st.data())
def test_removing_an_entry_names_the_missing_seq(chain, where, data):
    """The last entry can only be missed when a checkpoint covers it (see the limit below)."""
    entries, seqs = chain
    n = len(entries)
    if where == "last":
        seqs = sorted(set(seqs) | {n})
    checkpoints = sign_checkpoints(entries, seqs)
    k = {"first": 1, "last": n}.get(where) or data.draw(st.integers(1, n - 1), label="k")
    del entries[k - 1]

    report = verify(entries, checkpoints)
    if where == "last":
        assert_bad(report, n, "检查点", "不存在")
        assert report.entries == n - 1
    else:
        assert_bad(report, k, "缺失或顺序错乱")
        assert report.entries == k - 1


@settings(database=None)
@given(chains(min_size=2), st.data())
def test_swapping_two_entries_names_the_first_position_swapped(chain, data):
    entries, seqs = chain
    checkpoints = sign_checkpoints(entries, seqs)
    i, j = sorted(data.draw(st.lists(st.integers(1, len(entries)), min_size=2, max_size=2, unique=True), label="i,j"))
    entries[i - 1], entries[j - 1] = entries[j - 1], entries[i - 1]
    report = verify(entries, checkpoints)
    assert_bad(report, i, "缺失或顺序错乱", f"出现的是第 {j} 条")


@settings(database=None)
@given(chains(), events, st.booleans(), st.data())
def test_inserting_a_forged_entry_is_detected(chain, forged, renumber_the_rest, data):
    """A forgery linked to its predecessor passes by itself: the break shows on the next
    entry, p+1. One not even linked is named at its own position p."""
    entries, seqs = chain
    checkpoints = sign_checkpoints(entries, seqs)
    p = data.draw(st.integers(1, len(entries)), label="p")
    linked = data.draw(st.booleans(), label="linked")
    actor, action, subject, payload, _ = forged
    prev = entries[p - 2]["hash"] if p > 1 else GENESIS_HASH
    if not linked:
        prev = different(data.draw, hex64, prev)
    body = entry_body(p, entries[p - 1]["at"], actor, action, subject, payload, prev)
    entries.insert(p - 1, {**body, "hash": entry_hash(body)})
    if renumber_the_rest:  # renumbered but not rehashed: the links still break
        for entry in entries[p:]:
            entry["seq"] += 1

    report = verify(entries, checkpoints)
    if not linked:
        assert_bad(report, p, "前序哈希")
    elif renumber_the_rest:
        assert_bad(report, p + 1, "前序哈希")
    else:
        assert_bad(report, p + 1, "缺失或顺序错乱", f"出现的是第 {p} 条")


# --- consistent rewrites and checkpoints -------------------------------------------------

@settings(database=None)
@given(chains(min_checkpoints=1), st.sampled_from(["alter", "remove", "insert"]), events, st.data())
def test_a_consistently_rewritten_chain_fails_against_the_signed_checkpoint_covering_it(chain, how, forged, data):
    entries, seqs = chain
    checkpoints = sign_checkpoints(entries, seqs)
    k = data.draw(st.integers(1, seqs[-1]), label="k")  # at or before the last checkpoint
    actor, action, subject, payload, micros = forged
    forged_entry = build_chain([(actor, action, subject, {**payload, "forged-by": "attacker"}, micros)])[0]
    rewritten = copy.deepcopy(entries)
    if how == "alter":
        rewritten[k - 1]["data"] = {**rewritten[k - 1]["data"], "altered-by": "attacker"}
    elif how == "remove":
        del rewritten[k - 1]
    else:
        rewritten.insert(k - 1, forged_entry)
    rewritten = rehash(rewritten)

    assert verify(rewritten).ok, "the chain alone cannot tell a full rewrite"
    covering = next(seq for seq in seqs if seq >= k)
    report = verify(rewritten, checkpoints)
    assert_bad(report, covering, "检查点")
    assert report.checkpoints == seqs.index(covering), "checkpoints before the rewrite still hold"


@settings(database=None)
@given(chains(min_checkpoints=1), st.data())
def test_a_rewrite_resigned_with_another_key_fails_on_the_signature(chain, data):
    entries, seqs = chain
    k = data.draw(st.integers(1, seqs[-1]), label="k")
    entries[k - 1]["actor"] = "user:1:attacker"
    entries = rehash(entries)
    forged_checkpoints = sign_checkpoints(entries, seqs, OTHER)
    assert verify(entries, forged_checkpoints, OTHER).ok  # sound under the attacker's own key...
    assert_bad(verify(entries, forged_checkpoints, CENTER), seqs[0], "签名无效")  # ...not the center's


@settings(database=None)
@given(chains(min_checkpoints=1), st.sampled_from(["other_key", "flipped_bit", "record_altered", "garbage"]), st.data())
def test_a_checkpoint_with_a_bad_signature_is_named(chain, how, data):
    entries, seqs = chain
    checkpoints = sign_checkpoints(entries, seqs)
    index = data.draw(st.integers(0, len(seqs) - 1), label="checkpoint")
    checkpoint = checkpoints[index]
    if how == "other_key":
        checkpoint["signature"] = OTHER.sign(checkpoint["record"])
    elif how == "flipped_bit":
        raw = bytearray(bytes.fromhex(checkpoint["signature"]))
        raw[data.draw(st.integers(0, 63))] ^= 1 << data.draw(st.integers(0, 7))
        checkpoint["signature"] = raw.hex()
    elif how == "record_altered":
        checkpoint["record"] = {**checkpoint["record"], "at": rfc3339(START)}
    else:
        checkpoint["signature"] = data.draw(st.text(max_size=130))

    report = verify(entries, checkpoints)
    assert_bad(report, seqs[index], "检查点签名无效")
    assert report.checkpoints == index


def test_checkpoints_are_checked_only_against_the_key_the_verifier_trusts():
    entries = build_chain([("system", "award.issued", "project:JN-2026-GC-0007", {"winner": "甲公司"}, 5)] * 4)
    checkpoints = sign_checkpoints(entries, [2, 4])
    assert verify(entries, checkpoints, CENTER).ok
    assert_bad(verify(entries, checkpoints, OTHER), 2, "签名无效")


# --- the known limit ---------------------------------------------------------------------

@settings(database=None)
@given(chains(min_size=2, min_checkpoints=1), st.data())
def test_known_limit_truncating_the_tail_after_the_last_checkpoint_is_not_detected_by_the_chain(chain, data):
    """Entries after the last checkpoint are protected by nothing but the next checkpoint.
    An auditor must compare ``report.entries`` with the count the center published last
    (or make checkpoints often): the chain alone reports a shorter, sound log."""
    entries, seqs = chain
    checkpoints = sign_checkpoints(entries, seqs)
    keep = data.draw(st.integers(seqs[-1], len(entries)), label="keep")
    report = verify(entries[:keep], checkpoints)
    assert report.ok and report.entries == keep
    if keep > 1 and seqs[-1] == keep:
        # One more entry cut, into the checkpointed range, is caught.
        assert_bad(verify(entries[:keep - 1], checkpoints), keep, "不存在")
