"""Access matrix (issue 5): every role against every API endpoint while a tender is in
bidding with two sealed bids in it.

1. No GET route under /api shows any part of a bid (ciphertext, envelope halves, hashes) or
   reveals who registered, to any role, before the opening.
2. Every write route under /api is listed in ``WRITERS`` with the roles allowed to use it;
   every other role gets 401 (anonymous) or 403. A new write route fails the test until it
   is added to the table.
3. A bidder (bidder2) cannot act on another bidder's (bidder1's) registration, bid, bidder
   key, deposit or opening entry through any endpoint, even when it sends bidder1's
   identifiers or replays bidder1's signed requests.
"""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from bidding.bids import key_rotation

from bidding.bids import sealed_bid
from bidding.bids.bidder_keys import BidderKey
from bidding.bids.submission import SUBMITTED, WITHDRAW_PROTOCOL, Bid
from bidding.opening.proceedings import OpeningEntry
from bidding.tender.registrations import Registration
from cli.demo import ACCOUNTS
from tests.common import factories
from tests.common import bids
from tests.common.portal import bearer
from tests.common.tenders import tender_project
from trading.canonical import canon
from trading.database import make_sessionmaker, transaction
from trading.keys import load_center_keys
from trading.organisations import Organisation
from trading.settings import Settings
from web.app import create_app

ANONYMOUS = "anonymous"
ROLE_OF = {account.username: account.role.value for account in ACCOUNTS}
USERS = [ANONYMOUS, *ROLE_OF]
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
LUJIAN = bids.LUJIAN  # bidder1's organisation
HONGYUAN = bids.HONGYUAN  # bidder2's organisation

