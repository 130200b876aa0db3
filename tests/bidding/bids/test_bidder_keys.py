"""Bidder identity keys through the API as an outsider's client uses them (sealed-bid.md,
"Bidder key registration and rotation", revision 2): one current key per organisation; the
account's password alone never replaces it; a rotation signed by the current key does; a lost
key is replaced only by a reset that center staff approve (audited, shown to the
organisation); every withdrawal is checked against the key the bid was submitted under."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import nacl.signing
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from bidding.bids import key_rotation

from bidding.bids import sealed_bid
from bidding.bids.submission import WITHDRAW_PROTOCOL
from bidding.tender.registrations import register_bidder
from cli.demo import load_demo_data
from tests.common import factories
from tests.common.portal import bearer, csrf_token_from, log_in
from tests.common.tenders import tender_project
from trading.audit import AuditEntry
from trading.canonical import canon
from trading.database import make_sessionmaker, transaction
from trading.keys import key_id, load_center_keys
from trading.organisations import Organisation
from trading.settings import Settings
from web.app import create_app

MINE = "/api/bidder-keys/mine"


@pytest.fixture(scope="module")
async def client(engine, settings: Settings, database_url: str) -> AsyncIterator[AsyncTestClient]:
    async with transaction(make_sessionmaker(engine)) as session:
        await load_demo_data(session, pools=False)
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


async def new_bidder(client, engine) -> tuple[str, dict[str, str], str]:
    """A fresh bidder organisation with its own account: its code, the account's bearer header
    and its username."""
    async with transaction(make_sessionmaker(engine)) as session:
        user = await factories.user(session)
        organisation = await session.get(Organisation, user.organisation_id)
    answer = await client.post("/api/auth/token", json={"username": user.username, "password": factories.PASSWORD})
    assert answer.status_code == 201, answer.text
    return organisation.credit_code, {"Authorization": f"Bearer {answer.json()['token']}"}, user.username


def hex_of(key: nacl.signing.SigningKey) -> str:
    return key.verify_key.encode().hex()


def rotation(code: str, old: nacl.signing.SigningKey, new: nacl.signing.SigningKey, *, signer=None,
             at: datetime | None = None) -> dict:
    request = key_rotation.rotation_request(code, old.verify_key, new.verify_key, at or datetime.now(UTC))
    return {"request": request, "signature": key_rotation.sign_rotation(request, signer or old)}


def withdrawal(code: str, tender: str, envelope_sha256: str, key: nacl.signing.SigningKey) -> dict:
    request = {"protocol": WITHDRAW_PROTOCOL, "tender_code": tender, "bidder_code": code,
               "envelope_sha256": envelope_sha256}
    return {"request": request, "signature": key.sign(canon(request)).signature.hex()}


async def submitted_bid(client, engine, settings, code: str, headers, key) -> tuple[str, str]:
    """A tender in bidding, the bidder registered for it, and a bid sealed with ``key``
    submitted over the API: (tender code, the receipt's envelope_sha256)."""
    async with transaction(make_sessionmaker(engine)) as session:
        tender = await tender_project(session, load_center_keys(settings), "bidding")
        await register_bidder(session, actor="test", project_code=tender.code, bidder_credit_code=code)
    answer = await submit(client, tender.code, code, headers, key)
    assert answer.status_code == 201, answer.text
    return tender.code, answer.json()["receipt"]["envelope_sha256"]


async def submit(client, tender: str, code: str, headers, key):
    public = (await client.get(f"/api/projects/{tender}/opening-key")).json()["public_key"]
    ciphertext, envelope = sealed_bid.seal(sealed_bid.make_package({"price_fen": 88_000_000}, {}), tender, code,
                                           public, key)
    return await client.post(f"/api/projects/{tender}/bids", data={"envelope": canon(envelope).decode()},
                             files={"ciphertext": ("bid.sealed", ciphertext, "application/octet-stream")},
                             headers=headers)


# ----------------------------------------------------------------------------- the first key


async def test_the_key_is_the_organisations_and_the_password_alone_cannot_replace_it(client, engine):
    code, headers, _ = await new_bidder(client, engine)
    first, intruder = sealed_bid.make_bidder_key(), sealed_bid.make_bidder_key()
    assert (await client.get(MINE, headers=headers)).json()["current"] is None
    registered = await client.post("/api/bidder-keys", json={"verify_key": hex_of(first)}, headers=headers)
    assert registered.status_code == 201, registered.text
    assert registered.json() | {"bidder_credit_code": code, "verify_key": hex_of(first), "how": "registered"} \
        == registered.json()
    again = await client.post("/api/bidder-keys", json={"verify_key": hex_of(first)}, headers=headers)
    assert again.status_code == 201 and again.json()["id"] == registered.json()["id"]  # the same key: no change

    # Whoever holds the account's password: neither route replaces the key.
    for path in ("/api/bidder-keys", "/api/projects/JN-2026-GC-0007/bidder-key"):
        refused = await client.post(path, json={"verify_key": hex_of(intruder)}, headers=headers)
        assert refused.status_code in (404, 409), (path, refused.text)
        if refused.status_code == 409:
            error = refused.json()["error"]
            assert error["code"] == "bidder_key_exists" and "轮换请求" in error["message"] and "重置" in error["message"]
    mine = (await client.get(MINE, headers=headers)).json()
    assert mine["current"]["verify_key"] == hex_of(first) and len(mine["history"]) == 1


# ----------------------------------------------------------------------------- rotation


async def test_a_rotation_signed_by_the_old_key_replaces_it_and_nothing_else_does(client, engine):
    code, headers, _ = await new_bidder(client, engine)
    old, new, other = (sealed_bid.make_bidder_key() for _ in range(3))
    assert (await client.post("/api/bidder-keys", json={"verify_key": hex_of(old)}, headers=headers)).status_code == 201

    def refused(answer, status: int, error_code: str) -> None:
        assert answer.status_code == status, answer.text
        assert answer.json()["error"]["code"] == error_code, answer.text

    path = "/api/bidder-keys/rotation"
    # Signed by the new key, or by any other key, instead of the current one.
    refused(await client.post(path, json=rotation(code, old, new, signer=new), headers=headers),
            400, "rotation_signature")
    refused(await client.post(path, json=rotation(code, old, new, signer=other), headers=headers),
            400, "rotation_signature")
    # A key that is not the current one, signing its own request.
    refused(await client.post(path, json=rotation(code, other, new), headers=headers), 409, "rotation_not_current")
    # Another organisation's code; a stale request; one dated ahead.
    refused(await client.post(path, json=rotation(factories.credit_code(), old, new), headers=headers),
            400, "rotation_mismatch")
    stale = rotation(code, old, new, at=datetime.now(UTC) - timedelta(minutes=11))
    refused(await client.post(path, json=stale, headers=headers), 400, "rotation_stale")
    ahead = rotation(code, old, new, at=datetime.now(UTC) + timedelta(minutes=11))
    refused(await client.post(path, json=ahead, headers=headers), 400, "rotation_stale")
    # A request altered after signing; one with a field more; the wrong protocol.
    altered = rotation(code, old, new)
    altered["request"]["new_verify_key"] = hex_of(other)
    refused(await client.post(path, json=altered, headers=headers), 400, "rotation_signature")
    wrong = rotation(code, old, new)
    wrong["request"]["protocol"] = "sealed-bid-key-rotation/2"
    wrong["signature"] = key_rotation.sign_rotation(wrong["request"], old)
    refused(await client.post(path, json=wrong, headers=headers), 400, "rotation_format")
    assert (await client.get(MINE, headers=headers)).json()["current"]["verify_key"] == hex_of(old)

    signed = rotation(code, old, new)
    rotated = await client.post(path, json=signed, headers=headers)
    assert rotated.status_code == 201, rotated.text
    assert (rotated.json()["verify_key"], rotated.json()["how"]) == (hex_of(new), "rotated")
    # The same request again is a replay; the old key cannot come back.
    refused(await client.post(path, json=signed, headers=headers), 409, "rotation_replayed")
    refused(await client.post(path, json=rotation(code, new, old), headers=headers), 409, "bidder_key_reused")

    mine = (await client.get(MINE, headers=headers)).json()
    assert mine["current"]["verify_key"] == hex_of(new)
    assert [(k["verify_key"], k["how"], k["current"]) for k in mine["history"]] == [
        (hex_of(new), "rotated", True), (hex_of(old), "registered", False)]
    assert mine["history"][0]["replaces_key_id"] == mine["history"][1]["id"]
    async with make_sessionmaker(engine)() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "bidder_key.rotated",
                                                              AuditEntry.subject == f"organisation:{code}"))
    assert entry.data["request"] == signed["request"] and entry.data["signature"] == signed["signature"]


