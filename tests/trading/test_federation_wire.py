"""federation/1 (docs/federation.md): the test vector of the spec, the receiver's checks in
order, and the partner registry's validation. The exchange over real HTTP between two
deployments is tests/adapters/test_federation_live.py."""

from __future__ import annotations

import re
from pathlib import Path

import nacl.signing
import pytest
from sqlalchemy import select, text

from trading.audit import AuditEntry
from trading.canonical import canon
from trading.errors import Conflict, InvalidInput
from trading import federation_wire
from trading.federation_wire import (
    NONCE,
    FederationRefused,
    body_sha256,
    check_request,
    record_refusal,
    response_string_to_sign,
    sign_request,
    sign_response,
    string_to_sign,
    verify_response,
)
from trading.keys import CenterKeys
from trading.partners import add_partner, disable_partner

DOC = Path(__file__).resolve().parents[2] / "docs" / "federation.md"
KEY = nacl.signing.SigningKey(bytes(range(32)))
MESSAGE = {
    "protocol": "federation/1", "message": "draw-request", "request_id": "5f0c6a1e-2b7d-4c39-9a41-0d6f3e8b7a21",
    "from_city": "370800",
    "project": {"code": "JN-2026-GC-0007", "category": "construction", "method": "open_tender"},
    "tendering_party": "12370800MB12345670", "avoid": ["91370800MA3C5K8E74"],
    "starts_at": "2026-11-30T01:00:00Z", "ends_at": "2026-11-30T05:00:00Z",
    "place": "济宁市公共资源交易中心 第2评标室", "groups": [{"specialty": "A08", "count": 2, "reserve_count": 1}],
}
BODY_SHA256 = "5b0e7f0b298fc7ddb34b0eb659aaf75c0fa6e157331ad676fa0ea924c713ae8d"
SIGNATURE = ("99afa18530b1c37d0096ee9c95458842814484f2044df2096df06bdec4983a44"
             "9765349b9d6b56594e9a271f13f726b029a4e4a271e7fdac1a7a2dbc6ce5bd00")
RESPONSE_SIGNATURE = ("ce9d9da50de15619bc6f1da8edfdf1a48f5fcbe78729821d7c010ee6db230dc1"
                      "80cbfbb7df7025a803a630f01d006ee2882cb22c08b02691e1df073740dce208")
X25519 = "4701d08488451f545a409fb58ae3e58581ca40ac3f7f114698cd71deac73ca01"


def test_the_test_vector_of_the_spec():
    body = canon(MESSAGE)
    assert body_sha256(body) == BODY_SHA256
    signed = string_to_sign(method="POST", path="/api/federation/draw-requests", from_city="370800", to_city="370100",
                            timestamp="2026-11-22T09:00:00Z", nonce="00112233445566778899aabbccddeeff", body=body)
    assert signed == ("federation/1\nPOST\n/api/federation/draw-requests\n370800\n370100\n2026-11-22T09:00:00Z\n"
                      f"00112233445566778899aabbccddeeff\n{BODY_SHA256}").encode()
    headers = sign_request(KEY, method="POST", path="/api/federation/draw-requests", from_city="370800",
                           to_city="370100", body=body, timestamp="2026-11-22T09:00:00Z",
                           nonce="00112233445566778899aabbccddeeff")
    assert headers["X-Federation-Signature"] == SIGNATURE
    response = response_string_to_sign(status=401, request_nonce="00112233445566778899aabbccddeeff",
                                       from_city="370100", timestamp="2026-11-22T09:00:01Z",
                                       body=b'{"error":{"code":"federation_replayed_nonce"}}')
    assert KEY.sign(response).signature.hex() == RESPONSE_SIGNATURE
    # The center's X25519 key is derived from its Ed25519 key.
    keys = CenterKeys(signing_key=KEY, kek=bytes(32))
    assert keys.exchange_public_key_hex == X25519 == keys.exchange_key.public_key.encode().hex()


def test_the_spec_carries_the_same_vector():
    doc = DOC.read_text(encoding="utf-8")
    for value in (BODY_SHA256, SIGNATURE, RESPONSE_SIGNATURE, X25519, canon(MESSAGE).decode()):
        assert value in doc, value
    for code in ("federation_missing_headers", "federation_unknown_partner", "federation_partner_disabled",
                 "federation_wrong_recipient", "federation_bad_signature", "federation_stale_timestamp",
                 "federation_replayed_nonce", "partner_unreachable"):
        assert f"`{code}`" in doc, code
    assert re.search(r"±\s*300 s", doc)


async def _partner(session, city="370100", key=KEY):
    return await add_partner(session, actor="test", city_code=city, name="济南市", base_url="http://127.0.0.1:9",
                             verify_key=key.verify_key.encode().hex(),
                             exchange_key=key.verify_key.to_curve25519_public_key().encode().hex(),
                             own_city_code="370800")