# (method, path) -> roles allowed; every other role must get 401 (anonymous) or 403.
# ``None`` means any logged-in user; ``PUBLIC`` is open to everyone.
PUBLIC = "public"
# Signed by a partner city (federation/1, docs/federation.md): no bearer token of any role
# is accepted, so every user here gets 401; tests/test_federation*.py cover the signatures.
PARTNER = "signed by a partner"
WRITERS: dict[tuple[str, str], frozenset[str] | str | None] = {
    ("POST", "/api/auth/token"): PUBLIC,
    ("DELETE", "/api/auth/token"): None,
    ("POST", "/api/auth/token/refresh"): None,
    # accounts
    ("POST", "/api/accounts"): frozenset({"admin"}),
    ("POST", "/api/accounts/{username:str}/disable"): frozenset({"admin"}),
    ("POST", "/api/accounts/{username:str}/enable"): frozenset({"admin"}),
    ("POST", "/api/me/password"): None,
    # projects
    ("POST", "/api/projects"): frozenset({"admin", "tendering_party", "agency"}),
    ("POST", "/api/projects/{code:str}/announce"): frozenset({"admin", "tendering_party", "agency"}),
    ("POST", "/api/projects/{code:str}/terminate"): frozenset({"admin"}),
    ("POST", "/api/projects/{code:str}/close"): frozenset({"admin"}),
    ("POST", "/api/projects/{code:str}/retender"): frozenset({"admin", "tendering_party", "agency"}),
    ("POST", "/api/projects/{code:str}/ratings/experts/{expert_code:str}"): frozenset({"tendering_party", "supervisor"}),
    ("POST", "/api/projects/{code:str}/ratings/agency"): frozenset({"tendering_party", "supervisor"}),
    # bids and bidder keys
    ("POST", "/api/projects/{code:str}/bidder-key"): frozenset({"bidder"}),
    ("POST", "/api/bidder-keys"): frozenset({"bidder"}),
    ("POST", "/api/bidder-keys/rotation"): frozenset({"bidder"}),
    ("POST", "/api/bidder-keys/resets"): frozenset({"bidder"}),
    ("POST", "/api/bidder-keys/resets/{reset_id:int}/cancellation"): frozenset({"bidder"}),
    ("POST", "/api/bidder-keys/resets/{reset_id:int}/approval"): frozenset({"admin"}),
    ("POST", "/api/bidder-keys/resets/{reset_id:int}/refusal"): frozenset({"admin"}),
    ("POST", "/api/projects/{code:str}/bids"): frozenset({"bidder"}),
    ("POST", "/api/projects/{code:str}/bids/withdrawal"): frozenset({"bidder"}),
    # registration
    ("POST", "/api/projects/{code:str}/registrations"): frozenset({"bidder"}),
    # opening
    ("POST", "/api/projects/{code:str}/opening"): frozenset({"admin"}),
    ("POST", "/api/projects/{code:str}/opening/sign-in"): frozenset({"bidder"}),
    ("POST", "/api/projects/{code:str}/opening/hand-in"): frozenset({"bidder"}),
    ("POST", "/api/projects/{code:str}/opening/close-window"): frozenset({"admin"}),
    ("POST", "/api/projects/{code:str}/opening/other-failures"): frozenset({"admin"}),
    ("POST", "/api/projects/{code:str}/opening/max-price"): frozenset({"admin", "agency"}),
    ("POST", "/api/projects/{code:str}/opening/objections"): frozenset({"bidder"}),
    ("POST", "/api/projects/{code:str}/opening/objections/{objection_id:int}/answer"): frozenset({"admin", "agency"}),
    ("POST", "/api/projects/{code:str}/opening/finish"): frozenset({"admin"}),
    # evaluation
    ("PUT", "/api/projects/{code:str}/evaluation/scheme"): frozenset({"admin", "agency", "tendering_party"}),
    ("POST", "/api/projects/{code:str}/evaluation"): frozenset({"admin", "agency"}),
    ("POST", "/api/projects/{code:str}/evaluation/chair-votes"): frozenset({"expert"}),
    ("POST", "/api/projects/{code:str}/evaluation/reviews"): frozenset({"expert"}),
    ("POST", "/api/projects/{code:str}/evaluation/scores"): frozenset({"expert"}),
    ("POST", "/api/projects/{code:str}/evaluation/close-stage"): frozenset({"expert"}),
    ("POST", "/api/projects/{code:str}/evaluation/signatures"): frozenset({"expert"}),
    ("POST", "/api/projects/{code:str}/evaluation/dissent"): frozenset({"expert"}),
    ("POST", "/api/projects/{code:str}/evaluation/complete"): frozenset({"admin", "expert"}),
    ("POST", "/api/me/expert-key"): frozenset({"expert"}),
    # ledger
    ("POST", "/api/ledger/deposits"): frozenset({"finance"}),
    ("POST", "/api/ledger/statements"): frozenset({"finance"}),
    ("POST", "/api/ledger/collusion-flags/{flag_id:int}/dismissal"): frozenset({"supervisor"}),
    ("POST", "/api/ledger/refunds/instruct"): frozenset({"finance", "admin"}),
    ("POST", "/api/ledger/refunds/{refund_id:int}/paid"): frozenset({"finance"}),
    ("POST", "/api/ledger/fees"): frozenset({"finance", "admin"}),
    ("POST", "/api/ledger/fees/{fee_id:int}/paid"): frozenset({"finance"}),
    # clarifications
    ("POST", "/api/projects/{code:str}/questions"): frozenset({"bidder"}),
    ("POST", "/api/projects/{code:str}/clarifications"): frozenset({"admin", "agency", "tendering_party"}),
    # tender documents and objections to them
    ("POST", "/api/projects/{code:str}/documents"): frozenset({"admin", "agency", "tendering_party"}),
    ("POST", "/api/projects/{code:str}/doc-objections"): frozenset({"bidder"}),
    ("POST", "/api/projects/{code:str}/doc-objections/{objection_id:int}/answer"):
        frozenset({"admin", "agency", "tendering_party"}),
    # draws
    ("POST", "/api/draws/{draw_id:str}/void"): frozenset({"admin", "supervisor"}),
    # An agency draw's witness is its tendering party, or a supervisor it asked (sealed-draw/1 rev. 2).
    ("POST", "/api/draws/{draw_id:str}/witness"): frozenset({"supervisor", "tendering_party"}),
    ("POST", "/api/agency-draws"): frozenset({"admin"}),
    ("POST", "/api/agency-draws/{project_code:str}/decline"): frozenset({"tendering_party"}),
    ("POST", "/api/agency-draws/{project_code:str}/witness-request"): frozenset({"tendering_party"}),
    # committees and experts
    ("POST", "/api/committees"): frozenset({"admin"}),
    ("POST", "/api/committees/{request_id:int}/unseal"): frozenset({"admin", "supervisor"}),
    ("POST", "/api/me/invitations/{member_id:int}"): frozenset({"expert"}),
    ("POST", "/api/experts/import"): frozenset({"admin"}),
    ("POST", "/api/agencies/import"): frozenset({"admin"}),
    # credit
    ("POST", "/api/credit/records"): frozenset({"admin", "credit_officer"}),
    ("POST", "/api/credit/records/{record_id:int}/evidence"): frozenset({"admin", "credit_officer"}),
    ("POST", "/api/credit/records/{record_id:int}/repair"): frozenset({"admin", "credit_officer"}),
    ("POST", "/api/credit/records/{record_id:int}/revoke"): frozenset({"admin", "credit_officer"}),
    ("POST", "/api/credit/bribery-checks"): frozenset({"admin", "credit_officer"}),
    ("POST", "/api/credit/import"): frozenset({"admin", "credit_officer"}),
    ("POST", "/api/credit/push"): frozenset({"department"}),
    # candidate publicity, complaints, award notice, contract
    ("POST", "/api/projects/{code:str}/publicity"): frozenset({"admin", "agency"}),
    ("POST", "/api/projects/{code:str}/publicity/objections"): frozenset({"bidder"}),
    ("POST", "/api/projects/{code:str}/publicity/objections/{objection_id:int}/answer"):
        frozenset({"tendering_party", "agency"}),
    ("POST", "/api/projects/{code:str}/complaints"): frozenset({"bidder"}),
    ("POST", "/api/projects/{code:str}/complaints/{complaint_id:int}/accept"): frozenset({"supervisor"}),
    ("POST", "/api/projects/{code:str}/complaints/{complaint_id:int}/reject"): frozenset({"supervisor"}),
    ("POST", "/api/projects/{code:str}/complaints/{complaint_id:int}/decision"): frozenset({"supervisor"}),
    ("POST", "/api/projects/{code:str}/award/choice"): frozenset({"tendering_party", "agency"}),
    ("POST", "/api/projects/{code:str}/award-notice"): frozenset({"admin"}),
    ("POST", "/api/projects/{code:str}/contract"): frozenset({"tendering_party", "agency"}),
    # rooms
    ("POST", "/api/rooms/{code:str}/bookings"): frozenset({"admin", "agency"}),
    ("POST", "/api/rooms/bookings/{booking_id:int}/cancel"): frozenset({"admin"}),
    # partner cities (issue 7): the registry, our remote draws, and what partners call (signed)
    ("POST", "/api/partners"): frozenset({"admin"}),
    ("POST", "/api/partners/{city_code:str}/disable"): frozenset({"admin"}),
    ("POST", "/api/committees/{request_id:int}/partner-draws"): frozenset({"admin"}),
    ("POST", "/api/partner-draws/{request_id:str}/retry"): frozenset({"admin"}),
    ("POST", "/api/partner-draws/{request_id:str}/witness"): frozenset({"supervisor"}),
    ("POST", "/api/partner-draws/{request_id:str}/refresh"): frozenset({"admin", "supervisor"}),
    ("POST", "/api/partner-draws/{request_id:str}/open"): frozenset({"admin", "supervisor"}),
    ("POST", "/api/partner-draws/{request_id:str}/declines"): frozenset({"admin"}),
    ("POST", "/api/partner-draws/{request_id:str}/attendance"): frozenset({"admin"}),
    ("POST", "/api/partner-draws/{request_id:str}/cancel"): frozenset({"admin"}),
    ("POST", "/api/partner-draws/{request_id:str}/fallback"): frozenset({"admin"}),
    ("POST", "/api/partner-draws/{request_id:str}/ratings"): frozenset({"tendering_party", "supervisor"}),
    ("POST", "/api/federation/draw-requests"): PARTNER,
    ("POST", "/api/federation/draw-requests/{request_id:str}/witness"): PARTNER,
    ("POST", "/api/federation/draw-requests/{request_id:str}/reveal"): PARTNER,
    ("POST", "/api/federation/draw-requests/{request_id:str}/declines"): PARTNER,
    ("POST", "/api/federation/draw-requests/{request_id:str}/attendance"): PARTNER,
    ("POST", "/api/federation/draw-requests/{request_id:str}/cancel"): PARTNER,
    ("POST", "/api/federation/draw-requests/{request_id:str}/ratings"): PARTNER,
}