async def test_a_bid_submitted_before_a_rotation_is_withdrawn_only_with_the_key_it_was_submitted_under(
        client, engine, settings):
    code, headers, username = await new_bidder(client, engine)
    old, new = sealed_bid.make_bidder_key(), sealed_bid.make_bidder_key()
    assert (await client.post("/api/bidder-keys", json={"verify_key": hex_of(old)}, headers=headers)).status_code == 201
    tender, digest = await submitted_bid(client, engine, settings, code, headers, old)
    assert (await client.post("/api/bidder-keys/rotation", json=rotation(code, old, new),
                              headers=headers)).status_code == 201

    path = f"/api/projects/{tender}/bids/withdrawal"
    by_new = await client.post(path, json=withdrawal(code, tender, digest, new), headers=headers)
    assert by_new.status_code == 400, by_new.text
    assert by_new.json()["error"]["code"] == "withdraw_signature"
    assert "递交该投标文件时" in by_new.json()["error"]["message"]
    # New envelopes go by the current key: the old one no longer seals a bid.
    assert (await submit(client, tender, code, headers, old)).status_code == 400
    # The tender's page tells the bidder which key the bid is bound to.
    client.cookies.clear()
    assert (await log_in(client, username, factories.PASSWORD)).status_code in (302, 303)
    page = (await client.get(f"/bidder/tenders/{tender}")).text
    assert key_id(hex_of(old)) in page and key_id(hex_of(new)) not in page
    client.cookies.clear()
    by_old = await client.post(path, json=withdrawal(code, tender, digest, old), headers=headers)
    assert by_old.status_code == 201, by_old.text
    assert by_old.json()["receipt"]["envelope_sha256"] == digest


