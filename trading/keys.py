"""The center's keys: an Ed25519 signing key and a key-encryption key (KEK).

Both are made on first start into ``var/keys`` (mode 0600) or loaded from the paths the
settings name. The signing key signs draw records, audit checkpoints, award notices and
receipts; the KEK (a libsodium secretbox key) encrypts what must stay sealed at rest.

Verifiers never make a key: :func:`trusted_verify_key` takes the key the verifier gives,
or this center's own key where it already exists, and otherwise refuses (a key made on
the spot would report every genuine record as tampered).
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.public
import nacl.secret
import nacl.signing

from trading.canonical import canon, sha256_hex
from trading.errors import ConfigurationError, IntegrityFailure, InvalidInput
from trading.settings import Settings

log = logging.getLogger(__name__)

SIGNATURE_ALGORITHM = "Ed25519"
VERIFY_KEY_HEX_LENGTH = 64
NO_TRUSTED_KEY = ("没有可信任的中心公钥，不能验证：请用 --key 指定您所信任的交易中心的验签公钥（64 位十六进制），"
                  "可从该中心网站的 /api/keys 获取，或请中心工作人员以 trading keys show 告知；"
                  "记录自带的公钥只作提示，不能作为信任依据")


class NoTrustedKey(ConfigurationError):
    """A verifier was asked to verify with no key to trust."""

    code = "no_trusted_key"


def _read_key_file(path: Path, size: int) -> bytes:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("key file %s is readable by others; it should be mode 0600", path)
    try:
        raw = bytes.fromhex(path.read_text().strip())
    except ValueError:
        raise ConfigurationError(f"密钥文件 {path} 格式错误：应为十六进制文本") from None
    if len(raw) != size:
        raise ConfigurationError(f"密钥文件 {path} 长度错误：应为 {size} 字节，实为 {len(raw)} 字节")
    return raw


def _write_key_file(path: Path, raw: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    # O_EXCL: two processes starting at once must not overwrite each other's key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(raw.hex() + "\n")


def _load_or_make(path: Path, size: int, may_create: bool) -> bytes:
    if path.exists():
        return _read_key_file(path, size)
    if not may_create:
        raise ConfigurationError(f"找不到配置的密钥文件 {path}")
    try:
        _write_key_file(path, secrets.token_bytes(size))
    except FileExistsError:
        pass
    return _read_key_file(path, size)


def key_id(verify_key_hex: str) -> str:
    """Short, stable name of a verify key (first 16 hex of its SHA-256)."""
    return sha256_hex(bytes.fromhex(verify_key_hex))[:16]


def verify_signature(record: Any, signature_hex: str, verify_key_hex: str) -> bool:
    """True when ``signature_hex`` is a valid Ed25519 signature of ``canon(record)``."""
    try:
        key = nacl.signing.VerifyKey(bytes.fromhex(verify_key_hex))
        key.verify(canon(record), bytes.fromhex(signature_hex))
    except (ValueError, TypeError, nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError):
        return False
    return True


@dataclass(frozen=True)
class CenterKeys:
    signing_key: nacl.signing.SigningKey
    kek: bytes

    @property
    def verify_key_hex(self) -> str:
        return self.signing_key.verify_key.encode().hex()

    @property
    def key_id(self) -> str:
        return key_id(self.verify_key_hex)

    def sign(self, record: Any) -> str:
        """Hex Ed25519 signature over the canonical JSON of ``record``."""
        return self.signing_key.sign(canon(record)).signature.hex()

    def seal(self, plaintext: bytes) -> bytes:
        """Encrypt at rest under the KEK (XSalsa20-Poly1305, random nonce)."""
        return nacl.secret.SecretBox(self.kek).encrypt(plaintext)

    def unseal(self, ciphertext: bytes) -> bytes:
        try:
            return nacl.secret.SecretBox(self.kek).decrypt(ciphertext)
        except nacl.exceptions.CryptoError:
            raise IntegrityFailure("密文无法用中心密钥解开：数据被篡改或密钥不符") from None

    @property
    def exchange_key(self) -> nacl.public.PrivateKey:
        """The center's X25519 key for partner cities (docs/federation.md): derived from the
        Ed25519 signing key (libsodium's ed25519_sk_to_curve25519), so no second key file."""
        return nacl.public.PrivateKey(self.signing_key.to_curve25519_private_key().encode())

    @property
    def exchange_public_key_hex(self) -> str:
        return self.signing_key.verify_key.to_curve25519_public_key().encode().hex()

    def public_info(self) -> dict[str, str]:
        return {"algorithm": SIGNATURE_ALGORITHM, "verify_key": self.verify_key_hex, "key_id": self.key_id}


def load_secret(path: Path, settings: Settings, size: int = 32) -> bytes:
    """A random secret (e.g. for CSRF tokens), made on first start when it lives under var/."""
    return _load_or_make(path, size, path.parent == settings.var_dir / "keys")


def load_center_keys(settings: Settings) -> CenterKeys:
    """Load the center's keys, making them on first start when they live under var/."""
    default_dir = settings.var_dir / "keys"
    seed = _load_or_make(settings.signing_key_path, 32, settings.signing_key_path.parent == default_dir)
    kek = _load_or_make(settings.kek_path, nacl.secret.SecretBox.KEY_SIZE, settings.kek_path.parent == default_dir)
    return CenterKeys(signing_key=nacl.signing.SigningKey(seed), kek=kek)


def own_verify_key(settings: Settings) -> str | None:
    """This center's verify key when its signing key file already exists; never makes one."""
    if not settings.signing_key_path.exists():
        return None
    return nacl.signing.SigningKey(_read_key_file(settings.signing_key_path, 32)).verify_key.encode().hex()


def check_verify_key(key_hex: str) -> str:
    """A verify key given by a person: 64 hex digits (32 bytes), lower-cased."""
    key_hex = key_hex.strip().lower()
    try:
        raw = bytes.fromhex(key_hex)
    except ValueError:
        raw = b""
    if len(key_hex) != VERIFY_KEY_HEX_LENGTH or len(raw) != 32:
        raise InvalidInput("验签公钥应为 64 位十六进制数字（Ed25519 公钥）", code="invalid_verify_key", field="key")
    return key_hex


def trusted_verify_key(settings: Settings, given: str | None) -> str:
    """The key a verifier trusts: the one it gives, else this center's own if it exists.

    Never creates or writes a key file; with neither, verification is refused.
    """
    if given:
        return check_verify_key(given)
    own = own_verify_key(settings)
    if own is None:
        raise NoTrustedKey(NO_TRUSTED_KEY)
    return own


def load_existing_center_keys(settings: Settings) -> CenterKeys:
    """The center's keys for a command that reads signed records: never makes them."""
    for path in (settings.signing_key_path, settings.kek_path):
        if not path.exists():
            raise NoTrustedKey(NO_TRUSTED_KEY)
    return CenterKeys(signing_key=nacl.signing.SigningKey(_read_key_file(settings.signing_key_path, 32)),
                      kek=_read_key_file(settings.kek_path, nacl.secret.SecretBox.KEY_SIZE))
