"""federation/1: how one center signs a request to a partner city and checks one it gets.

The wire format is specified in docs/federation.md (headers, the string to sign byte by
byte, error codes, test vector); this module is its reference implementation. A request
is refused when the sender is unknown or disabled, the signature does not verify, the
timestamp is outside the window, or the nonce was seen before (nonces are kept until
their timestamp has left the window for good).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import nacl.exceptions
import nacl.signing
from sqlalchemy import Column, DateTime, String, delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from trading.audit import record_event
from trading.database import database_now
from trading.errors import NotAuthenticated
from trading.partners import ACTIVE, Partner

PROTOCOL = "federation/1"
WINDOW_SECONDS = 300  # a request's timestamp may differ from the receiver's clock by at most this
NONCE_KEEP_SECONDS = 2 * WINDOW_SECONDS
CITY, TIMESTAMP, NONCE, SIGNATURE, TO_CITY = (
    "X-Federation-City", "X-Federation-Timestamp", "X-Federation-Nonce", "X-Federation-Signature", "X-Federation-To")
TIMESTAMP_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
NONCE_FORMAT = re.compile(r"^[0-9a-f]{32,64}$")
SIGNATURE_FORMAT = re.compile(r"^[0-9a-f]{128}$")

# Stable codes of refusals (docs/federation.md, "Errors").
MISSING = "federation_missing_headers"
UNKNOWN_PARTNER = "federation_unknown_partner"
DISABLED_PARTNER = "federation_partner_disabled"
WRONG_RECIPIENT = "federation_wrong_recipient"
BAD_SIGNATURE = "federation_bad_signature"
STALE = "federation_stale_timestamp"
REPLAYED = "federation_replayed_nonce"


class FederationRefused(NotAuthenticated):
    """A request between cities that failed the federation/1 checks (HTTP 401)."""

    code = "federation_refused"


class FederationNonce(SQLModel, table=True):
    """Nonces seen per sending city, kept until their request could no longer be fresh."""

    __tablename__ = "federation_nonces"

    city_code: str = Field(sa_column=Column(String(6), primary_key=True))
    nonce: str = Field(sa_column=Column(String(64), primary_key=True))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def string_to_sign(*, method: str, path: str, from_city: str, to_city: str, timestamp: str, nonce: str,
                   body: bytes) -> bytes:
    """The exact bytes signed for a request (docs/federation.md, "The string to sign")."""
    return "\n".join([PROTOCOL, method.upper(), path, from_city, to_city, timestamp, nonce, body_sha256(body)]).encode()


def response_string_to_sign(*, status: int, request_nonce: str, from_city: str, timestamp: str, body: bytes) -> bytes:
    return "\n".join([f"{PROTOCOL} response", str(status), request_nonce, from_city, timestamp,
                      body_sha256(body)]).encode()


def _utc_now() -> str:
    """Whole seconds, RFC 3339 UTC with ``Z`` (the only timestamp form federation/1 accepts)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_nonce() -> str:
    return secrets.token_hex(16)


def sign_request(signing_key: nacl.signing.SigningKey, *, method: str, path: str, from_city: str, to_city: str,
                 body: bytes, timestamp: str | None = None, nonce: str | None = None) -> dict[str, str]:
    """The headers of a signed request (``timestamp`` and ``nonce`` fixed only for test vectors)."""
    timestamp = timestamp or _utc_now()
    nonce = nonce or new_nonce()
    signature = signing_key.sign(string_to_sign(method=method, path=path, from_city=from_city, to_city=to_city,
                                                timestamp=timestamp, nonce=nonce, body=body)).signature.hex()
    return {CITY: from_city, TO_CITY: to_city, TIMESTAMP: timestamp, NONCE: nonce, SIGNATURE: signature,
            "Content-Type": "application/json"}


def sign_response(signing_key: nacl.signing.SigningKey, *, status: int, request_nonce: str, from_city: str,
                  body: bytes) -> dict[str, str]:
    timestamp = _utc_now()
    signature = signing_key.sign(response_string_to_sign(status=status, request_nonce=request_nonce, from_city=from_city,
                                                         timestamp=timestamp, body=body)).signature.hex()
    return {CITY: from_city, TIMESTAMP: timestamp, SIGNATURE: signature}


def verify_response(verify_key_hex: str, *, status: int, request_nonce: str, headers: Mapping[str, str],
                    body: bytes) -> bool:
    """True when a partner's answer carries its valid signature bound to our request's nonce."""
    try:
        message = response_string_to_sign(status=status, request_nonce=request_nonce, from_city=headers[CITY],
                                          timestamp=headers[TIMESTAMP], body=body)
        nacl.signing.VerifyKey(bytes.fromhex(verify_key_hex)).verify(message, bytes.fromhex(headers[SIGNATURE]))
    except (KeyError, ValueError, TypeError, nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError):
        return False
    return True


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    city_code: str | None