# ----------------------------------------------------------------------------- reset


async def test_a_lost_key_is_reset_only_when_center_staff_approve_and_the_organisation_sees_it(
        client, engine, settings):
    code, headers, _ = await new_bidder(client, engine)
    lost, replacement = sealed_bid.make_bidder_key(), sealed_bid.make_bidder_key()
    assert (await client.post("/api/bidder-keys", json={"verify_key": hex_of(lost)}, headers=headers)).status_code == 201
    tender, digest = await submitted_bid(client, engine, settings, code, headers, lost)

    asked = await client.post("/api/bidder-keys/resets", json={"new_verify_key": hex_of(replacement),
                                                               "reason": "保管密钥的电脑硬盘损坏"}, headers=headers)
    assert asked.status_code == 201, asked.text
    reset_id = asked.json()["id"]
    assert asked.json()["status"] == "pending"
    again = await client.post("/api/bidder-keys/resets", json={"new_verify_key": hex_of(replacement),
                                                               "reason": "再次申请"}, headers=headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "reset_pending"
    # Asking changes nothing: the lost key stays current until staff approve.
    assert (await client.get(MINE, headers=headers)).json()["current"]["verify_key"] == hex_of(lost)

    approval = f"/api/bidder-keys/resets/{reset_id}/approval"
    body = {"identity_check": "核验营业执照原件及法定代表人身份证，与登记信息一致"}
    for who in ("supervisor", "bidder1"):
        assert (await client.post(approval, json=body, headers=await bearer(client, who))).status_code == 403
    assert (await client.post(approval, json=body, headers=headers)).status_code == 403  # not the bidder itself
    listed = await client.get("/api/bidder-keys/resets?pending=true", headers=await bearer(client, "supervisor"))
    assert any(r["id"] == reset_id and r["bidder_credit_code"] == code for r in listed.json())

    admin = await bearer(client, "admin")
    approved = await client.post(approval, json=body, headers=admin)
    assert approved.status_code == 201, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["decided_by"].endswith(":admin")
    assert (await client.post(approval, json=body, headers=admin)).json()["error"]["code"] == "reset_decided"

    mine = (await client.get(MINE, headers=headers)).json()
    assert (mine["current"]["verify_key"], mine["current"]["how"]) == (hex_of(replacement), "reset")
    shown = mine["resets"][0]
    assert (shown["status"], shown["decided_by"], shown["decision_note"]) == (
        "approved", approved.json()["decided_by"], body["identity_check"])
    async with make_sessionmaker(engine)() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "bidder_key.reset_approved",
                                                              AuditEntry.subject == f"organisation:{code}"))
    assert entry.actor.endswith(":admin") and entry.data["identity_check"] == body["identity_check"]

    # The bid submitted under the lost key is still the lost key's: the new key cannot withdraw it.
    path = f"/api/projects/{tender}/bids/withdrawal"
    by_new = await client.post(path, json=withdrawal(code, tender, digest, replacement), headers=headers)
    assert by_new.status_code == 400 and by_new.json()["error"]["code"] == "withdraw_signature"
    assert (await client.post(path, json=withdrawal(code, tender, digest, lost), headers=headers)).status_code == 201


