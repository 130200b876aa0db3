"""Reliability: the real server (``trading serve``, a subprocess) is killed with SIGKILL in
the middle of a deadline rush of sealed bids and started again. Every bid that got a
receipt is stored and opens with its keys; no bid is half-stored (a row without its
ciphertext, a ciphertext that is not the envelope's, a bid without its audit entry);
bidders whose answer was lost get their receipt by sending the same envelope again, and
new submissions work after the restart."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from datetime import timedelta

import httpx
import nacl.signing
import pytest
from nacl.public import PrivateKey
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bidding.bids import sealed_bid
from bidding.bids.bidder_keys import register_bidder_key
from bidding.bids.opening_keys import TenderOpeningKey
from bidding.tender.projects import Project
from bidding.tender.registrations import register_bidder
from tests.common import factories
from tests.common.live_server import LiveServer
from tests.common.tenders import tender_project
from trading.accounts import API, User, hash_password, issue_token
from trading.audit import verify_audit_log
from trading.canonical import canon
from trading.database import make_sessionmaker, transaction
from trading.keys import load_center_keys

TENDER = "JN-2026-GC-K0001"
BIDDERS = 200
# Receipts seen before the server is killed: well under BIDDERS minus a batch
# (bidding/bid_intake.MAX_BATCH), so that bids are surely still waiting or being stored.
KILL_AFTER = 10
PACKAGE_SIZE = 96 * 1024


@pytest.fixture(scope="module")
async def rush_setup(engine: AsyncEngine, settings) -> list[tuple[str, str, nacl.signing.SigningKey]]:
    """A tender in bidding and BIDDERS admitted bidders, each with its key and an API token."""
    keys = load_center_keys(settings)  # the server loads the same key files
    bidders = []
    async with transaction(make_sessionmaker(engine)) as session:
        await tender_project(session, keys, "bidding", code=TENDER, title="济宁市可靠性测试工程", estimate_fen=30_000_000_00)
        password_hash = hash_password(factories.PASSWORD)  # once: argon2id is slow on purpose
        for i in range(BIDDERS):
            organisation = await factories.organisation(session, "bidder")
            await register_bidder(session, actor="test", project_code=TENDER, bidder_credit_code=organisation.credit_code)
            signing_key = sealed_bid.make_bidder_key()
            await register_bidder_key(session, actor="test", bidder_credit_code=organisation.credit_code,
                                      verify_key=signing_key.verify_key.encode().hex())
            user = User(username=f"rush{i}", display_name=f"投标人{i}", role="bidder", organisation_id=organisation.id,
                        password_hash=password_hash)
            session.add(user)
            await session.flush()
            token, _ = await issue_token(session, user, kind=API, lifetime=timedelta(days=1))
            bidders.append((organisation.credit_code, token, signing_key))
    return bidders


@pytest.fixture(scope="module")
def server(rush_setup, settings, database_url) -> Iterator[LiveServer]:
    live = LiveServer(settings, database_url)
    yield live
    live.stop()


def price_of(index: int) -> int:
    return 25_000_000_00 + index * 100


def sealed(public_key: str, index: int, code: str, signing_key) -> tuple[bytes, dict]:
    document = hashlib.shake_256(f"技术标{index}".encode()).digest(PACKAGE_SIZE)
    payload = sealed_bid.make_package({"price_fen": price_of(index), "duration_days": 300}, {"技术标.bin": document})
    return sealed_bid.seal(payload, TENDER, code, public_key, signing_key)


async def send(client: httpx.AsyncClient, token: str, ciphertext: bytes, envelope: dict) -> httpx.Response:
    return await client.post(f"/api/projects/{TENDER}/bids", headers={"Authorization": f"Bearer {token}"},
                             data={"envelope": canon(envelope).decode()},
                             files={"ciphertext": ("bid.sealed", ciphertext, "application/octet-stream")})


async def test_a_server_killed_mid_rush_loses_no_receipted_bid_and_stores_none_by_half(
        server, rush_setup, engine, settings):
    keys = load_center_keys(settings)
    server.start()
    public_key = httpx.get(f"{server.url}/api/projects/{TENDER}/opening-key").json()["public_key"]
    bids = [sealed(public_key, i, code, signing_key) for i, (code, _, signing_key) in enumerate(rush_setup)]

    receipts: dict[int, dict] = {}
    failed: set[int] = set()
    enough = asyncio.Event()

    async with httpx.AsyncClient(base_url=server.url, timeout=60,
                                 limits=httpx.Limits(max_connections=BIDDERS)) as client:
        async def one(i: int) -> None:
            try:
                answer = await send(client, rush_setup[i][1], *bids[i])
            except httpx.TransportError:
                failed.add(i)  # the connection died with the server: the bidder does not know
                return
            assert answer.status_code == 201, answer.text
            receipts[i] = answer.json()
            if len(receipts) >= KILL_AFTER:
                enough.set()

        rush = [asyncio.create_task(one(i)) for i in range(BIDDERS)]
        await asyncio.wait_for(enough.wait(), timeout=40)
        server.kill()  # SIGKILL in the middle of the rush
        await asyncio.gather(*rush)
    assert len(receipts) >= KILL_AFTER and failed, "the kill must come while submissions are in flight"
    assert len(receipts) + len(failed) == BIDDERS

    # Every receipt is the center's, for that very envelope.
    for i, body in receipts.items():
        sealed_bid.verify_receipt(body["receipt"], body["signature"], keys.verify_key_hex, bids[i][1])

    async def stored_bids() -> dict[str, dict]:
        async with engine.connect() as conn:
            rows = (await conn.execute(text(
                "SELECT b.id, b.envelope, b.envelope_sha256, b.ciphertext, b.ciphertext_sha256, b.size, b.status,"
                "       b.sequence, b.receipt, encode(sha256(b.ciphertext), 'hex') AS digest,"
                "       (SELECT count(*) FROM audit_log a WHERE a.action = 'bid.submitted'"
                "          AND (a.data ->> 'bid_id')::int = b.id) AS audited"
                " FROM bids b JOIN projects p ON p.id = b.project_id WHERE p.code = :code"), {"code": TENDER})).mappings()
            return {row["envelope_sha256"]: dict(row) for row in rows}

    # Nothing is half-stored: each row has its whole ciphertext, the envelope's, and its audit entry.
    stored = await stored_bids()
    for row in stored.values():
        assert row["ciphertext"] is not None and len(row["ciphertext"]) == row["size"] == row["envelope"]["ciphertext_size"]
        assert row["digest"] == row["ciphertext_sha256"] == row["envelope"]["ciphertext_sha256"]
        assert row["envelope_sha256"] == sealed_bid.envelope_sha256(row["envelope"]) == row["receipt"]["envelope_sha256"]
        assert row["audited"] == 1
    assert sorted(row["sequence"] for row in stored.values()) == list(range(1, len(stored) + 1))
    # Every receipted bid is stored, current, as receipted.
    for i, body in receipts.items():
        row = stored[body["receipt"]["envelope_sha256"]]
        assert row["status"] == "submitted" and row["receipt"] == body["receipt"]

    # Restart: bidders whose answer was lost send the same envelope again and get the receipt
    # (the stored one if their bid had committed); new submissions are taken.
    server.start()
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        for i in sorted(failed):
            answer = await send(client, rush_setup[i][1], *bids[i])
            assert answer.status_code == 201, answer.text
            body = answer.json()
            sealed_bid.verify_receipt(body["receipt"], body["signature"], keys.verify_key_hex, bids[i][1])
            receipts[i] = body
        code, token, signing_key = rush_setup[0]
        newer = sealed(public_key, 0, code, signing_key)  # bidder 0 replaces its bid
        answer = await send(client, token, *newer)
        assert answer.status_code == 201 and answer.json()["superseded"], answer.text

    stored = await stored_bids()
    assert len(stored) == BIDDERS + 1
    assert sorted(row["sequence"] for row in stored.values()) == list(range(1, BIDDERS + 2))
    async with engine.connect() as conn:
        sealed_private = await conn.scalar(select(TenderOpeningKey.sealed_private).join(
            Project, Project.id == TenderOpeningKey.project_id).where(Project.code == TENDER))
    tender_key = PrivateKey(keys.unseal(sealed_private))  # as the opening will, once the deadline is past
    for i, body in receipts.items():
        row = stored[body["receipt"]["envelope_sha256"]]
        k_c = sealed_bid.open_center_half(row["envelope"], tender_key)
        k_b = sealed_bid.open_bidder_half(row["envelope"], rush_setup[i][2])
        offer, documents = sealed_bid.read_package(sealed_bid.open_bid(row["ciphertext"], k_c, k_b))
        assert offer["price_fen"] == price_of(i) and len(documents["技术标.bin"]) == PACKAGE_SIZE

    async with make_sessionmaker(engine)() as session:
        report = await verify_audit_log(session, keys.verify_key_hex)
    assert report.ok, report.describe()