def _header(headers: Mapping[str, str], name: str) -> str:
    return (headers.get(name) or headers.get(name.lower()) or "").strip()


def _refuse(code: str, message: str, city: str | None, **details) -> FederationRefused:
    return FederationRefused(message, code=code, city_code=city, **details)


async def check_request(session: AsyncSession, *, method: str, path: str, headers: Mapping[str, str], body: bytes,
                        own_city: str) -> Partner:
    """The partner that signed this request, or :class:`FederationRefused` naming why not.

    Order of the checks: headers present and well formed, addressed to us, sender known
    and active, timestamp within ±``WINDOW_SECONDS`` of the database clock, signature,
    nonce unseen (stored in the caller's transaction, so commit it with the work)."""
    city, to_city = _header(headers, CITY), _header(headers, TO_CITY)
    timestamp, nonce, signature = _header(headers, TIMESTAMP), _header(headers, NONCE), _header(headers, SIGNATURE)
    if not (city and to_city and timestamp and nonce and signature):
        raise _refuse(MISSING, "跨市请求缺少签名信息（X-Federation-City/To/Timestamp/Nonce/Signature）", city or None)
    if not (TIMESTAMP_FORMAT.match(timestamp) and NONCE_FORMAT.match(nonce) and SIGNATURE_FORMAT.match(signature)):
        raise _refuse(MISSING, "跨市请求的签名信息格式错误", city)
    if to_city != own_city:
        raise _refuse(WRONG_RECIPIENT, f"该请求是发给城市 {to_city} 的，本中心是 {own_city}", city)
    partner = await session.scalar(select(Partner).where(Partner.city_code == city))
    if partner is None:
        raise _refuse(UNKNOWN_PARTNER, f"城市 {city} 不是本中心登记的合作城市", city)
    if partner.status != ACTIVE:
        raise _refuse(DISABLED_PARTNER, f"合作城市 {partner.name}（{city}）已停用，不再受理其请求", city)
    now = await database_now(session)
    sent = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    if abs((now - sent).total_seconds()) > WINDOW_SECONDS:
        raise _refuse(STALE, f"请求时间 {timestamp} 与本中心时钟相差超过 {WINDOW_SECONDS} 秒，已拒绝", city,
                      window_seconds=WINDOW_SECONDS)
    try:
        nacl.signing.VerifyKey(bytes.fromhex(partner.verify_key)).verify(
            string_to_sign(method=method, path=path, from_city=city, to_city=to_city, timestamp=timestamp, nonce=nonce,
                           body=body), bytes.fromhex(signature))
    except (ValueError, nacl.exceptions.BadSignatureError):
        raise _refuse(BAD_SIGNATURE, f"城市 {city} 的请求签名无效", city) from None
    await session.execute(delete(FederationNonce).where(FederationNonce.expires_at < now))
    stored = await session.execute(text(
        "INSERT INTO federation_nonces (city_code, nonce, expires_at) VALUES (:city, :nonce, :expires) "
        "ON CONFLICT DO NOTHING RETURNING nonce"),
        {"city": city, "nonce": nonce, "expires": sent + timedelta(seconds=NONCE_KEEP_SECONDS)})
    if stored.first() is None:
        raise _refuse(REPLAYED, f"请求编号（nonce）{nonce} 已使用过：重放的请求被拒绝", city)
    return partner


# Anybody can send refused requests, and every write of the platform passes the audit
# chain's lock: per app worker, one entry a minute per (reason, city), which counts the
# refusals it stands for. The city of an unknown sender is not a key (it is the sender's word).
REFUSAL_AUDIT_SECONDS = 60.0
_refusal_audits: dict[tuple[str, str | None], tuple[float, int]] = {}


async def record_refusal(session: AsyncSession, refused: FederationRefused, *, method: str, path: str) -> None:
    """The audit entry of a refused request (in its own transaction: the request's is rolled
    back), at most one a minute per reason and city (see ``REFUSAL_AUDIT_SECONDS``)."""
    city = refused.details.get("city_code")
    key = (refused.code, None if refused.code in (MISSING, UNKNOWN_PARTNER) else city)
    now = time.monotonic()
    last, unrecorded = _refusal_audits.get(key, (None, 0))
    if last is not None and now - last < REFUSAL_AUDIT_SECONDS:
        _refusal_audits[key] = (last, unrecorded + 1)
        return
    _refusal_audits[key] = (now, 0)
    await record_event(session, actor=f"partner:{city}" if city else "anonymous", action="federation.refused",
                       subject=f"partner:{city}" if city else "federation",
                       data={"code": refused.code, "message": refused.message, "method": method, "path": path,
                             "refused_since_last_entry": unrecorded})
