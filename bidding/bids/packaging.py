"""The bidder's side of sealed-bid/1, as a small library for ``trading bid`` and for tests.

Files it reads and writes: the bidder's key file (format in :mod:`bidding.bids.sealed_bid`),
a payload (a bid package ZIP, a bare JSON offer, or a directory holding ``bid.json`` and
the documents), ``<prefix>.sealed`` (the ciphertext bytes) and ``<prefix>.envelope.json``
(the signed envelope). The tender's opening key comes in its center-signed record
(``sealed-bid-opening-key/1``, the answer of ``GET /api/projects/{code}/opening-key``) and is
used only once that record verifies with the center's verify key the bidder pinned
beforehand: given on the command line, or kept beside the key file in
``<key file>.center-key`` (:func:`pin_center_key`; trust on first use, the bidder compares
its fingerprint with the one the center publishes). A key fetched from the same server at
the moment of sealing would be no check at all.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.signing
from nacl.public import PrivateKey, PublicKey

from bidding.bids import sealed_bid
from trading.errors import InvalidInput
from trading.keys import key_id

_KEY_HEX = re.compile(r"[0-9a-fA-F]{64}")
CENTER_PIN_SUFFIX = ".center-key"


@dataclass(frozen=True)
class SealedBid:
    ciphertext_path: Path
    envelope_path: Path
    envelope: dict[str, Any]
    offer: dict[str, Any]
    documents: tuple[str, ...]

    @property
    def envelope_sha256(self) -> str:
        return sealed_bid.envelope_sha256(self.envelope)


@dataclass(frozen=True)
class OpenedBid:
    payload: bytes
    offer: dict[str, Any]
    documents: dict[str, bytes]


def create_key_file(path: Path, passphrase: str | None = None) -> nacl.signing.SigningKey:
    """Make a bidder identity key into a new key file (mode 0600); with a passphrase the
    file holds only the argon2id salt and the key is derived from the passphrase."""
    path = Path(path)
    if passphrase is not None:
        return sealed_bid.save_passphrase_key_file(path, passphrase)
    signing_key = sealed_bid.make_bidder_key()
    sealed_bid.save_key_file(path, signing_key)
    return signing_key


def _key_bytes(text: str, what: str) -> bytes:
    text = text.strip()
    if not _KEY_HEX.fullmatch(text):
        raise InvalidInput(f"{what}格式错误：应为 64 位十六进制（32 字节）", code="invalid_key_hex")
    return bytes.fromhex(text)


def check_center_key(value: Any) -> str:
    """A center verify key as 64 lowercase hex digits, or :class:`InvalidInput`."""
    text = value.strip().lower() if isinstance(value, str) else ""
    if not _KEY_HEX.fullmatch(text):
        raise InvalidInput("中心验签公钥格式错误：应为 64 位十六进制（Ed25519 公钥）", code="invalid_center_key")
    return text


def center_pin_path(key_path: Path) -> Path:
    """Where the center verify key pinned for a bidder key file is kept: beside it."""
    return Path(str(key_path) + CENTER_PIN_SUFFIX)


def pin_center_key(key_path: Path, verify_key: str, *, replace: bool = False) -> Path:
    """Keep ``verify_key`` as the center key to trust beside the bidder's key file. A different
    key pinned before is replaced only when asked (the center announced a new key)."""
    verify_key = check_center_key(verify_key)
    path = center_pin_path(key_path)
    if path.exists() and not replace:
        pinned = check_center_key(path.read_text(encoding="utf-8", errors="replace"))
        if pinned != verify_key:
            raise InvalidInput(f"{path} 已固定另一个交易中心验签公钥（指纹 {key_id(pinned)}）；确认交易中心已公布更换后，"
                               f"加 --replace 替换", code="center_key_pinned_differently")
        return path
    partial = path.with_name(path.name + ".part")
    partial.write_text(verify_key + "\n", encoding="utf-8")
    os.replace(partial, path)
    return path


def pinned_center_key(given: str | None, key_path: Path) -> str:
    """The center verify key to check the opening key record with: ``given`` (the command line
    or the settings), else the one pinned beside the key file; refused when there is none."""
    if given:
        return check_center_key(given)
    path = center_pin_path(key_path)
    if not path.is_file():
        raise InvalidInput("没有可信的交易中心验签公钥，不能核验开标公钥记录，未加密：请用 --center-key（或环境变量 "
                           "TRADING_CENTER_KEY）提供交易中心公布的验签公钥，或先执行 `trading bid pin-center-key 公钥 "
                           f"--key {key_path}` 把它固定在密钥文件旁", code="no_pinned_center_key")
    try:
        return check_center_key(path.read_text(encoding="utf-8", errors="replace"))
    except InvalidInput:
        raise InvalidInput(f"{path} 中固定的交易中心验签公钥格式错误：应为 64 位十六进制", code="invalid_center_key") from None


def read_opening_key_answer(path: Path) -> dict[str, Any]:
    """A saved opening key record: the JSON ``GET /api/projects/{code}/opening-key`` answers."""
    try:
        answer = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"开标公钥记录文件 {path} 不是有效的 JSON：{exc}", code="invalid_opening_key_file") from None
    return answer if isinstance(answer, dict) else {}


def tender_key_from_record(answer: Mapping[str, Any], center_verify_key: str, tender_code: str) -> PublicKey:
    """The tender's opening public key, once its signed record (``{"record", "signature"}``)
    verifies with the pinned center key and names this tender; else :class:`OpeningKeyRejected`."""
    record = answer.get("record") if isinstance(answer, Mapping) else None
    signature = answer.get("signature") if isinstance(answer, Mapping) else None
    public = sealed_bid.verify_opening_key_record(record, signature, center_verify_key, tender_code=tender_code)
    return PublicKey(bytes.fromhex(public))


def read_tender_private_key(path: Path) -> PrivateKey:
    """The tender's opening private key from a file of hex (for offline checks and tests)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"找不到开标私钥文件 {path}", code="key_file_missing")
    return PrivateKey(_key_bytes(path.read_text(encoding="utf-8", errors="replace"), f"开标私钥文件 {path} "))