async def _check(session, headers, body=b"{}", path="/api/federation/draw-requests"):
    return await check_request(session, method="POST", path=path, headers=headers, body=body, own_city="370800")


def _headers(key=KEY, city="370100", to="370800", body=b"{}", **fixed):
    return sign_request(key, method="POST", path="/api/federation/draw-requests", from_city=city, to_city=to,
                        body=body, **fixed)


async def test_the_receiver_checks_in_order_and_refuses_with_stable_codes(session):
    partner = await _partner(session)
    assert (await _check(session, _headers())).city_code == "370100"
    stranger = nacl.signing.SigningKey.generate()
    cases = [
        ({}, "federation_missing_headers"),
        ({**_headers(), "X-Federation-Nonce": "not hex"}, "federation_missing_headers"),
        (_headers(to="370100"), "federation_wrong_recipient"),
        (_headers(city="370900"), "federation_unknown_partner"),
        (_headers(key=stranger), "federation_bad_signature"),
        (_headers(timestamp="2020-01-01T00:00:00Z"), "federation_stale_timestamp"),
    ]
    for headers, code in cases:
        with pytest.raises(FederationRefused) as refused:
            await _check(session, headers)
        assert refused.value.code == code
    replay = _headers()
    await _check(session, replay)
    with pytest.raises(FederationRefused) as refused:
        await _check(session, replay)
    assert refused.value.code == "federation_replayed_nonce" and "重放" in refused.value.message
    with pytest.raises(FederationRefused) as refused:  # the body is covered by the signature
        await _check(session, _headers(), body=b'{"x":1}')
    assert refused.value.code == "federation_bad_signature"
    await record_refusal(session, refused.value, method="POST", path="/api/federation/draw-requests")
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "federation.refused"))
    assert entry.actor == "partner:370100" and entry.data["code"] == "federation_bad_signature"

    # A flood of refusals is one entry a minute that counts them, not one entry each.
    for _ in range(5):
        await record_refusal(session, refused.value, method="POST", path="/api/federation/draw-requests")
    assert len((await session.scalars(select(AuditEntry).where(AuditEntry.action == "federation.refused"))).all()) == 1
    key = ("federation_bad_signature", "370100")
    federation_wire._refusal_audits[key] = (federation_wire._refusal_audits[key][0] - 61,
                                            federation_wire._refusal_audits[key][1])
    await record_refusal(session, refused.value, method="POST", path="/api/federation/draw-requests")
    latest = await session.scalar(select(AuditEntry).where(AuditEntry.action == "federation.refused")
                                  .order_by(AuditEntry.seq.desc()).limit(1))
    assert latest.seq != entry.seq and latest.data["refused_since_last_entry"] == 5

    await disable_partner(session, actor="test", city_code=partner.city_code, reason="暂停")
    with pytest.raises(FederationRefused) as refused:
        await _check(session, _headers())
    assert refused.value.code == "federation_partner_disabled"


async def test_expired_nonces_are_forgotten_and_answers_are_bound_to_the_request(session):
    await _partner(session)
    await _check(session, _headers())
    await session.execute(text("UPDATE federation_nonces SET expires_at = now() - interval '1 second'"))
    await _check(session, _headers())
    assert await session.scalar(text("SELECT count(*) FROM federation_nonces")) == 1
    headers = sign_response(KEY, status=200, request_nonce="ab" * 16, from_city="370100", body=b"{}")
    assert verify_response(KEY.verify_key.encode().hex(), status=200, request_nonce="ab" * 16, headers=headers,
                           body=b"{}")
    assert not verify_response(KEY.verify_key.encode().hex(), status=200, request_nonce="cd" * 16, headers=headers,
                               body=b"{}")
    assert not verify_response(KEY.verify_key.encode().hex(), status=201, request_nonce="ab" * 16, headers=headers,
                               body=b"{}")
    assert NONCE in _headers()


async def test_the_registry_refuses_bad_entries(session):
    with pytest.raises(InvalidInput) as bad:
        await _partner(session, city="37010")
    assert bad.value.details["field"] == "city_code"
    with pytest.raises(InvalidInput) as own:
        await _partner(session, city="370800")
    assert own.value.details["field"] == "city_code"
    await _partner(session)
    with pytest.raises(Conflict):
        await _partner(session)
    with pytest.raises(InvalidInput) as url:
        await add_partner(session, actor="t", city_code="370200", name="青岛市", base_url="ftp://x", verify_key="00" * 32,
                          exchange_key="00" * 32)
    assert url.value.details["field"] == "base_url"