PARAMETER = re.compile(r"\{(\w+):(\w+)\}")


def api_routes(app) -> list[tuple[str, str]]:
    """Every (method, path template) under /api, OPTIONS and HEAD left out."""
    found = set()
    for route in app.routes:
        if not route.path.startswith("/api"):
            continue
        for method in getattr(route, "methods", ()):
            if method not in ("OPTIONS", "HEAD"):
                found.add((method, route.path))
    return sorted(found)


def concrete(template: str, tender_code: str) -> str:
    """The path with the tender's code for project-like parameters and 1 for the rest."""

    def value(match: re.Match) -> str:
        name, kind = match.groups()
        if name in ("code", "project_code"):
            return tender_code
        if name == "path":
            return "openapi.json"
        return "1"

    return PARAMETER.sub(value, template)


def expected_denial(allowed, user: str) -> int | None:
    """401/403 when ``user`` may not use the route, None when it may."""
    if allowed == PUBLIC:
        return None
    if allowed == PARTNER:
        return 401
    if user == ANONYMOUS:
        return 401
    if allowed is None or ROLE_OF[user] in allowed:
        return None
    return 403


@dataclass
class World:
    code: str
    bids: list[tuple[str, bytes, dict]]  # (bidder credit code, ciphertext, envelope)
    bidder1_key: object
    bidder1_envelope_sha256: str
    other_bidder: str  # the second bidder's credit code: known only through its registration


