"""sealed-bid-key-rotation/1: replacing a bidder's identity key with proof of holding it
(../shared/specs/sealed-bid.md, "Bidder key registration and rotation", revision 2).

Pure functions, no database, no HTTP; the service (``bidding.bids.bidder_keys``), the command
line and the browser page build and check the same request. The request is exactly::

    {"protocol": "sealed-bid-key-rotation/1", "bidder_code": "<统一社会信用代码>",
     "old_verify_key": "<64 hex>", "new_verify_key": "<64 hex>", "at": "<RFC 3339 UTC, Z>"}

signed by the OLD key: Ed25519 over ``canon(request)`` (canon as in sealed-draw.md), hex.
``at`` is when the bidder signed it; the server takes it within :data:`MAX_SKEW` of its
own clock either way, so a request cannot be kept and used later.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import nacl.signing

from trading.canonical import canon
from trading.errors import InvalidInput
from trading.keys import verify_signature
from trading.timefmt import rfc3339

PROTOCOL = "sealed-bid-key-rotation/1"
FIELDS = ("protocol", "bidder_code", "old_verify_key", "new_verify_key", "at")
# How far ``at`` may be from the server's clock (either way): bidders' clocks drift a little.
MAX_SKEW = timedelta(minutes=10)

_KEY_HEX = re.compile(r"[0-9a-f]{64}")
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")
_SIGNATURE_HEX = re.compile(r"[0-9a-f]{128}")


def _verify_key_hex(key: nacl.signing.VerifyKey | str) -> str:
    return key.encode().hex() if isinstance(key, nacl.signing.VerifyKey) else key


def rotation_request(bidder_code: str, old_verify_key: nacl.signing.VerifyKey | str,
                     new_verify_key: nacl.signing.VerifyKey | str, at: datetime) -> dict[str, Any]:
    """The request to replace ``old_verify_key`` by ``new_verify_key``, made at ``at``."""
    if at.tzinfo is None:
        raise InvalidInput("轮换请求的时间必须带时区", code="naive_time")
    return {"protocol": PROTOCOL, "bidder_code": bidder_code, "old_verify_key": _verify_key_hex(old_verify_key),
            "new_verify_key": _verify_key_hex(new_verify_key), "at": rfc3339(at)}


def sign_rotation(request: Mapping[str, Any], old_signing_key: nacl.signing.SigningKey) -> str:
    """The OLD key's signature over ``canon(request)``, hex."""
    return old_signing_key.sign(canon(dict(request))).signature.hex()


def check_rotation_request(request: Any) -> dict[str, Any]:
    """The request with exactly the protocol's fields, well formed; else :class:`InvalidInput`
    (code ``rotation_format``)."""
    if not isinstance(request, Mapping) or set(request) != set(FIELDS) or request.get("protocol") != PROTOCOL:
        raise InvalidInput(f"密钥轮换请求格式不符合 {PROTOCOL}：应恰好含字段 {'、'.join(FIELDS)}",
                           code="rotation_format", field="request")
    if not all(isinstance(request[name], str) for name in FIELDS):
        raise InvalidInput("密钥轮换请求的各字段应为字符串", code="rotation_format", field="request")
    for name in ("old_verify_key", "new_verify_key"):
        if not _KEY_HEX.fullmatch(request[name]):
            raise InvalidInput(f"密钥轮换请求的 {name} 应为 64 位小写十六进制（Ed25519 公钥）",
                               code="rotation_format", field="request")
    if request["old_verify_key"] == request["new_verify_key"]:
        raise InvalidInput("新公钥与旧公钥相同，无需轮换", code="rotation_format", field="request")
    signed_at(request)
    return {name: request[name] for name in FIELDS}


def signed_at(request: Mapping[str, Any]) -> datetime:
    """``at`` read as a UTC moment (RFC 3339 ending in Z)."""
    text = request.get("at")
    if not isinstance(text, str) or not _MOMENT.fullmatch(text):
        raise InvalidInput("密钥轮换请求的时间 at 应为 RFC 3339 协调世界时，以 Z 结尾（如 2026-12-07T08:30:00Z）",
                           code="rotation_format", field="request")
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError:
        raise InvalidInput(f"密钥轮换请求的时间 {text} 不是有效的日期时间", code="rotation_format",
                           field="request") from None


def check_rotation_time(request: Mapping[str, Any], now: datetime) -> None:
    """``at`` within :data:`MAX_SKEW` of ``now``: an old request cannot be replayed later, nor
    one dated ahead kept for later (code ``rotation_stale``)."""
    minutes = int(MAX_SKEW.total_seconds() // 60)
    if abs(now - signed_at(request)) > MAX_SKEW:
        raise InvalidInput(f"密钥轮换请求的签名时间与平台时间相差超过 {minutes} 分钟，已拒绝：请核对本机时间后重新签名提交",
                           code="rotation_stale", field="request", max_skew_minutes=minutes)


def verify_rotation(request: Mapping[str, Any], signature: Any) -> None:
    """The signature is the OLD key's over ``canon(request)``; else :class:`InvalidInput`
    (code ``rotation_signature``)."""
    if not isinstance(signature, str) or not _SIGNATURE_HEX.fullmatch(signature) \
            or not verify_signature(dict(request), signature, request["old_verify_key"]):
        raise InvalidInput("密钥轮换请求的签名无效：须由旧身份密钥对请求签名，且请求内容未被改动",
                           code="rotation_signature", field="signature")


def rotation_sha256(request: Mapping[str, Any]) -> str:
    """``hex(H(canon(request)))``: names a request once (a replay is refused by it)."""
    return hashlib.sha256(canon(dict(request))).hexdigest()
