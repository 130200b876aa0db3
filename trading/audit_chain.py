"""The audit chain (audit-chain/1): pure functions, no database.

Each entry is hashed over its canonical JSON, which includes the previous entry's hash,
so altering, removing, inserting or reordering any entry breaks every later link.
Checkpoints are the center's signatures over ``(seq, hash)`` at a moment; a verifier
holding the center's verify key can prove that the chain it sees is the one signed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trading.canonical import canon, sha256_hex
from trading.keys import verify_signature
from trading.timefmt import rfc3339

PROTOCOL = "audit-chain/1"
CHECKPOINT_PROTOCOL = "audit-checkpoint/1"
GENESIS_HASH = "0" * 64


def entry_body(
    seq: int, at: datetime | str, actor: str, action: str, subject: str, data: Mapping[str, Any], prev_hash: str
) -> dict[str, Any]:
    return {
        "protocol": PROTOCOL,
        "seq": seq,
        "at": at if isinstance(at, str) else rfc3339(at),
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
        "at": at if isinstance(at, str) else rfc3339(at),
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


class ChainVerifier:
    """Checks a chain fed one entry at a time, keeping only the hashes checkpoints name.

    Memory stays proportional to the number of checkpoints, not of entries, so a log of
    any length can be verified as a stream. Chain problems take precedence over
    checkpoint problems, whichever comes first in the stream.
    """

    _BODY_FIELDS = ("protocol", "seq", "at", "actor", "action", "subject", "data", "prev_hash")

    def __init__(self, checkpoints: Iterable[Mapping[str, Any]] = (), verify_key_hex: str | None = None) -> None:
        self.checkpoints = list(checkpoints)
        self.verify_key_hex = verify_key_hex
        self._wanted = {cp["record"].get("seq") for cp in self.checkpoints}
        self._hashes: dict[int, str] = {}
        self._prev_hash = GENESIS_HASH
        self.count = 0
        self.problem: ChainReport | None = None

    def add(self, entry: Mapping[str, Any]) -> bool:
        """Check the next entry; False once the chain is broken (stop feeding then)."""
        if self.problem is not None:
            return False
        expected_seq = self.count + 1
        seq = entry.get("seq")
        if seq != expected_seq:
            return self._fail(f"第 {expected_seq} 条记录缺失或顺序错乱（出现的是第 {seq} 条）", expected_seq)
        seq = expected_seq  # name it as an int even where an edited file says 1.0 or true
        if entry.get("prev_hash") != self._prev_hash:
            return self._fail(f"第 {seq} 条记录的前序哈希与第 {seq - 1} 条不符", seq)
        # A tampered entry may lack a field or hold a value with no canonical form (a float
        # in an edited export): that is a content mismatch to report, not a crash.
        body = {key: entry.get(key) for key in self._BODY_FIELDS}
        try:
            recomputed = entry_hash(body)
        except (TypeError, ValueError):
            recomputed = None
        if recomputed is None or recomputed != entry.get("hash"):
            return self._fail(f"第 {seq} 条记录内容与其哈希不符（记录被改动）", seq)
        self._prev_hash = entry["hash"]
        if seq in self._wanted:
            self._hashes[seq] = self._prev_hash
        self.count += 1
        return True

    def _fail(self, problem: str, seq: int) -> bool:
        self.problem = ChainReport(False, self.count, 0, problem, seq)
        return False

    def report(self) -> ChainReport:
        if self.problem is not None:
            return self.problem
        checked = 0
        for checkpoint in self.checkpoints:
            record = checkpoint["record"]
            seq = record.get("seq")
            if self.verify_key_hex is not None and not verify_signature(record, checkpoint["signature"], self.verify_key_hex):
                return ChainReport(False, self.count, checked, f"截至第 {seq} 条的检查点签名无效", seq)
            if seq not in self._hashes:
                return ChainReport(False, self.count, checked, f"检查点指向的第 {seq} 条记录不存在（记录被删除）", seq)
            if self._hashes[seq] != record.get("hash"):
                return ChainReport(False, self.count, checked, f"第 {seq} 条记录的哈希与签名检查点不符（链被改写）", seq)
            checked += 1
        return ChainReport(True, self.count, checked)


def verify_chain(
    entries: Iterable[Mapping[str, Any]],
    checkpoints: Iterable[Mapping[str, Any]] = (),
    verify_key_hex: str | None = None,
) -> ChainReport:
    """Recompute the chain and check the checkpoints; name the first bad entry.

    ``entries`` are dicts with the body fields plus ``hash``, in ascending ``seq`` order.
    ``checkpoints`` are dicts with ``record`` and ``signature``.
    """
    verifier = ChainVerifier(checkpoints, verify_key_hex)
    for entry in entries:
        if not verifier.add(entry):
            break
    return verifier.report()
