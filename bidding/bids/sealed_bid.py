"""sealed-bid/1: bids nobody can read before the opening (../shared/specs/sealed-bid.md).

Pure functions that follow the spec's steps and carry its names; no database, no HTTP.
The bidder's client (``bidding.bids.packaging``), the submission and the opening call these.

Sealing: ``seal`` = steps 2-5 (``encrypt_payload``, ``split_content_key``, ``seal_halves``,
``make_envelope``), after the bidder's client has checked the tender's key with
``verify_opening_key_record`` (revision 2). Submission: ``verify_envelope``, ``envelope_sha256``,
``receipt_record`` (``sealed-bid-receipt/2``; ``verify_receipt`` accepts ``/1`` too). Opening: ``open_center_half``, ``open_bidder_half``, ``open_bid``.
The bid package (step 1): ``make_package`` / ``read_package``.

Bidder key files (text, mode 0600, never overwritten), in one of two forms:

* plain: the 32-byte Ed25519 seed as 64 hex digits and a newline (as the center's keys);
* passphrase-derived: one line of JSON, no seed inside::

    {"format":"sealed-bid-key/1","kdf":"argon2id","opslimit":3,"memlimit":268435456,
     "salt":"<16 bytes hex>","verify_key":"<32 bytes hex>"}

  seed = ``nacl.pwhash.argon2id.kdf(32, UTF-8 of NFC(passphrase), salt, opslimit, memlimit)``;
  ``verify_key`` (public) tells a wrong passphrase from a right one. The same passphrase
  and file give the same key on any machine.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import lzma
import os
import re
import secrets
import stat
import unicodedata
import zipfile
import zlib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.signing
import nacl.utils
from nacl.public import PrivateKey, PublicKey, SealedBox

from trading.canonical import MAX_SAFE_INTEGER, canon
from trading.errors import InvalidInput
from trading.keys import verify_signature
from trading.timefmt import rfc3339

log = logging.getLogger(__name__)

PROTOCOL = "sealed-bid/1"
ENVELOPE_FIELDS = ("protocol", "tender_code", "bidder_code", "ciphertext_sha256", "ciphertext_size",
                   "sealed_center", "sealed_bidder")
# Revision 2: receipts carry no count (招标投标法 第二十二条: a bidder must not learn how many
# submitted before it). Receipts issued as /1, with their per-tender ``sequence``, still verify.
RECEIPT_PROTOCOL = "sealed-bid-receipt/2"
RECEIPT_FIELDS = ("protocol", "tender_code", "bidder_code", "ciphertext_sha256", "envelope_sha256", "received_at")
RECEIPT_V1_PROTOCOL = "sealed-bid-receipt/1"
RECEIPT_FIELDS_BY_PROTOCOL = {RECEIPT_PROTOCOL: RECEIPT_FIELDS, RECEIPT_V1_PROTOCOL: (*RECEIPT_FIELDS, "sequence")}
OPENING_KEY_PROTOCOL = "sealed-bid-opening-key/1"
OPENING_KEY_FIELDS = ("protocol", "tender_code", "public_key", "published_at")

KEY_SIZE = nacl.secret.SecretBox.KEY_SIZE  # K, K_b and K_c: 32 bytes
SEED_SIZE = 32  # bidder identity: an Ed25519 seed
# SecretBox combined format: 24-byte nonce, 16-byte MAC, then the encrypted payload.
MIN_CIPHERTEXT_SIZE = nacl.secret.SecretBox.NONCE_SIZE + nacl.secret.SecretBox.MACBYTES
# SealedBox of a 32-byte key half: 32-byte ephemeral public key, 16-byte MAC, 32 bytes.
SEALED_HALF_SIZE = 32 + 16 + KEY_SIZE

KEY_FILE_FORMAT = "sealed-bid-key/1"
MIN_PASSPHRASE_LENGTH = 10
ARGON2ID_OPSLIMIT = nacl.pwhash.argon2id.OPSLIMIT_MODERATE
ARGON2ID_MEMLIMIT = nacl.pwhash.argon2id.MEMLIMIT_MODERATE

BID_JSON = "bid.json"
# A guard against ZIP bombs when a package is read at the opening, not a trading rule.
MAX_PACKAGE_CONTENT = 1024**3

_HEX = re.compile(r"[0-9a-f]*")


class EnvelopeRejected(InvalidInput):
    """An envelope (or a receipt) failed a check; ``details["check"]`` names the first one."""

    code = "envelope_rejected"


class OpeningKeyRejected(InvalidInput):
    """A tender's opening key record failed the bidder's check: nothing may be sealed to it.
    ``details["check"]``: ``format``, ``tender_code`` or ``signature``."""

    code = "opening_key_rejected"


class BidNotDecrypted(InvalidInput):
    """A bid could not be opened; ``details["reason"]`` is recorded at the opening.

    Reasons: ``center_half`` (the tender key does not open ``sealed_center``),
    ``bidder_half`` (the bidder's key does not open ``sealed_bidder``), ``content_key``
    (``K_c XOR K_b`` does not open the ciphertext: its MAC fails).
    """

    code = "bid_not_decrypted"


# --------------------------------------------------------------------------- keys


def make_bidder_key() -> nacl.signing.SigningKey:
    """A new bidder identity key: a 32-byte Ed25519 seed from the OS CSPRNG."""
    return nacl.signing.SigningKey(secrets.token_bytes(SEED_SIZE))


def bidder_x25519_pk(verify_key: nacl.signing.VerifyKey) -> PublicKey:
    """The X25519 form of a bidder's verify key, which receives the bidder's half K_b."""
    return verify_key.to_curve25519_public_key()


def derive_bidder_key(passphrase: str, salt: bytes, opslimit: int = ARGON2ID_OPSLIMIT,
                      memlimit: int = ARGON2ID_MEMLIMIT) -> nacl.signing.SigningKey:
    """The bidder identity key derived from a passphrase with argon2id (reproducible)."""
    if len(salt) != nacl.pwhash.argon2id.SALTBYTES:
        raise InvalidInput(f"口令派生的盐长度应为 {nacl.pwhash.argon2id.SALTBYTES} 字节", code="invalid_key_derivation")
    secret = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    try:
        seed = nacl.pwhash.argon2id.kdf(SEED_SIZE, secret, salt, opslimit=opslimit, memlimit=memlimit)
    except (nacl.exceptions.ValueError, nacl.exceptions.UnavailableError, ValueError, TypeError):
        raise InvalidInput("口令派生参数无效（argon2id 的 opslimit / memlimit 超出范围）", code="invalid_key_derivation") from None
    return nacl.signing.SigningKey(seed)


def _write_new_file(path: Path, text: str) -> None:
    # O_EXCL: a bidder key already used for bids must never be overwritten by a new one.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InvalidInput(f"密钥文件 {path} 已存在：为免丢失已用于投标的密钥，不会覆盖", code="key_file_exists") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def save_key_file(path: Path, signing_key: nacl.signing.SigningKey) -> None:
    """Write a plain key file: the seed in hex, mode 0600; an existing file is refused."""
    _write_new_file(Path(path), signing_key.encode().hex() + "\n")


def save_passphrase_key_file(path: Path, passphrase: str, *, opslimit: int = ARGON2ID_OPSLIMIT,
                             memlimit: int = ARGON2ID_MEMLIMIT) -> nacl.signing.SigningKey:
    """Make a key from ``passphrase`` and a new random salt; the file stores no seed."""
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise InvalidInput(f"口令至少 {MIN_PASSPHRASE_LENGTH} 个字符", code="passphrase_too_short")
    salt = secrets.token_bytes(nacl.pwhash.argon2id.SALTBYTES)
    signing_key = derive_bidder_key(passphrase, salt, opslimit, memlimit)
    record = {"format": KEY_FILE_FORMAT, "kdf": "argon2id", "opslimit": opslimit, "memlimit": memlimit,
              "salt": salt.hex(), "verify_key": signing_key.verify_key.encode().hex()}
    _write_new_file(Path(path), canon(record).decode() + "\n")
    return signing_key


def _key_file_text(path: Path) -> str:
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"找不到密钥文件 {path}", code="key_file_missing")
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("key file %s is readable by others; it should be mode 0600", path)
    try:
        return path.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError:
        raise InvalidInput(f"密钥文件 {path} 格式错误：应为文本", code="invalid_key_file") from None


def key_file_needs_passphrase(path: Path) -> bool:
    """True when ``path`` is a passphrase-derived key file."""
    return _key_file_text(path).startswith("{")


def load_key_file(path: Path, passphrase: str | None = None) -> nacl.signing.SigningKey:
    """Load a bidder key file of either form (a passphrase is needed for the derived form)."""
    text = _key_file_text(path)
    if not text.startswith("{"):
        try:
            seed = bytes.fromhex(text)
        except ValueError:
            raise InvalidInput(f"密钥文件 {path} 格式错误：应为十六进制文本", code="invalid_key_file") from None
        if len(seed) != SEED_SIZE:
            raise InvalidInput(f"密钥文件 {path} 长度错误：应为 {SEED_SIZE} 字节，实为 {len(seed)} 字节", code="invalid_key_file")
        return nacl.signing.SigningKey(seed)
    try:
        record = json.loads(text)
        if record.get("format") != KEY_FILE_FORMAT or record.get("kdf") != "argon2id":
            raise ValueError
        salt, opslimit, memlimit = bytes.fromhex(record["salt"]), record["opslimit"], record["memlimit"]
        expected = record["verify_key"]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (opslimit, memlimit)):
            raise ValueError
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InvalidInput(f"密钥文件 {path} 格式错误：不是 {KEY_FILE_FORMAT} 口令密钥文件", code="invalid_key_file") from None
    if passphrase is None:
        raise InvalidInput(f"密钥文件 {path} 由口令派生：请提供口令", code="passphrase_required")
    signing_key = derive_bidder_key(passphrase, salt, opslimit, memlimit)
    if signing_key.verify_key.encode().hex() != expected:
        raise InvalidInput("口令错误：派生出的密钥与密钥文件记载的公钥不符", code="wrong_passphrase")
    return signing_key


# --------------------------------------------------------------------------- sealing


def xor(a: bytes, b: bytes) -> bytes:
    """K_c = K XOR K_b, and at the opening K = K_c XOR K_b."""
    if len(a) != len(b):
        raise ValueError("xor of byte strings of different lengths")
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def encrypt_payload(payload: bytes, k: bytes) -> bytes:
    """Step 2: ``SecretBox(K).encrypt(payload)`` in the combined format (nonce, MAC, data)."""
    return bytes(nacl.secret.SecretBox(k).encrypt(payload))


def split_content_key(k: bytes) -> tuple[bytes, bytes]:
    """Step 3: ``K_b`` = 32 random bytes, ``K_c = K XOR K_b``; returns ``(K_c, K_b)``."""
    k_b = nacl.utils.random(KEY_SIZE)
    return xor(k, k_b), k_b


def seal_halves(k_c: bytes, k_b: bytes, tender_pk: PublicKey, bidder_pk: PublicKey) -> tuple[bytes, bytes]:
    """Step 4: ``(sealed_center, sealed_bidder)``: K_c to the tender key, K_b to the bidder's."""
    return SealedBox(tender_pk).encrypt(k_c), SealedBox(bidder_pk).encrypt(k_b)


def envelope_body(tender_code: str, bidder_code: str, ciphertext: bytes, sealed_center: bytes,
                  sealed_bidder: bytes) -> dict[str, Any]:
    """Step 5: the envelope without its signature (binary fields in hex)."""
    return {"protocol": PROTOCOL, "tender_code": tender_code, "bidder_code": bidder_code,
            "ciphertext_sha256": hashlib.sha256(ciphertext).hexdigest(), "ciphertext_size": len(ciphertext),
            "sealed_center": sealed_center.hex(), "sealed_bidder": sealed_bidder.hex()}


def make_envelope(tender_code: str, bidder_code: str, ciphertext: bytes, sealed_center: bytes,
                  sealed_bidder: bytes, bidder_signing_key: nacl.signing.SigningKey) -> dict[str, Any]:
    """Step 5: the envelope plus the bidder's signature over ``canon(envelope without "signature")``."""
    body = envelope_body(tender_code, bidder_code, ciphertext, sealed_center, sealed_bidder)
    return body | {"signature": bidder_signing_key.sign(canon(body)).signature.hex()}


def _public_key(value: PublicKey | bytes | str, what: str) -> PublicKey:
    if isinstance(value, PublicKey):
        return value
    try:
        raw = bytes.fromhex(value) if isinstance(value, str) else bytes(value)
        return PublicKey(raw)
    except (ValueError, TypeError, nacl.exceptions.ValueError, nacl.exceptions.TypeError):
        raise InvalidInput(f"{what}格式错误：应为 32 字节的十六进制公钥", code="invalid_public_key") from None


def _code(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value or value != value.strip():
        raise InvalidInput(f"{what}不能为空，且前后不能有空白", code="invalid_code_text")
    return value


def seal(payload: bytes, tender_code: str, bidder_code: str, tender_public_key: PublicKey | bytes | str,
         bidder_signing_key: nacl.signing.SigningKey) -> tuple[bytes, dict[str, Any]]:
    """Seal a bid package on the bidder's side (steps 2-5); returns ``(ciphertext, envelope)``."""
    if not isinstance(payload, (bytes, bytearray)):
        raise InvalidInput("投标文件内容必须是字节串", code="bid_content_not_bytes")
    tender_code, bidder_code = _code(tender_code, "项目编号"), _code(bidder_code, "投标人代码")
    tender_pk = _public_key(tender_public_key, "招标项目开标公钥")
    k = nacl.utils.random(KEY_SIZE)
    ciphertext = encrypt_payload(bytes(payload), k)
    k_c, k_b = split_content_key(k)
    sealed_center, sealed_bidder = seal_halves(k_c, k_b, tender_pk, bidder_x25519_pk(bidder_signing_key.verify_key))
    return ciphertext, make_envelope(tender_code, bidder_code, ciphertext, sealed_center, sealed_bidder,
                                     bidder_signing_key)


# --------------------------------------------------------------------------- submission


def _reject(check: str, message: str) -> EnvelopeRejected:
    return EnvelopeRejected(message, check=check)


def _is_hex(value: Any, size: int) -> bool:
    return isinstance(value, str) and len(value) == 2 * size and _HEX.fullmatch(value) is not None


def check_envelope_format(envelope: Any) -> None:
    """The envelope has exactly the spec's fields, of the right types and sizes (lowercase hex)."""
    if not isinstance(envelope, Mapping):
        raise _reject("format", "投标信封格式不符合 sealed-bid/1：应为 JSON 对象")
    missing = [name for name in (*ENVELOPE_FIELDS, "signature") if name not in envelope]
    extra = sorted(set(envelope) - {*ENVELOPE_FIELDS, "signature"})
    if missing or extra:
        what = "缺少字段 " + "、".join(missing) if missing else "多余字段 " + "、".join(map(str, extra))
        raise _reject("format", f"投标信封格式不符合 sealed-bid/1：{what}")
    if envelope["protocol"] != PROTOCOL:
        raise _reject("format", f"投标信封的协议应为 {PROTOCOL}")
    for name, what in (("tender_code", "项目编号"), ("bidder_code", "投标人代码")):
        if not isinstance(envelope[name], str) or not envelope[name]:
            raise _reject("format", f"投标信封格式不符合 sealed-bid/1：{what}（{name}）应为非空字符串")
    size = envelope["ciphertext_size"]
    if isinstance(size, bool) or not isinstance(size, int) or not MIN_CIPHERTEXT_SIZE <= size <= MAX_SAFE_INTEGER:
        raise _reject("format", f"投标信封格式不符合 sealed-bid/1：ciphertext_size 应为不小于 {MIN_CIPHERTEXT_SIZE} 的整数")
    for name, width in (("ciphertext_sha256", 32), ("sealed_center", SEALED_HALF_SIZE),
                        ("sealed_bidder", SEALED_HALF_SIZE), ("signature", 64)):
        if not _is_hex(envelope[name], width):
            raise _reject("format", f"投标信封格式不符合 sealed-bid/1：{name} 应为 {width} 字节的小写十六进制")


def _verify_key_hex(value: nacl.signing.VerifyKey | bytes | str) -> str:
    if isinstance(value, nacl.signing.VerifyKey):
        return value.encode().hex()
    return value.hex() if isinstance(value, (bytes, bytearray)) else str(value)


def verify_envelope_signature(envelope: Mapping[str, Any], bidder_verify_key: nacl.signing.VerifyKey | str) -> None:
    """The bidder's signature over ``canon(envelope without "signature")`` is valid."""
    check_envelope_format(envelope)
    body = {name: envelope[name] for name in ENVELOPE_FIELDS}
    if not verify_signature(body, envelope["signature"], _verify_key_hex(bidder_verify_key)):
        raise _reject("signature", "投标信封签名无效：不是该投标人登记的身份密钥所签，或信封内容被改动")


def verify_envelope(envelope: Mapping[str, Any], ciphertext: bytes, bidder_verify_key: nacl.signing.VerifyKey | str,
                    *, tender_code: str | None = None, bidder_code: str | None = None) -> None:
    """Check a submitted envelope and its ciphertext; raise :class:`EnvelopeRejected` naming
    the first failing check (format, tender_code, bidder_code, signature, size, sha256).

    ``tender_code`` / ``bidder_code``, when given, are what the submission is for: the
    signed envelope must name the same tender and bidder.
    """
    check_envelope_format(envelope)
    if tender_code is not None and envelope["tender_code"] != tender_code:
        raise _reject("tender_code", f"投标信封所属项目「{envelope['tender_code']}」与本项目「{tender_code}」不符")
    if bidder_code is not None and envelope["bidder_code"] != bidder_code:
        raise _reject("bidder_code", f"投标信封的投标人「{envelope['bidder_code']}」与提交人「{bidder_code}」不符")
    verify_envelope_signature(envelope, bidder_verify_key)
    if len(ciphertext) != envelope["ciphertext_size"]:
        raise _reject("size", f"投标文件密文长度与信封不符：信封记载 {envelope['ciphertext_size']} 字节，"
                              f"实际 {len(ciphertext)} 字节")
    if hashlib.sha256(ciphertext).hexdigest() != envelope["ciphertext_sha256"]:
        raise _reject("sha256", "投标文件密文的 SHA-256 摘要与信封不符：密文被改动，或不是本信封对应的文件")


def envelope_sha256(envelope: Mapping[str, Any]) -> str:
    """``hex(H(canon(envelope with signature)))``, as the receipt names it."""
    if "signature" not in envelope:
        raise InvalidInput("投标信封缺少签名，无法计算信封摘要", code="envelope_unsigned")
    return hashlib.sha256(canon(dict(envelope))).hexdigest()


def receipt_record(envelope: Mapping[str, Any], received_at: datetime) -> dict[str, Any]:
    """The receipt the center signs once the bid is durably stored (sign with ``CenterKeys.sign``)."""
    if received_at.tzinfo is None:
        raise InvalidInput("回执时间必须带时区", code="naive_time")
    return {"protocol": RECEIPT_PROTOCOL, "tender_code": envelope["tender_code"],
            "bidder_code": envelope["bidder_code"], "ciphertext_sha256": envelope["ciphertext_sha256"],
            "envelope_sha256": envelope_sha256(envelope), "received_at": rfc3339(received_at)}


def verify_receipt(receipt: Mapping[str, Any], signature: str, center_verify_key: str,
                   envelope: Mapping[str, Any]) -> None:
    """The bidder's check of a receipt (``/2``, or ``/1`` issued before revision 2): signed by
    the center and naming this very envelope."""
    fields = RECEIPT_FIELDS_BY_PROTOCOL.get(receipt.get("protocol")) if isinstance(receipt, Mapping) else None
    if fields is None or set(receipt) != set(fields):
        raise _reject("receipt_format", f"回执格式不符合 {RECEIPT_PROTOCOL}（或此前签发的 {RECEIPT_V1_PROTOCOL}）")
    if not verify_signature(dict(receipt), signature, center_verify_key):
        raise _reject("receipt_signature", "回执签名无效：不是中心公钥所签，或回执内容被改动")
    for name in ("tender_code", "bidder_code", "ciphertext_sha256"):
        if receipt[name] != envelope.get(name):
            raise _reject("receipt_envelope", f"回执的 {name} 与投标信封不符")
    if receipt["envelope_sha256"] != envelope_sha256(envelope):
        raise _reject("receipt_envelope", "回执的信封摘要与投标信封不符")


# --------------------------------------------------------------------------- the opening key record

_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z")


def opening_key_record(tender_code: str, public_key_hex: str, published_at: datetime) -> dict[str, Any]:
    """The record the center signs to publish a tender's opening public key (revision 2)."""
    if published_at.tzinfo is None:
        raise InvalidInput("开标公钥发布时间必须带时区", code="naive_time")
    return {"protocol": OPENING_KEY_PROTOCOL, "tender_code": tender_code, "public_key": public_key_hex,
            "published_at": rfc3339(published_at)}


def verify_opening_key_record(record: Any, signature: Any, center_verify_key: str, *, tender_code: str) -> str:
    """The bidder's check before sealing: ``record`` is this tender's opening key record, signed
    by the center key the bidder pinned beforehand. Returns the opening public key (hex);
    anything else is :class:`OpeningKeyRejected` and nothing may be sealed to the key."""
    if not isinstance(record, Mapping) or set(record) != set(OPENING_KEY_FIELDS) \
            or record.get("protocol") != OPENING_KEY_PROTOCOL or not _is_hex(record.get("public_key"), 32) \
            or not isinstance(record.get("published_at"), str) or not _MOMENT.fullmatch(record["published_at"]) \
            or not isinstance(record.get("tender_code"), str):
        raise OpeningKeyRejected(f"开标公钥记录格式不符合 {OPENING_KEY_PROTOCOL}，不能用它加密", check="format")
    if record["tender_code"] != tender_code:
        raise OpeningKeyRejected(f"开标公钥记录属于项目「{record['tender_code']}」，不是本项目「{tender_code}」，"
                                 "不能用它加密", check="tender_code")
    if not isinstance(signature, str) or not verify_signature(dict(record), signature, center_verify_key):
        raise OpeningKeyRejected("开标公钥记录的签名无法用已固定的交易中心验签公钥核验：记录被改动，或不是交易中心所签；"
                                 "请勿加密递交，并与交易中心核实", check="signature")
    return record["public_key"]


# --------------------------------------------------------------------------- opening


def _open_half(box: SealedBox, sealed_hex: Any, reason: str, message: str) -> bytes:
    try:
        half = box.decrypt(bytes.fromhex(sealed_hex))
    except (nacl.exceptions.CryptoError, ValueError, TypeError):
        raise BidNotDecrypted(message, reason=reason) from None
    if len(half) != KEY_SIZE:
        raise BidNotDecrypted(message, reason=reason)
    return half


def open_center_half(envelope: Mapping[str, Any], tender_private_key: PrivateKey) -> bytes:
    """At the opening, the server opens ``sealed_center`` with the tender key: ``K_c``."""
    return _open_half(SealedBox(tender_private_key), envelope.get("sealed_center"), "center_half",
                      "开标私钥无法解开本投标文件的中心密钥份额：投标时所用的不是本项目的开标公钥，或信封被改动")


def open_bidder_half(envelope: Mapping[str, Any], bidder_signing_key: nacl.signing.SigningKey) -> bytes:
    """On the bidder's side, the bidder opens ``sealed_bidder`` with its X25519 key: ``K_b``."""
    box = SealedBox(bidder_signing_key.to_curve25519_private_key())
    return _open_half(box, envelope.get("sealed_bidder"), "bidder_half",
                      "投标人密钥无法解开本投标文件的投标人密钥份额：不是加密时所用的身份密钥，或信封被改动")


def open_bid(ciphertext: bytes, k_c: bytes, k_b: bytes) -> bytes:
    """``K = K_c XOR K_b`` must open the SecretBox (its MAC is the proof); returns the payload.

    Any failure is :class:`BidNotDecrypted` (reason ``content_key``): the bid is then
    recorded as not decrypted and takes no further part.
    """
    if len(k_c) != KEY_SIZE or len(k_b) != KEY_SIZE:
        raise BidNotDecrypted(_NOT_OPENED, reason="content_key")
    return open_with_content_key(ciphertext, xor(k_c, k_b))


_NOT_OPENED = "投标文件未能解密：合成的内容密钥打不开密文（MAC 校验未通过），该投标按未解密处理"


def open_with_content_key(ciphertext: bytes, k: bytes) -> bytes:
    """``SecretBox(K).decrypt(ciphertext)``; any failure is :class:`BidNotDecrypted`."""
    try:
        return bytes(nacl.secret.SecretBox(k).decrypt(bytes(ciphertext)))
    except (nacl.exceptions.CryptoError, ValueError, TypeError):
        raise BidNotDecrypted(_NOT_OPENED, reason="content_key") from None


def key_half_from_hex(text: str) -> bytes:
    """A key half handed in as hex (``K_b`` at the opening): 32 bytes, or :class:`InvalidInput`."""
    try:
        half = bytes.fromhex(text.strip())
    except (ValueError, AttributeError):
        raise InvalidInput("密钥份额格式错误：应为十六进制文本", code="invalid_key_half") from None
    if len(half) != KEY_SIZE:
        raise InvalidInput(f"密钥份额长度错误：应为 {KEY_SIZE} 字节，实为 {len(half)} 字节", code="invalid_key_half")
    return half


# --------------------------------------------------------------------------- the bid package


def _reject_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise InvalidInput(f"报价 JSON 中字段重复：{'、'.join(duplicates)}（报价必须只有一种读法）", code="offer_duplicate_field")
    return dict(pairs)


def _no_float(text: str) -> Any:
    raise InvalidInput(f"报价 JSON 中出现小数 {text}：金额以分为单位，只能用整数", code="offer_has_decimal")


def parse_offer(data: bytes) -> dict[str, Any]:
    """Parse ``bid.json`` strictly: UTF-8 JSON object, no floats, no duplicate keys."""
    try:
        text = data.decode("utf-8-sig")
        offer = json.loads(text, object_pairs_hook=_reject_pairs, parse_float=_no_float, parse_constant=_no_float)
    except UnicodeDecodeError:
        raise InvalidInput("报价 JSON 不是 UTF-8 文本", code="invalid_offer") from None
    except ValueError as exc:
        raise InvalidInput(f"报价不是有效的 JSON：{exc}", code="invalid_offer") from None
    check_offer(offer)
    return offer


def check_offer(offer: Any) -> None:
    """The structured offer: ``price_fen`` a non-negative integer, ``duration_days`` (if any) a
    positive integer, everything else canonical JSON (no floats, ASCII keys)."""
    if not isinstance(offer, dict):
        raise InvalidInput("报价应为 JSON 对象", code="invalid_offer")
    price = offer.get("price_fen")
    if isinstance(price, bool) or not isinstance(price, int):
        raise InvalidInput("投标报价 price_fen 必须是以分为单位的整数", code="invalid_offer_price", field="price_fen")
    if not 0 <= price <= MAX_SAFE_INTEGER:
        raise InvalidInput("投标报价 price_fen 超出范围：应为不超过 2^53-1 的非负整数", code="invalid_offer_price", field="price_fen")
    if "duration_days" in offer:
        days = offer["duration_days"]
        if isinstance(days, bool) or not isinstance(days, int) or not 0 < days <= MAX_SAFE_INTEGER:
            raise InvalidInput("工期 duration_days 必须是正整数（天）", code="invalid_offer_duration", field="duration_days")
    try:
        canon(offer)
    except TypeError as exc:
        raise InvalidInput(f"报价含有无法规范化的内容：{exc}", code="invalid_offer") from None


def check_document_name(name: Any) -> str:
    """A relative POSIX path inside the package: no ``..``, no absolute path, not bid.json."""
    if not isinstance(name, str) or not name or len(name) > 255:
        raise InvalidInput("投标文件中的文件名不能为空，且不超过 255 个字符", code="invalid_document_name")
    parts = name.split("/")
    if name == BID_JSON or "\\" in name or ":" in name or any(part in ("", ".", "..") for part in parts) \
            or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        raise InvalidInput(f"投标文件中的文件名「{name}」不合规：应为相对路径，不含 ..、反斜杠、冒号或控制字符，"
                           f"且不能是 {BID_JSON}", code="invalid_document_name")
    return name


_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _zip_entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)  # fixed time: the same bid gives the same bytes
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def make_package(offer: dict[str, Any], documents: Mapping[str, bytes]) -> bytes:
    """Step 1: the bid package, a ZIP of ``bid.json`` (canonical JSON) and the documents."""
    check_offer(offer)
    for name, content in documents.items():
        check_document_name(name)
        if not isinstance(content, (bytes, bytearray)):
            raise InvalidInput(f"文件「{name}」的内容必须是字节串", code="bid_content_not_bytes")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(_zip_entry(BID_JSON), canon(offer))
        for name in sorted(documents):
            archive.writestr(_zip_entry(name), bytes(documents[name]))
    return buffer.getvalue()


def _open_zip(payload: bytes) -> zipfile.ZipFile:
    archive = zipfile.ZipFile(io.BytesIO(payload))
    if any(not info.flag_bits & 0x800 and not info.orig_filename.isascii() for info in archive.infolist()):
        # Non-UTF-8 names: Chinese Windows archivers write GBK without saying so.
        archive = zipfile.ZipFile(io.BytesIO(payload), metadata_encoding="gbk")
    return archive


def read_package(payload: bytes, *, max_content: int = MAX_PACKAGE_CONTENT) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Read a decrypted payload: a ZIP package (``bid.json`` + documents) or a bare JSON offer."""
    if not payload.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        try:
            return parse_offer(payload), {}
        except InvalidInput as exc:
            raise InvalidInput(f"投标文件既不是 ZIP 文件包，也不是有效的 JSON 报价：{exc.message}", code="invalid_bid_package") from None
    try:
        with _open_zip(payload) as archive:
            infos = [info for info in archive.infolist() if not info.is_dir()]
            if sum(info.file_size for info in infos) > max_content:
                raise InvalidInput(f"投标文件包解压后超过 {max_content} 字节", code="bid_package_too_large")
            names: set[str] = set()
            offer: dict[str, Any] | None = None
            documents: dict[str, bytes] = {}
            for info in infos:
                if info.flag_bits & 0x1:
                    raise InvalidInput(f"投标文件包中的「{info.filename}」被单独加密，无法读取", code="invalid_bid_package")
                if info.filename in names:
                    raise InvalidInput(f"投标文件包中文件名重复：{info.filename}", code="invalid_bid_package")
                names.add(info.filename)
                if info.filename == BID_JSON:
                    offer = parse_offer(archive.read(info))
                else:
                    documents[check_document_name(info.filename)] = archive.read(info)
    # OSError: a damaged bzip2 stream; zlib/lzma errors: damaged deflate/LZMA data.
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, ValueError, OSError,
            zlib.error, lzma.LZMAError) as exc:
        raise InvalidInput(f"投标文件包不是有效的 ZIP 文件：{exc}", code="invalid_bid_package") from None
    if offer is None:
        raise InvalidInput(f"投标文件包中缺少 {BID_JSON}（结构化报价）", code="bid_json_missing")
    return offer, documents