def package_payload(source: Path) -> tuple[bytes, dict[str, Any], dict[str, bytes]]:
    """The payload to seal: a directory becomes a package (its ``bid.json`` and every other
    file); a file is sealed as it is, once it reads as a valid package or JSON offer."""
    source = Path(source)
    if not source.is_dir():
        payload = source.read_bytes()
        offer, documents = sealed_bid.read_package(payload)
        return payload, offer, documents
    offer_file = source / sealed_bid.BID_JSON
    if not offer_file.is_file():
        raise InvalidInput(f"目录 {source} 中缺少 {sealed_bid.BID_JSON}（结构化报价）", code="bid_json_missing")
    offer = sealed_bid.parse_offer(offer_file.read_bytes())
    documents: dict[str, bytes] = {}
    for folder, dirnames, filenames in os.walk(source):
        dirnames.sort()
        for filename in sorted(filenames):
            path = Path(folder) / filename
            name = path.relative_to(source).as_posix()
            if name != sealed_bid.BID_JSON:
                documents[sealed_bid.check_document_name(name)] = path.read_bytes()
    return sealed_bid.make_package(offer, documents), offer, documents


def output_paths(source: Path, out_prefix: Path | None = None) -> tuple[Path, Path]:
    """``<prefix>.sealed`` and ``<prefix>.envelope.json``; the prefix defaults to the source
    without its suffix (a directory: its own name, beside it)."""
    if out_prefix is None:
        source = Path(source).resolve()
        out_prefix = source if source.is_dir() else source.with_suffix("")
    return Path(f"{out_prefix}.sealed"), Path(f"{out_prefix}.envelope.json")


def seal_bid(source: Path, *, tender_code: str, bidder_code: str, tender_public_key: PublicKey | str,
             signing_key: nacl.signing.SigningKey, out_prefix: Path | None = None) -> SealedBid:
    """Seal a payload file or package directory; write the ciphertext and the envelope."""
    payload, offer, documents = package_payload(Path(source))
    ciphertext, envelope = sealed_bid.seal(payload, tender_code, bidder_code, tender_public_key, signing_key)
    # Check our own output before the bidder relies on it.
    sealed_bid.verify_envelope(envelope, ciphertext, signing_key.verify_key)
    sealed_bid.open_bidder_half(envelope, signing_key)
    ciphertext_path, envelope_path = output_paths(Path(source), out_prefix)
    ciphertext_path.write_bytes(ciphertext)
    envelope_path.write_text(json.dumps(envelope, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return SealedBid(ciphertext_path, envelope_path, envelope, offer, tuple(sorted(documents)))


def read_envelope(path: Path) -> dict[str, Any]:
    """An envelope file, checked against the sealed-bid/1 format."""
    try:
        envelope = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"信封文件 {path} 不是有效的 JSON：{exc}", code="invalid_envelope_file") from None
    sealed_bid.check_envelope_format(envelope)
    return envelope


def decrypt_bidder_half(envelope_path: Path, signing_key: nacl.signing.SigningKey) -> str:
    """Open ``sealed_bidder`` of an envelope file: ``K_b`` in hex, to hand in at the opening."""
    return sealed_bid.open_bidder_half(read_envelope(envelope_path), signing_key).hex()


def open_sealed_bid(envelope_path: Path, ciphertext_path: Path, tender_private_key: PrivateKey,
                    signing_key: nacl.signing.SigningKey) -> OpenedBid:
    """Check and open a sealed bid with both keys at hand (an offline rehearsal of the opening)."""
    envelope = read_envelope(envelope_path)
    ciphertext = Path(ciphertext_path).read_bytes()
    sealed_bid.verify_envelope(envelope, ciphertext, signing_key.verify_key)
    k_c = sealed_bid.open_center_half(envelope, tender_private_key)
    k_b = sealed_bid.open_bidder_half(envelope, signing_key)
    payload = sealed_bid.open_bid(ciphertext, k_c, k_b)
    offer, documents = sealed_bid.read_package(payload)
    return OpenedBid(payload, offer, documents)