@pytest.fixture(scope="module")
async def client(demo, settings: Settings, database_url: str) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
async def headers(client) -> dict[str, dict[str, str]]:
    answer = {ANONYMOUS: {}}
    for username in ROLE_OF:
        answer[username] = await bearer(client, username)
    return answer


@pytest.fixture(scope="module")
async def world(client, settings, engine) -> World:
    keys = load_center_keys(settings)  # the app's own keys
    async with transaction(make_sessionmaker(engine)) as session:
        tender = await tender_project(session, keys, "bidding")
        other = (await factories.organisation(session, "bidder")).credit_code
        stored = []
        signing_keys = {}
        for credit_code in (LUJIAN, other):
            code, signing_key = await bids.bidder(session, tender.code, credit_code)
            _, ciphertext, envelope = await bids.sealed(session, tender.code, code, signing_key)
            receipt = await bids.submit(session, keys, tender.code, code, envelope, ciphertext)
            stored.append((code, ciphertext, envelope))
            signing_keys[code] = (signing_key, receipt.record["envelope_sha256"])
    return World(code=tender.code, bids=stored, bidder1_key=signing_keys[LUJIAN][0],
                 bidder1_envelope_sha256=signing_keys[LUJIAN][1], other_bidder=other)


def needles(world: World) -> dict[str, str]:
    """Strings that must not appear in any answer before the opening."""
    found = {}
    for code, ciphertext, envelope in world.bids:
        found[f"{code} sealed_center"] = envelope["sealed_center"]
        found[f"{code} sealed_bidder"] = envelope["sealed_bidder"]
        found[f"{code} ciphertext_sha256"] = envelope["ciphertext_sha256"]
        found[f"{code} envelope_sha256"] = sealed_bid.envelope_sha256(envelope)
        found[f"{code} ciphertext hex"] = ciphertext.hex()[:64]
        found[f"{code} ciphertext base64"] = base64.b64encode(ciphertext).decode()[:40]
        found[f"{code} ciphertext base64url"] = base64.urlsafe_b64encode(ciphertext).decode()[:40]
    found["second bidder's registration"] = world.other_bidder
    return found


# ----------------------------------------------------------------------------- 1. nothing leaks


async def test_no_get_route_shows_a_bid_or_a_registration_to_any_role_before_the_opening(client, headers, world):
    gets = [path for method, path in api_routes(client.app) if method == "GET"]
    assert "/api/projects/{code:str}/opening" in gets and "/api/me" in gets  # the enumeration works
    secrets = needles(world)
    leaks, checked = [], 0
    for template in gets:
        path = concrete(template, world.code)
        for user in USERS:
            answer = await client.get(path, headers=headers[user])
            assert answer.status_code < 500, (user, path, answer.status_code, answer.text[:300])
            body = answer.text.lower()
            leaks += [(user, path, what) for what, secret in secrets.items() if secret.lower() in body]
            checked += 1
    assert not leaks, leaks
    assert checked == len(gets) * len(USERS)


