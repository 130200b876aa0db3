"""The audit chain (audit-chain/1): pure functions, no database.

Each entry is hashed over its canonical JSON, which includes the previous entry's hash,
so altering, removing, inserting or reordering any entry breaks every later link.
Checkpoints are the center's signatures over ``(seq, hash)`` at a moment; a verifier
holding the center's verify key can prove that the chain it sees is the one signed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from trading.canonical import canon, sha256_hex
from trading.keys import verify_signature

PROTOCOL = "audit-chain/1"
CHECKPOINT_PROTOCOL = "audit-checkpoint/1"
GENESIS_HASH = "0" * 64


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds: the one spelling a timestamptz round-trips to."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_body(
    seq: int, at: datetime | str, actor: str, action: str, subject: str, data: Mapping[str, Any], prev_hash: str
) -> dict[str, Any]:
    return {
        "protocol": PROTOCOL,
        "seq": seq,
        "at": at if isinstance(at, str) else format_time(at),
        "actor": actor,
        "action": action,
        "subject": subject,
        "data": dict(data),
        "prev_hash": prev_hash,
    }


def entry_hash(body: Mapping[str, Any]) -> str:
    return sha256_hex(canon(dict(body)))


def checkpoint_record(seq: int, chain_hash: str, at: datetime | str) -> dict[str, Any]:
    return {
        "protocol": CHECKPOINT_PROTOCOL,
        "seq": seq,
        "hash": chain_hash,
        "at": at if isinstance(at, str) else format_time(at),
    }


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    checkpoints: int
    problem: str | None = None
    bad_seq: int | None = None

    def describe(self) -> str:
        if self.ok:
            return f"审计日志完整：{self.entries} 条记录，{self.checkpoints} 个签名检查点均有效"
        return f"审计日志校验失败：{self.problem}"


def verify_chain(
    entries: Iterable[Mapping[str, Any]],
    checkpoints: Iterable[Mapping[str, Any]] = (),
    verify_key_hex: str | None = None,
) -> ChainReport:
    """Recompute the chain and check the checkpoints; name the first bad entry.

    ``entries`` are dicts with the body fields plus ``hash``, in ascending ``seq`` order.
    ``checkpoints`` are dicts with ``record`` and ``signature``.
    """
    prev_hash = GENESIS_HASH
    expected_seq = 1
    hashes: dict[int, str] = {}
    count = 0
    for entry in entries:
        seq = entry.get("seq")
        if seq != expected_seq:
            return ChainReport(False, count, 0, f"第 {expected_seq} 条记录缺失或顺序错乱（出现的是第 {seq} 条）", expected_seq)
        if entry.get("prev_hash") != prev_hash:
            return ChainReport(False, count, 0, f"第 {seq} 条记录的前序哈希与第 {seq - 1} 条不符", seq)
        body = {key: entry[key] for key in ("protocol", "seq", "at", "actor", "action", "subject", "data", "prev_hash")}
        if entry_hash(body) != entry.get("hash"):
            return ChainReport(False, count, 0, f"第 {seq} 条记录内容与其哈希不符（记录被改动）", seq)
        prev_hash = entry["hash"]
        hashes[seq] = prev_hash
        expected_seq += 1
        count += 1

    checked = 0
    for checkpoint in checkpoints:
        record = checkpoint["record"]
        seq = record.get("seq")
        if verify_key_hex is not None and not verify_signature(record, checkpoint["signature"], verify_key_hex):
            return ChainReport(False, count, checked, f"截至第 {seq} 条的检查点签名无效", seq)
        if seq not in hashes:
            return ChainReport(False, count, checked, f"检查点指向的第 {seq} 条记录不存在（记录被删除）", seq)
        if hashes[seq] != record.get("hash"):
            return ChainReport(False, count, checked, f"第 {seq} 条记录的哈希与签名检查点不符（链被改写）", seq)
        checked += 1
    return ChainReport(True, count, checked)
