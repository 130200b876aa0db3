"""Live events for supervisors' views: published with pg_notify inside the service's own
transaction (so only committed changes are ever announced), fanned out by each app worker's
listener, streamed as server-sent events to those allowed to watch; the listener survives a
dropped connection and tells its watchers to re-read; a slow watcher never holds up others."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bidding.opening.proceedings import hand_in_bidder_half, open_handed_in_bids, sign_in, start_opening
from tests.common.portal import bearer, log_in
from tests.common.opening import k_b_of, tender_with_bids
from tests.common.tenders import tender_project
from trading.database import make_sessionmaker, transaction
from trading.draws import commit_draw, supply_witness
from trading.event_hub import END, RESYNC, EventHub, Subscription
from trading.events import MAX_PAYLOAD_BYTES, LiveEvent, live_event, publish_event
from web.core import live
from web.app import create_app

QUIET = 0.4  # how long "nothing arrives" is watched for
HEARTBEAT = 0.3


@pytest.fixture
async def hub(database_url: str) -> AsyncIterator[EventHub]:
    hub = EventHub.for_url(database_url, health_seconds=1.0)
    await hub.start()
    await hub.wait_connected()
    yield hub
    await hub.stop()


async def received(subscription: Subscription, seconds: float = 5.0) -> LiveEvent:
    return await asyncio.wait_for(subscription.next_event(), seconds)


async def nothing_arrives(subscription: Subscription, seconds: float = QUIET) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(subscription.next_event(), seconds)


async def publish_committed(engine: AsyncEngine, topic: str, kind: str, data: dict | None = None) -> LiveEvent:
    async with transaction(make_sessionmaker(engine)) as session:
        return await publish_event(session, topic, kind, data)


# ----------------------------------------------------------------------------- publishing


async def test_an_event_reaches_watchers_only_once_its_transaction_commits(hub, engine):
    watcher = hub.subscribe("opening:JN-LIVE-0001")
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        async with session.begin():
            sent = await publish_event(session, "opening:JN-LIVE-0001", "opening.signed_in", {"bidder": "A"})
            await nothing_arrives(watcher)  # published, not yet committed
        event = await received(watcher)
    assert (event.id, event.kind, event.data) == (sent.id, "opening.signed_in", {"bidder": "A"})

    with pytest.raises(RuntimeError, match="refused"):
        async with transaction(sessions) as session:
            await publish_event(session, "opening:JN-LIVE-0001", "opening.signed_in", {"bidder": "B"})
            raise RuntimeError("refused")  # the service failed: its transaction rolls back
    await nothing_arrives(watcher)
    after = await publish_committed(engine, "opening:JN-LIVE-0001", "opening.signed_in", {"bidder": "C"})
    assert (await received(watcher)).id == after.id  # the rolled-back one never came


async def test_watchers_get_only_their_topic(hub, engine):
    draw, opening = hub.subscribe("draw:D-2026-000001"), hub.subscribe("opening:JN-LIVE-0002")
    sent = await publish_committed(engine, "draw:D-2026-000001", "draw.committed", {"status": "committed"})
    assert (await received(draw)).id == sent.id
    await nothing_arrives(opening)


def test_an_event_carries_ids_and_states_never_secrets_bid_content_or_a_big_record():
    event = live_event("opening:JN-LIVE-0003", "opening.decrypted", {"bidder": "91370800MA1234567Q",
                                                                      "state": "decrypted"})
    assert len(event.payload().encode()) < 500
    for name in ("price_fen", "k_b", "sealed_center_half", "center_seed", "token", "text", "answer"):
        with pytest.raises(ValueError, match="secret or bid content"):
            live_event("opening:JN-LIVE-0003", "opening.decrypted", {name: "x"})
    with pytest.raises(ValueError, match=f"exceeds {MAX_PAYLOAD_BYTES}"):
        live_event("opening:JN-LIVE-0003", "opening.window_closed", {"not_decrypted": ["91370800MA1234567Q"] * 200})
    with pytest.raises(ValueError, match="longer than"):
        live_event("opening:JN-LIVE-0003", "opening.objection_raised", {"note": "异议" * 100})
    with pytest.raises(ValueError, match="string, integer"):
        live_event("opening:JN-LIVE-0003", "opening.started", {"record": {"entries": []}})


async def test_the_opening_and_the_draw_announce_each_step_with_states_never_prices(demo, hub, engine, keys):
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as session:
        tender, [(code, signing_key)] = await tender_with_bids(session, keys, [99_500_000])
    watcher = hub.subscribe(f"opening:{tender.code}")
    project_watcher = hub.subscribe(f"project:{tender.code}")
    async with transaction(sessions) as session:
        await start_opening(session, keys, actor="admin", project_code=tender.code)
    async with transaction(sessions) as session:
        await sign_in(session, actor=code, project_code=tender.code, bidder_credit_code=code)
        k_b = await k_b_of(session, tender, code, signing_key)
    async with transaction(sessions) as session:
        await hand_in_bidder_half(session, keys, actor=code, project_code=tender.code, bidder_credit_code=code,
                                  k_b_hex=k_b)
    async with transaction(sessions) as session:  # the batch opener: one event per chunk, counts only
        await open_handed_in_bids(session, keys, tender.code)
    started, signed_in, handed_in, opened = [await received(watcher) for _ in range(4)]
    assert (started.kind, started.data["bids"]) == ("opening.started", 1)
    assert (signed_in.kind, signed_in.data) == ("opening.signed_in", {"bidder": code})
    assert (handed_in.kind, handed_in.data) == ("opening.handed_in", {"bidder": code, "state": "pending"})
    assert (opened.kind, opened.data) == ("opening.bids_opened", {"decrypted": 1, "not_decrypted": 0})
    assert "99500000" not in json.dumps([started.data, signed_in.data, handed_in.data, opened.data])
    # Every step of the tender's life is announced on the project's topic too. The steps that
    # made the tender may still be on their way (as the draw's commit below): skip to this one.
    step = await received(project_watcher)
    while step.kind != "tender.start_opening":
        step = await received(project_watcher)
    assert step.data == {"from": "bidding", "to": "opening"}

    async with transaction(sessions) as session:
        draw = await commit_draw(session, keys, actor="admin", purpose="expert", project_code=tender.code,
                                 criteria={}, pool=[f"EXP{i:03d}" for i in range(10)], count=3, reserve_count=1,
                                 witness_required=True, unseal_at=None)
    draw_watcher = hub.subscribe(f"draw:{draw.draw_id}")
    async with transaction(sessions) as session:
        await supply_witness(session, keys, draw.draw_id, value="见证值-42", by="supervisor")
    # The commit's own event may still be on its way when the watcher subscribes: NOTIFYs
    # arrive shortly after COMMIT returns, so watchers treat events as "re-read", not as state.
    events = [await received(draw_watcher)]
    while events[-1].kind != "draw.revealed":
        events.append(await received(draw_watcher))
    assert [event.kind for event in events][-2:] == ["draw.witnessed", "draw.revealed"]
    assert events[-1].data == {"project_code": tender.code, "status": "revealed"}  # the selection stays in the record


# ----------------------------------------------------------------------------- the listener


async def test_two_app_instances_both_receive_an_event_published_by_a_third_connection(settings, database_url, engine):
    first, second = create_app(settings, url=database_url), create_app(settings, url=database_url)
    async with AsyncTestClient(app=first), AsyncTestClient(app=second):
        hubs = [app.state["context"].events for app in (first, second)]
        for worker in hubs:
            await worker.wait_connected()
        watchers = [worker.subscribe("evaluation:JN-LIVE-0004") for worker in hubs]
        sent = await publish_committed(engine, "evaluation:JN-LIVE-0004", "evaluation.scored", {"expert": 3})
        assert [(await received(watcher)).id for watcher in watchers] == [sent.id, sent.id]
    assert all(watcher.ended == "shutdown" for watcher in watchers)  # the lifespan stopped both listeners


async def test_after_its_connection_is_killed_the_listener_reconnects_and_watchers_resync(hub, engine):
    watcher = hub.subscribe("opening:JN-LIVE-0005")
    killed = hub.backend_pid()
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": killed})
    resync = await received(watcher, 10)
    assert resync.kind == RESYNC and resync.topic == "opening:JN-LIVE-0005"
    assert hub.connections == 2 and hub.backend_pid() != killed
    sent = await publish_committed(engine, "opening:JN-LIVE-0005", "opening.window_closed", {"not_decrypted": 0})
    assert (await received(watcher)).id == sent.id


async def test_the_listener_keeps_trying_while_the_database_refuses_it(hub, engine, database_url):
    watcher = hub.subscribe("opening:JN-LIVE-0006")
    database = make_url(database_url).database
    admin = create_async_engine(make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            # The database refuses new connections for a moment (superusers too); the listener is killed.
            await connection.execute(text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false'))
            try:
                await connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": hub.backend_pid()})
                await asyncio.sleep(1.5)
                assert not hub.connected.is_set()
                await nothing_arrives(watcher, 0.1)
            finally:
                await connection.execute(text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true'))
    finally:
        await admin.dispose()
    assert (await received(watcher, 15)).kind == RESYNC
    sent = await publish_committed(engine, "opening:JN-LIVE-0006", "opening.finished", {"state": "evaluating"})
    assert (await received(watcher)).id == sent.id


async def test_a_slow_watcher_is_dropped_with_an_end_event_and_never_delays_the_others(database_url, engine):
    hub = EventHub.for_url(database_url, queue_limit=10)
    await hub.start()
    try:
        slow, fast = hub.subscribe("opening:JN-LIVE-0007"), hub.subscribe("opening:JN-LIVE-0007")
        delivered: list[LiveEvent] = []

        async def keep_reading() -> None:
            while len(delivered) < 15:
                delivered.append(await fast.next_event())

        reader = asyncio.create_task(keep_reading())
        sent = [await publish_committed(engine, "opening:JN-LIVE-0007", "opening.signed_in", {"bidder": str(n)})
                for n in range(15)]
        # The watcher that keeps reading gets all 15 as they come; the one that reads nothing
        # is dropped at its 11th, and the fan-out never waited for it.
        await asyncio.wait_for(reader, 5)
        assert [event.id for event in delivered] == [event.id for event in sent]
        assert hub.subscriber_count("opening:JN-LIVE-0007") == 1 and slow.ended == "slow"
        backlog = [await received(slow) for _ in range(11)]
        assert [event.id for event in backlog[:10]] == [event.id for event in sent[:10]]
        assert (backlog[10].kind, backlog[10].data) == (END, {"reason": "slow"})
    finally:
        await hub.stop()


# ----------------------------------------------------------------------------- the SSE endpoint


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
async def server(demo, settings, database_url) -> AsyncIterator[tuple[str, object]]:
    """The app served over real HTTP by uvicorn in this event loop."""
    app = create_app(settings, url=database_url)
    app.state["context"].events.heartbeat_seconds = HEARTBEAT  # keep-alive comments come quickly here
    port = free_port()
    served = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(served.serve())
    while not served.started:
        assert not task.done(), "the server did not start"
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}", app
    served.should_exit = True
    await task


@asynccontextmanager
async def stream(base: str, path: str, headers: dict[str, str] | None = None, *,
                 comments: bool = False) -> AsyncIterator[tuple[httpx.Response, AsyncIterator[dict]]]:
    """An SSE stream as (response, iterator of {"id", "event", "data", "retry"} blocks; with
    ``comments``, also {"comment": ...} blocks)."""
    async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(10.0)) as client:
        async with client.stream("GET", path, headers=headers or {}) as response:

            async def blocks() -> AsyncIterator[dict]:
                block: dict = {}
                async for line in response.aiter_lines():
                    if not line:
                        if block and (comments or "comment" not in block):
                            yield block
                        block = {}
                        continue
                    name, _, value = line.partition(":")
                    block[name or "comment"] = value.strip()

            yield response, blocks()


async def api_headers(base: str, username: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        return await bearer(client, username)


async def test_a_supervisor_watches_an_opening_live_over_http(server, engine, keys):
    base, app = server
    hub = app.state["context"].events
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as session:
        tender, [(code, _)] = await tender_with_bids(session, keys, [101_000_000])
    headers = await api_headers(base, "supervisor")
    async with stream(base, f"/api/live/opening/{tender.code}", headers) as (response, blocks):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        ready = await anext(blocks)
        assert ready["event"] == "ready" and ready["id"] and ready["retry"] == str(live.RETRY_MILLISECONDS)
        # Watchers read the record now; from here on every committed step arrives.
        async with transaction(sessions) as session:
            await start_opening(session, keys, actor="admin", project_code=tender.code)
        started = await asyncio.wait_for(anext(blocks), 5)
        assert started["event"] == "opening.started" and len(started["id"]) == 16
        body = json.loads(started["data"])
        assert (body["topic"], body["kind"], body["data"]["bids"]) == (f"opening:{tender.code}", "opening.started", 1)
        async with transaction(sessions) as session:
            await sign_in(session, actor=code, project_code=tender.code, bidder_credit_code=code)
        signed_in = await asyncio.wait_for(anext(blocks), 5)
        assert signed_in["event"] == "opening.signed_in" and json.loads(signed_in["data"])["data"] == {"bidder": code}
        assert hub.subscriber_count(f"opening:{tender.code}") == 1
    # The watcher left: the worker forgets it.
    for _ in range(50):
        if hub.subscriber_count(f"opening:{tender.code}") == 0:
            break
        await asyncio.sleep(0.05)
    assert hub.subscriber_count(f"opening:{tender.code}") == 0


async def test_only_supervisors_and_administrators_may_watch_an_opening(server, engine, keys):
    base, _ = server
    async with transaction(make_sessionmaker(engine)) as session:
        tender = await tender_project(session, keys, "bidding")
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        anonymous = await client.get(f"/api/live/opening/{tender.code}")
        assert anonymous.status_code == 401
        bidder = await client.get(f"/api/live/evaluation/{tender.code}", headers=await bearer(client, "bidder1"))
        assert bidder.status_code == 403 and bidder.json()["error"]["message"] == "只有监督人员和交易中心管理员可以实时查看"
        missing = await client.get("/api/live/opening/JN-NO-SUCH-0001", headers=await bearer(client, "admin"))
        assert missing.status_code == 404
        unknown = await client.get("/api/live/bids/anything", headers=await bearer(client, "admin"))
        assert unknown.status_code == 400
    async with stream(base, f"/api/live/opening/{tender.code}", await api_headers(base, "admin")) as (response, _):
        assert response.status_code == 200


async def test_the_browser_watches_with_its_session_cookie(server, engine, keys):
    """EventSource cannot send a bearer token: the portal path takes the login cookie."""
    base, _ = server
    async with transaction(make_sessionmaker(engine)) as session:
        tender = await tender_project(session, keys, "bidding")
    async with httpx.AsyncClient(base_url=base, timeout=10) as browser:
        away = await browser.get(f"/live/opening/{tender.code}")
        assert away.status_code in (302, 303) and away.headers["location"].startswith("/login")
        assert (await log_in(browser, "supervisor")).status_code in (302, 303)
        async with browser.stream("GET", f"/live/opening/{tender.code}") as response:
            assert response.status_code == 200
            lines = response.aiter_lines()
            first_block = [await anext(lines) for _ in range(2)]
            assert first_block[0].startswith("id: ") and first_block[1] == "event: ready"
        assert (await browser.get(f"/api/live/opening/{tender.code}")).status_code == 401  # the API wants a token


async def test_draw_events_are_public_and_a_resumed_stream_is_told_to_resync(server, engine, keys):
    base, _ = server
    async with transaction(make_sessionmaker(engine)) as session:
        draw = await commit_draw(session, keys, actor="admin", purpose="expert", project_code="JN-LIVE-0008",
                                 criteria={}, pool=[f"EXP{i:03d}" for i in range(10)], count=3, reserve_count=1,
                                 witness_required=True, unseal_at=None)
    async with stream(base, f"/api/live/draw/{draw.draw_id}", {"Last-Event-ID": "0123456789abcdef"}) as (response, blocks):
        assert response.status_code == 200
        assert (await anext(blocks))["event"] == "ready"
        assert (await anext(blocks))["event"] == RESYNC  # events may have been missed while away
        async with transaction(make_sessionmaker(engine)) as session:
            await supply_witness(session, keys, draw.draw_id, value="见证值-7", by="supervisor")
        kinds = [(await asyncio.wait_for(anext(blocks), 5))["event"]]
        while kinds[-1] != "draw.revealed":
            kinds.append((await asyncio.wait_for(anext(blocks), 5))["event"])
        assert kinds[-2:] == ["draw.witnessed", "draw.revealed"]  # (draw.committed may come first)


async def test_an_idle_stream_gets_keep_alive_comments(server, engine, keys):
    base, _ = server
    async with transaction(make_sessionmaker(engine)) as session:
        draw = await commit_draw(session, keys, actor="admin", purpose="expert", project_code="JN-LIVE-0009",
                                 criteria={}, pool=[f"EXP{i:03d}" for i in range(10)], count=3, reserve_count=1,
                                 witness_required=True, unseal_at=None)
    async with stream(base, f"/api/live/draw/{draw.draw_id}", comments=True) as (_, blocks):
        assert (await anext(blocks))["event"] == "ready"
        block = await asyncio.wait_for(anext(blocks), 5)
        while block.get("event") == "draw.committed":  # (its own commit's event may still come)
            block = await asyncio.wait_for(anext(blocks), 5)
        assert block == {"comment": "keep-alive"}


async def test_the_hub_beats_for_every_subscriber_on_one_timer(database_url):
    hub = EventHub.for_url(database_url, heartbeat_seconds=0.1)
    await hub.start()
    try:
        first, second = hub.subscribe("draw:D-2026-000009"), hub.subscribe("opening:JN-LIVE-0010")
        assert (await received(first, 2)).kind == "heartbeat" and (await received(second, 2)).kind == "heartbeat"
    finally:
        await hub.stop()


# ----------------------------------------------------------------------------- the benchmark


def test_the_fanout_benchmark_runs_small():
    """bench/live_fanout.py end to end with 20 subscribers (the recorded run has 1,000)."""
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, "bench/live_fanout.py", "--subscribers", "20", "--events", "5",
                          "--interval", "0.1"], cwd=root, capture_output=True, text=True, timeout=300)
    assert "Check: 20 of 20 subscribers received all 5 events, once each, in commit order." in run.stdout, \
        run.stdout + run.stderr
    assert "| **SSE, every subscriber** | 100 |" in run.stdout
    assert "| bare asyncpg LISTEN, nothing else running | 5 |" in run.stdout