async def test_no_public_page_shows_a_bid_or_a_registration_before_the_opening(client, world):
    # The pages read the same services as the API, under the same rules (web/pages/public.py).
    leaks = []
    for path in ("/", "/tenders", f"/tenders?q={world.code}", f"/tenders/{world.code}", "/feeds/construction.atom"):
        answer = await client.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
        body = answer.text.lower()
        leaks += [(path, what) for what, secret in needles(world).items() if secret.lower() in body]
    assert world.code in (await client.get(f"/tenders/{world.code}")).text  # the page is the tender's
    assert not leaks, leaks


async def test_the_opening_record_is_refused_before_the_window_except_to_watchers(client, headers, world):
    path = f"/api/projects/{world.code}/opening"
    for user in USERS:
        status = (await client.get(path, headers=headers[user])).status_code
        if user == ANONYMOUS:
            assert status == 401, (user, status)
        elif ROLE_OF[user] in ("admin", "supervisor"):
            assert status in (200, 404, 409), (user, status)  # nothing opened yet, nothing to read
        else:
            assert status == 403, (user, status)


# ----------------------------------------------------------------------------- 2. the write matrix


async def test_every_write_route_is_in_the_matrix(client):
    writes = {(method, path) for method, path in api_routes(client.app) if method in WRITE_METHODS}
    assert writes == set(WRITERS), {"not in WRITERS": writes - set(WRITERS), "gone": set(WRITERS) - writes}


async def test_each_role_is_refused_each_write_route_it_does_not_have(client, headers, world):
    table = [(method, concrete(template, world.code), user, expected)
             for (method, template), allowed in WRITERS.items()
             for user in USERS
             if (expected := expected_denial(allowed, user)) is not None]
    assert len(table) > 200
    wrong = []
    for method, path, user, expected in table:
        answer = await client.request(method, path, json={}, headers=headers[user])
        if answer.status_code != expected:
            wrong.append((method, path, user, expected, answer.status_code))
    assert not wrong, wrong


# ----------------------------------------------------------------------------- 3. bidder2 against bidder1


async def _state(engine, world: World):
    async with make_sessionmaker(engine)() as session:
        lujian = await session.scalar(select(Organisation.id).where(Organisation.credit_code == LUJIAN))
        bid = await session.scalar(select(Bid).where(Bid.bidder_credit_code == LUJIAN, Bid.status == SUBMITTED,
                                                     Bid.envelope_sha256 == world.bidder1_envelope_sha256))
        key = await session.scalar(select(BidderKey.verify_key).where(BidderKey.organisation_id == lujian,
                                                                      BidderKey.revoked_at.is_(None)))
        registrations = (await session.execute(
            select(Registration.id, Registration.status, Registration.deposit_paid_at)
            .where(Registration.bidder_organisation_id == lujian))).all()
        entries = (await session.scalars(select(OpeningEntry.id).where(
            OpeningEntry.bidder_credit_code == LUJIAN))).all()
        bid_count = len((await session.scalars(select(Bid.id))).all())
    return bid is not None, key, registrations, list(entries), bid_count


