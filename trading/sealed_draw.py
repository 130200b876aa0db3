"""sealed-draw/1: verifiable sealed random draws (../shared/specs/sealed-draw.md).

Pure functions that follow the spec's steps and carry its names; no database, no HTTP.
The database-backed workflow (``trading.draws``) and every verifier call these.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trading.canonical import canon
from trading.keys import verify_signature

PROTOCOL = "sealed-draw/1"
COMMIT_FIELDS = ("protocol", "draw_id", "purpose", "project_code", "criteria", "pool_size", "pool_digest",
                 "count", "reserve_count", "commitment", "committed_at")
REVEAL_FIELDS = ("protocol", "draw_id", "center_seed", "witness", "selected", "reserves", "revealed_at")
VOID_PROTOCOL = "sealed-draw-void/1"
VOID_FIELDS = ("protocol", "draw_id", "reason", "approved_by", "voided_at", "center_seed")


def H(data: bytes) -> bytes:  # noqa: N802 - the spec's name
    return hashlib.sha256(data).digest()


def sorted_pool(codes: Sequence[str]) -> list[str]:
    """Step 1: deduplicate and sort ascending by UTF-8 bytes (UTF-8 keeps code point
    order, so Python's own string order is the same)."""
    return sorted(set(codes))


def pool_digest(pool: Sequence[str]) -> str:
    return H(canon(list(pool))).hex()


def commitment(draw_id: str, center_seed: bytes) -> str:
    """Step 2: the hash that binds the center to its secret seed before any witness."""
    return H(canon({"protocol": PROTOCOL, "draw_id": draw_id, "center_seed": center_seed.hex()})).hex()


def seed(draw_id: str, center_seed: bytes, witness: str, digest: str) -> bytes:
    """Step 4: the seed joins the center's entropy, the witness and the pool."""
    return H(canon({"protocol": PROTOCOL, "draw_id": draw_id, "center_seed": center_seed.hex(),
                    "witness": witness, "pool_digest": digest}))


def words(draw_seed: bytes) -> Iterator[int]:
    """Step 5: 64-bit big-endian words of blocks H(seed || i as 8-byte big-endian)."""
    block = 0
    while True:
        digest = H(draw_seed + block.to_bytes(8, "big"))
        for offset in range(0, 32, 8):
            yield int.from_bytes(digest[offset:offset + 8], "big")
        block += 1


def uniform(stream: Iterator[int], m: int) -> int:
    """Step 5: an unbiased integer in [0, m) by rejection sampling."""
    limit = 2**64 - (2**64 % m)
    for x in stream:
        if x < limit:
            return x % m
    raise AssertionError("the stream is endless")


def select(pool: Sequence[str], draw_seed: bytes, count: int, reserve_count: int) -> tuple[list[str], list[str]]:
    """Step 6: a partial Fisher-Yates shuffle of the sorted pool; (selected, reserves)."""
    a = list(pool)
    n = len(a)
    m = min(count + reserve_count, n)
    stream = words(draw_seed)
    for j in range(m):
        t = j + uniform(stream, n - j)
        a[j], a[t] = a[t], a[j]
    return a[:count], a[count:m]


def draw(pool: Sequence[str], draw_id: str, center_seed: bytes, witness: str, count: int,
         reserve_count: int) -> tuple[list[str], list[str]]:
    """Steps 4-6 on an already sorted pool."""
    return select(pool, seed(draw_id, center_seed, witness, pool_digest(pool)), count, reserve_count)


@dataclass(frozen=True)
class Verification:
    ok: bool
    revealed: bool
    failed_check: str | None = None
    message: str = ""
    selected: tuple[str, ...] = ()
    reserves: tuple[str, ...] = ()
    # A voided draw: selected/reserves are then what it would have selected (seed published).
    voided: bool = False


def _moment(text: str) -> datetime:
    if not text.endswith("Z"):
        raise ValueError(f"timestamp {text!r} is not RFC 3339 UTC ending in Z")
    return datetime.fromisoformat(text)


def _fail(check: str, message: str) -> Verification:
    return Verification(False, False, check, message)


def verify_bundle(bundle: Mapping[str, Any], trusted_key_hex: str) -> Verification:
    """Run the spec's checks on a draw bundle; the first failing check is named.

    ``trusted_key_hex`` comes from the verifier: the bundle's own ``verify_key`` is only a
    hint, and a bundle whose key differs from the trusted one fails.
    """
    try:
        return _verify(bundle, trusted_key_hex)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return _fail("format", f"抽取记录格式不正确：{exc.__class__.__name__}: {exc}")


def _verify(bundle: Mapping[str, Any], key: str) -> Verification:
    if bundle.get("verify_key") not in (None, key):
        return _fail("verify_key", "记录所附公钥与所信任的中心公钥不一致")
    commit = bundle["commit"]
    record = commit["record"]
    if record.get("protocol") != PROTOCOL or set(record) != set(COMMIT_FIELDS):
        return _fail("commit_record", "承诺记录字段不符合 sealed-draw/1")
    if not verify_signature(record, commit["signature"], key):
        return _fail("commit_signature", "承诺记录签名无效")
    reveal, pool = bundle.get("reveal"), bundle.get("pool")
    if bundle.get("void") is not None:
        if reveal is not None:
            return _fail("void", "已揭晓的抽取不能再作废：记录自相矛盾")
        return _verify_void(bundle, record, key)
    if reveal is None:
        return Verification(True, False, None, "承诺记录签名有效；抽取结果尚未揭晓")
    reveal_record = reveal["record"]
    if reveal_record.get("protocol") != PROTOCOL or set(reveal_record) != set(REVEAL_FIELDS):
        return _fail("reveal_record", "揭晓记录字段不符合 sealed-draw/1")
    if not verify_signature(reveal_record, reveal["signature"], key):
        return _fail("reveal_signature", "揭晓记录签名无效")
    if reveal_record["draw_id"] != record["draw_id"]:
        return _fail("draw_id", "揭晓记录与承诺记录不属于同一次抽取")
    failure = _pool_failure(pool, record)
    if failure is not None:
        return failure
    center_seed = bytes.fromhex(reveal_record["center_seed"])
    if commitment(record["draw_id"], center_seed) != record["commitment"]:
        return _fail("commitment", "中心种子与事先承诺不符")
    witness = bundle.get("witness") or {}
    if witness.get("value", "") != reveal_record["witness"]:
        return _fail("witness", "见证值与揭晓记录不符")
    selected, reserves = draw(pool, record["draw_id"], center_seed, reveal_record["witness"],
                              record["count"], record["reserve_count"])
    if selected != reveal_record["selected"] or reserves != reveal_record["reserves"]:
        return _fail("selection", "按种子重算的抽取结果与公布结果不符")
    if not reveal_record["witness"] and (record["criteria"] or {}).get("witness") != "none":
        return _fail("witness", "见证值为空，但承诺记录未声明本次抽取无需见证")
    committed_at, revealed_at = _moment(record["committed_at"]), _moment(reveal_record["revealed_at"])
    witnessed_at = _moment(witness["at"]) if witness.get("at") else None
    if witnessed_at is not None and not committed_at < witnessed_at < revealed_at:
        return _fail("timeline", "时间顺序不符：应先承诺、再见证、后揭晓")
    if not committed_at < revealed_at:
        return _fail("timeline", "时间顺序不符：应先承诺、后揭晓")
    return Verification(True, True, None, "全部校验通过", tuple(selected), tuple(reserves))


def _pool_failure(pool: Sequence[str] | None, record: Mapping[str, Any]) -> Verification | None:
    if pool is None or pool_digest(pool) != record["pool_digest"]:
        return _fail("pool_digest", "候选名单与承诺的名单摘要不符")
    if len(pool) != record["pool_size"]:
        return _fail("pool_size", "候选名单人数与承诺不符")
    if list(pool) != sorted_pool(pool):
        return _fail("pool_order", "候选名单未按规定去重排序")
    return None


def _verify_void(bundle: Mapping[str, Any], record: Mapping[str, Any], key: str) -> Verification:
    """A voided draw (spec: sealed-draw-void/1): the void is signed; once the witness was in,
    it must publish the center's seed, which must match the commitment, and then what the
    draw would have selected is computed from the published pool."""
    void = bundle["void"]
    void_record = void["record"]
    if void_record.get("protocol") != VOID_PROTOCOL or set(void_record) != set(VOID_FIELDS):
        return _fail("void_record", "作废记录字段不符合 sealed-draw-void/1")
    if not verify_signature(void_record, void["signature"], key):
        return _fail("void_signature", "作废记录签名无效")
    if void_record["draw_id"] != record["draw_id"]:
        return _fail("draw_id", "作废记录与承诺记录不属于同一次抽取")
    witness = bundle.get("witness") or {}
    witnessed = bool(witness.get("at"))
    if witnessed and void_record["center_seed"] is None:
        return _fail("void_seed", "见证值提交后作废，作废记录却未公布中心种子")
    if witnessed and not void_record["approved_by"]:
        return _fail("void_approval", "见证值提交后作废须经监督人员批准，作废记录未载明批准人")
    committed_at, voided_at = _moment(record["committed_at"]), _moment(void_record["voided_at"])
    if not committed_at < voided_at or (witnessed and not _moment(witness["at"]) < voided_at):
        return _fail("timeline", "时间顺序不符：作废应在承诺（及见证）之后")
    message = ("作废记录签名有效：本次抽取已作废（见证值提交后作废，经监督人员批准，已公布中心种子）" if witnessed
               else "作废记录签名有效：本次抽取已作废（见证值提交前作废，当时尚无抽取结果）")
    if void_record["center_seed"] is None:
        return Verification(True, False, None, message, voided=True)
    center_seed = bytes.fromhex(void_record["center_seed"])
    if commitment(record["draw_id"], center_seed) != record["commitment"]:
        return _fail("commitment", "作废记录公布的中心种子与事先承诺不符")
    if not witnessed:
        return Verification(True, False, None, message, voided=True)
    pool = bundle.get("pool")
    failure = _pool_failure(pool, record)
    if failure is not None:
        return failure
    selected, reserves = draw(pool, record["draw_id"], center_seed, witness.get("value", ""),
                              record["count"], record["reserve_count"])
    return Verification(True, False, None, message, tuple(selected), tuple(reserves), voided=True)