async def test_a_refused_or_cancelled_reset_leaves_the_key_and_is_shown_with_its_reason(client, engine):
    code, headers, _ = await new_bidder(client, engine)
    key, other = sealed_bid.make_bidder_key(), sealed_bid.make_bidder_key()
    assert (await client.post("/api/bidder-keys", json={"verify_key": hex_of(key)}, headers=headers)).status_code == 201
    first = (await client.post("/api/bidder-keys/resets", json={"new_verify_key": hex_of(other), "reason": "遗失"},
                               headers=headers)).json()
    refused = await client.post(f"/api/bidder-keys/resets/{first['id']}/refusal",
                                json={"reason": "来人未能出示授权委托书"}, headers=await bearer(client, "admin"))
    assert refused.status_code == 201 and refused.json()["status"] == "refused"
    second = (await client.post("/api/bidder-keys/resets", json={"new_verify_key": hex_of(other), "reason": "遗失"},
                                headers=headers)).json()
    cancelled = await client.post(f"/api/bidder-keys/resets/{second['id']}/cancellation", headers=headers)
    assert cancelled.status_code == 201 and cancelled.json()["status"] == "cancelled"
    mine = (await client.get(MINE, headers=headers)).json()
    assert mine["current"]["verify_key"] == hex_of(key)
    assert [(r["status"], r["decision_note"]) for r in mine["resets"]] == [
        ("cancelled", "本单位撤销申请"), ("refused", "来人未能出示授权委托书")]


async def test_a_reset_asked_for_a_key_its_holder_rotated_meanwhile_cannot_be_approved(client, engine):
    code, headers, _ = await new_bidder(client, engine)
    key, asked_for, rotated_to = (sealed_bid.make_bidder_key() for _ in range(3))
    assert (await client.post("/api/bidder-keys", json={"verify_key": hex_of(key)}, headers=headers)).status_code == 201
    reset = (await client.post("/api/bidder-keys/resets", json={"new_verify_key": hex_of(asked_for),
                                                                "reason": "遗失"}, headers=headers)).json()
    assert (await client.post("/api/bidder-keys/rotation", json=rotation(code, key, rotated_to),
                              headers=headers)).status_code == 201
    lapsed = await client.post(f"/api/bidder-keys/resets/{reset['id']}/approval", json={"identity_check": "已核验"},
                               headers=await bearer(client, "admin"))
    assert lapsed.status_code == 409 and lapsed.json()["error"]["code"] == "reset_lapsed"
    assert (await client.get(MINE, headers=headers)).json()["current"]["verify_key"] == hex_of(rotated_to)


# ----------------------------------------------------------------------------- the pages


async def test_the_key_page_offers_rotation_and_a_reset_and_the_center_approves_it_on_its_page(client, engine):
    # bidder3's organisation (demo), through the pages with the session cookie.
    key, replacement = sealed_bid.make_bidder_key(), sealed_bid.make_bidder_key()
    client.cookies.clear()
    assert (await log_in(client, "bidder3")).status_code in (302, 303)
    token = await csrf_token_from(client, "/bidder/key")
    assert (await client.post("/bidder/key", data={"verify_key": hex_of(key), "_csrf_token": token},
                              follow_redirects=False)).status_code in (302, 303)
    page = (await client.get("/bidder/key")).text
    assert 'id="rotation-tools"' in page and 'id="reset-form"' in page and 'id="key-form"' not in page
    token = await csrf_token_from(client, "/bidder/key")
    replaced = await client.post("/bidder/key", data={"verify_key": hex_of(replacement), "_csrf_token": token})
    assert replaced.status_code == 409 and "轮换请求" in replaced.text
    asked = await client.post("/bidder/key/resets", data={"new_verify_key": hex_of(replacement), "reason": "密钥遗失",
                                                          "_csrf_token": token}, follow_redirects=False)
    assert asked.status_code in (302, 303), asked.text
    page = (await client.get("/bidder/key")).text
    assert "待交易中心审核" in page and 'id="pending-reset"' in page

    client.cookies.clear()
    assert (await log_in(client, "admin")).status_code in (302, 303)
    center = await client.get("/center/bidder-key-resets")
    assert center.status_code == 200 and "密钥遗失" in center.text
    reset_id = int(center.text.split('action="/center/bidder-key-resets/')[1].split("/")[0])
    token = await csrf_token_from(client, "/center/bidder-key-resets")
    empty = await client.post(f"/center/bidder-key-resets/{reset_id}/approval",
                              data={"identity_check": "", "_csrf_token": token})
    assert empty.status_code == 400 and "请填写身份核验情况" in empty.text
    done = await client.post(f"/center/bidder-key-resets/{reset_id}/approval",
                             data={"identity_check": "核验营业执照原件", "_csrf_token": token}, follow_redirects=False)
    assert done.status_code in (302, 303), done.text

    client.cookies.clear()
    assert (await log_in(client, "bidder3")).status_code in (302, 303)
    page = (await client.get("/bidder/key")).text
    assert hex_of(replacement) in page and "经交易中心审核重置" in page
    assert "已批准" in page and "核验营业执照原件" in page and "交易中心 admin" in page