async def test_bidder2_cannot_act_on_bidder1s_registration_bid_key_deposit_or_opening_entry(
        client, headers, world, engine):
    before = await _state(engine, world)
    assert before[0] and before[1] == world.bidder1_key.verify_key.encode().hex()
    as_bidder2 = headers["bidder2"]
    base = f"/api/projects/{world.code}"
    signed = {"protocol": WITHDRAW_PROTOCOL, "tender_code": world.code, "bidder_code": LUJIAN,
              "envelope_sha256": world.bidder1_envelope_sha256}
    replayed_withdrawal = {"request": signed, "signature": world.bidder1_key.sign(canon(signed)).signature.hex()}
    _, ciphertext, envelope = next(b for b in world.bids if b[0] == LUJIAN)
    k_b = sealed_bid.open_bidder_half(envelope, world.bidder1_key).hex()
    foreign = {"bidder_credit_code": LUJIAN, "bidder_code": LUJIAN, "organisation": LUJIAN}

    # bidder2 has its own key registered (identifiers in the body are ignored), so refusals
    # below are about whose bid it is, not about bidder2 lacking a key.
    own_key = sealed_bid.make_bidder_key().verify_key.encode().hex()
    keyed = await client.post(f"{base}/bidder-key", json={**foreign, "verify_key": own_key}, headers=as_bidder2)
    assert keyed.status_code == 201, keyed.text
    assert keyed.json()["bidder_credit_code"] == HONGYUAN

    # bidder1's own rotation request (to a key bidder2 made), as if intercepted and replayed by bidder2.
    rotation = key_rotation.rotation_request(LUJIAN, world.bidder1_key.verify_key, own_key, datetime.now(UTC))
    replayed_rotation = {"request": rotation, "signature": key_rotation.sign_rotation(rotation, world.bidder1_key)}

    # (method, path, body, expected statuses) — bidder2 with bidder1's identifiers.
    attempts = [
        ("POST", "/api/bidder-keys/rotation", replayed_rotation, {400, 403, 409}),
        ("POST", "/api/bidder-keys/resets/1/approval", {"identity_check": "x"}, {403}),
        ("POST", f"{base}/bids/withdrawal", replayed_withdrawal, {400, 403, 409, 422}),
        ("POST", f"{base}/opening/sign-in", foreign, {400, 403, 404, 409, 422}),
        ("POST", f"{base}/opening/hand-in", {**foreign, "k_b": k_b}, {400, 403, 404, 409, 422}),
        ("POST", f"{base}/opening/other-failures", {**foreign, "reason": "x"}, {403}),
        ("POST", f"{base}/opening/objections/1/answer", {"answer": "x"}, {403}),
        ("POST", "/api/ledger/deposits", {**foreign, "project_code": world.code}, {403}),
        ("POST", "/api/ledger/statements", {}, {403}),
    ]
    wrong = []
    for method, path, body, allowed in attempts:
        answer = await client.request(method, path, json=body, headers=as_bidder2)
        if answer.status_code not in allowed:
            wrong.append((method, path, answer.status_code, answer.text[:200]))
    # A replay of bidder1's sealed bid under bidder2's account is refused (the envelope names bidder1).
    replay = await client.post(f"{base}/bids", data={"envelope": canon(envelope).decode()},
                               files={"ciphertext": ("bid.sealed", ciphertext, "application/octet-stream")},
                               headers=as_bidder2)
    if replay.status_code < 400 or replay.status_code >= 500:
        wrong.append(("POST", f"{base}/bids", replay.status_code, replay.text[:200]))
    assert not wrong, wrong

    # Identifiers in the body are ignored: bidder2 registers only its own organisation.
    registered = await client.post(f"{base}/registrations", json=foreign, headers=as_bidder2)
    assert registered.status_code in (201, 422), registered.text
    assert LUJIAN not in registered.text
    after = await _state(engine, world)
    assert after == before  # bidder1's bid, key, registration and opening entries are untouched

    # At the opening (this test runs last: it moves the tender on), bidder2 handing in bidder1's
    # K_b or signing in does not touch bidder1's opening entry.
    async with transaction(make_sessionmaker(engine)) as session:
        await bids.deadline_passes(session, world.code)
    started = await client.post(f"{base}/opening", headers=headers["admin"])
    assert started.status_code in (200, 201), started.text
    async with make_sessionmaker(engine)() as session:
        entry_before = (await session.execute(select(OpeningEntry.state, OpeningEntry.signed_in_at).where(
            OpeningEntry.bidder_credit_code == LUJIAN))).all()
    wrong = []
    for path, body in ((f"{base}/opening/sign-in", foreign), (f"{base}/opening/hand-in", {**foreign, "k_b": k_b})):
        answer = await client.post(path, json=body, headers=as_bidder2)
        if answer.status_code < 400 or answer.status_code >= 500 or LUJIAN in answer.text:
            wrong.append((path, answer.status_code, answer.text[:200]))
    assert not wrong, wrong
    async with make_sessionmaker(engine)() as session:
        entry_after = (await session.execute(select(OpeningEntry.state, OpeningEntry.signed_in_at).where(
            OpeningEntry.bidder_credit_code == LUJIAN))).all()
    assert entry_after == entry_before
