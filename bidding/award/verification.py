"""Checking an award notice (中标通知书) PDF against the center's signature, offline.

The center signs (Ed25519, :meth:`trading.keys.CenterKeys.sign`) the canonical JSON of the
notice record, which holds the notice's data and the SHA-256 of the PDF as issued. The
signed bundle — ``{"record", "signature", "algorithm", "key_id"}`` — is published on the
verification page and by the API. A PDF is genuine when the bundle's signature verifies
under the center's public key and the PDF's SHA-256 is the one in the record. No database
and no network here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trading.canonical import sha256_hex
from trading.keys import SIGNATURE_ALGORITHM, key_id, verify_signature

AWARD_NOTICE_PROTOCOL = "award-notice/1"


@dataclass(frozen=True)
class AwardVerification:
    ok: bool
    message: str
    # The first check that failed: "bundle", "key", "signature" or "pdf_sha256".
    failed_check: str | None = None
    number: str | None = None
    pdf_sha256: str | None = None


def verify_award_notice(pdf: bytes | None, bundle: Any, verify_key_hex: str, *,
                        pdf_sha256: str | None = None) -> AwardVerification:
    """Check the bundle's signature and that the PDF (or its given SHA-256) is the one signed."""
    if not isinstance(bundle, dict) or not isinstance(bundle.get("record"), dict) \
            or not isinstance(bundle.get("signature"), str):
        return AwardVerification(False, "签名数据不完整：应包含 record 与 signature", "bundle")
    record = bundle["record"]
    number = record.get("number")
    if record.get("protocol") != AWARD_NOTICE_PROTOCOL:
        return AwardVerification(False, f"不是 {AWARD_NOTICE_PROTOCOL} 格式的中标通知书签名数据", "bundle", number)
    if bundle.get("key_id") not in (None, key_id(verify_key_hex)):
        return AwardVerification(False, f"签名所用密钥（{bundle.get('key_id')}）不是所信任的中心公钥"
                                        f"（{key_id(verify_key_hex)}）", "key", number)
    if not verify_signature(record, bundle["signature"], verify_key_hex):
        return AwardVerification(False, f"中标通知书 {number} 的签名无效：签名数据被篡改或非本中心签发",
                                 "signature", number)
    actual = sha256_hex(pdf) if pdf is not None else (pdf_sha256 or "").strip().lower()
    if actual != record.get("pdf_sha256"):
        return AwardVerification(False, f"文件与中标通知书 {number} 不符：文件 SHA-256 为 {actual}，"
                                        f"签发时为 {record.get('pdf_sha256')}", "pdf_sha256", number, actual)
    return AwardVerification(True, f"验证通过：中标通知书 {number} 由交易中心签发（{SIGNATURE_ALGORITHM}），"
                                   f"文件未被改动", None, number, actual)
