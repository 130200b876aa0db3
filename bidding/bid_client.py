"""The bidder's side of sealed-bid/1, as a small library for ``trading bid`` and for tests.

Files it reads and writes: the bidder's key file (format in :mod:`bidding.sealed_bid`),
a payload (a bid package ZIP, a bare JSON offer, or a directory holding ``bid.json`` and
the documents), ``<prefix>.sealed`` (the ciphertext bytes) and ``<prefix>.envelope.json``
(the signed envelope). Tender keys are hex text, given inline or in a file.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.signing
from nacl.public import PrivateKey, PublicKey

from bidding import sealed_bid
from trading.errors import InvalidInput

_KEY_HEX = re.compile(r"[0-9a-fA-F]{64}")


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
        raise InvalidInput(f"{what}格式错误：应为 64 位十六进制（32 字节）")
    return bytes.fromhex(text)


def read_tender_public_key(value: str) -> PublicKey:
    """The tender's opening public key, as hex or as a file holding the hex."""
    if _KEY_HEX.fullmatch(value.strip()):
        return PublicKey(bytes.fromhex(value.strip()))
    path = Path(value)
    if not path.is_file():
        raise InvalidInput("开标公钥应为 64 位十六进制，或存有它的文件路径")
    return PublicKey(_key_bytes(path.read_text(encoding="utf-8", errors="replace"), f"开标公钥文件 {path} "))


def read_tender_private_key(path: Path) -> PrivateKey:
    """The tender's opening private key from a file of hex (for offline checks and tests)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"找不到开标私钥文件 {path}")
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
        raise InvalidInput(f"目录 {source} 中缺少 {sealed_bid.BID_JSON}（结构化报价）")
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
        raise InvalidInput(f"信封文件 {path} 不是有效的 JSON：{exc}") from None
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
