"""Live fan-out (issue 6): N concurrent SSE subscribers to one opening topic, over real HTTP
against ``trading serve``; delivery latency from commit to receipt, against a bare asyncpg
NOTIFY/LISTEN round-trip in the same run.

    .venv/bin/python bench/live_fanout.py [--subscribers 1000] [--events 100] [--interval 0.25]

What it does, all on a throwaway embedded PostgreSQL in a temporary directory:

1. migrates a database; registers one tender (services) and a supervisor with an API token;
   starts ``trading serve`` (one uvicorn worker, ``tests/common/live_server.py``) on a loopback port
   (``--servers 2``: two of them, as two app workers, each with its own LISTEN connection;
   the subscribers are spread over them);
2. bare baseline: a raw asyncpg connection LISTENs on the live channel; ``--events`` events
   are published, one transaction each, with ``trading.events.publish_event`` (the same
   call the services make); latency = callback time − the moment COMMIT was sent;
3. fan-out: N subscribers open ``GET /api/live/opening/{code}`` (raw HTTP/1.1 over asyncio
   streams in this process, bearer token, chunked SSE parsed by hand) and wait for
   ``ready``; the same number of events is published the same way, one every
   ``--interval`` seconds; latency per (event, subscriber) = receipt time − the moment COMMIT
   was sent. The bare listener keeps listening during this phase too (its figures under load
   are printed beside the quiet ones);
4. checks: every subscriber received every event, once, in order.

Both ends of every latency are read from this process's monotonic clock, so the figures
include the subscribers' own parsing (this process handles all N sockets) and are, if
anything, pessimistic. Target: p99 < 250 ms at 1,000 subscribers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg  # noqa: E402

from bidders import CITY, commit_id, credit_code, machine, percentile, throwaway_database  # noqa: E402
from bidding.tender.projects import register_project  # noqa: E402
from tests.common.live_server import LiveServer  # noqa: E402
from trading.accounts import API, create_user, issue_token  # noqa: E402
from trading.database import make_engine, make_sessionmaker, transaction  # noqa: E402
from trading.event_hub import asyncpg_connect_arguments  # noqa: E402
from trading.events import CHANNEL, publish_event  # noqa: E402
from trading.organisations import register_organisation, register_region  # noqa: E402

TENDER_CODE = "JN-2026-GC-LIVE1"
TOPIC = f"opening:{TENDER_CODE}"
TARGET_P99_MS = 250.0
CONNECT_WAVE = 100  # subscribers connecting at once while the crowd gathers


@dataclass
class Series:
    """The events published in one phase: their ids in commit order, and when each COMMIT was sent."""

    order: list[str] = field(default_factory=list)
    sent_at: dict[str, float] = field(default_factory=dict)


@dataclass
class Receipts:
    """What one kind of receiver (the bare listener, the SSE subscribers) saw of a series."""

    series: Series
    latencies: dict[str, list[float]] = field(default_factory=dict)  # event id -> ms per receipt
    received_by: list[list[str]] = field(default_factory=list)  # per SSE subscriber: ids in arrival order

    def receive(self, event_id: str, at: float) -> None:
        if event_id in self.series.sent_at:
            self.latencies.setdefault(event_id, []).append(1000 * (at - self.series.sent_at[event_id]))

    def samples(self) -> list[float]:
        return [ms for event_id in self.series.order for ms in self.latencies.get(event_id, [])]

    def slowest_per_event(self) -> list[float]:
        return [max(self.latencies[event_id]) for event_id in self.series.order if event_id in self.latencies]


async def set_up(url: str) -> str:
    """The tender and a supervisor; returns the supervisor's API token."""
    engine = make_engine(url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            await register_region(session, actor="bench", code="370000", name="山东省")
            await register_region(session, actor="bench", code=CITY, name="济宁市", parent_code="370000")
            party = await register_organisation(session, actor="bench", credit_code=credit_code(0),
                                                name="济宁市第一人民医院", roles=["tendering_party"], region_code=CITY)
            await register_project(session, actor="bench", code=TENDER_CODE, title="济宁市实时监督基准测试工程",
                                   category="construction", method="open_tender", region_code=CITY,
                                   tendering_party_id=party.id, estimate_fen=86_500_000_00)
            supervisor = await create_user(session, actor="bench", username="bench_supervisor",
                                           display_name="基准测试监督员", role="supervisor",
                                           password="bench-supervisor-password")
            token, _ = await issue_token(session, supervisor, kind=API, lifetime=timedelta(hours=2), name="bench")
        return token
    finally:
        await engine.dispose()


async def publish_series(url: str, series: Series, events: int, interval: float) -> None:
    """Each event in its own transaction, as a service step publishes it; the clock starts at COMMIT."""
    engine = make_engine(url)
    try:
        sessions = make_sessionmaker(engine)
        for number in range(events):
            async with sessions() as session:
                await session.begin()
                event = await publish_event(session, TOPIC, "opening.signed_in", {"seq": number})
                series.order.append(event.id)
                series.sent_at[event.id] = time.monotonic()
                await session.commit()
            await asyncio.sleep(interval)
    finally:
        await engine.dispose()


async def subscriber(port: int, token: str, index: int, receipts: Receipts, ready: asyncio.Queue) -> None:
    """One SSE client over a raw HTTP/1.1 connection; records the arrival of every event id."""
    seen: list[str] = []
    receipts.received_by.append(seen)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write((f"GET /api/live/opening/{TENDER_CODE} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                      f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n").encode())
        status = await reader.readline()
        if b" 200 " not in status:
            raise RuntimeError(f"subscriber {index}: {status!r}")
        chunked = False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            chunked |= line.lower().startswith(b"transfer-encoding: chunked")
        buffer = b""
        while True:  # until cancelled at the end of the run
            if chunked:
                size = int((await reader.readline()).strip() or b"0", 16)
                if size == 0:
                    break
                buffer += (await reader.readexactly(size + 2))[:-2]
            else:
                buffer += await reader.read(65536)
            at = time.monotonic()
            while b"\r\n\r\n" in buffer:
                block, buffer = buffer.split(b"\r\n\r\n", 1)
                fields = dict(line.split(b": ", 1) for line in block.split(b"\r\n") if b": " in line)
                kind, event_id = fields.get(b"event", b"").decode(), fields.get(b"id", b"").decode()
                if kind == "ready":
                    ready.put_nowait(index)
                elif kind.startswith("opening."):
                    seen.append(event_id)
                    receipts.receive(event_id, at)
    except asyncio.CancelledError:
        pass
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass


async def bare_listener(url: str, receipts: Receipts) -> asyncpg.Connection:
    connection = await asyncpg.connect(**asyncpg_connect_arguments(url))

    def on_notify(_connection, _pid, _channel, payload: str) -> None:
        receipts.receive(json.loads(payload)["id"], time.monotonic())

    await connection.add_listener(CHANNEL, on_notify)
    return connection


async def run(url: str, ports: list[int], token: str, subscribers: int, events: int, interval: float) -> dict:
    # Phase 1: the bare round-trip, nothing else running.
    quiet_series = Series()
    quiet = Receipts(quiet_series)
    listener = await bare_listener(url, quiet)
    await publish_series(url, quiet_series, events, interval)
    await asyncio.sleep(0.5)
    await listener.close()

    # Phase 2: the crowd gathers, then the same number of events through the app.
    series = Series()
    loaded, fanout = Receipts(series), Receipts(series)
    listener = await bare_listener(url, loaded)
    ready: asyncio.Queue[int] = asyncio.Queue()
    tasks: list[asyncio.Task] = []
    gathered = time.perf_counter()
    for start in range(0, subscribers, CONNECT_WAVE):
        wave = range(start, min(start + CONNECT_WAVE, subscribers))
        tasks += [asyncio.create_task(subscriber(ports[i % len(ports)], token, i, fanout, ready)) for i in wave]
        for _ in wave:
            await asyncio.wait_for(ready.get(), 60)
    gathered = time.perf_counter() - gathered
    await publish_series(url, series, events, interval)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(len(seen) < events for seen in fanout.received_by):
        await asyncio.sleep(0.1)
    for task in tasks:
        task.cancel()
    failures = [result for result in await asyncio.gather(*tasks, return_exceptions=True) if result is not None]
    await listener.close()
    complete = sum(1 for seen in fanout.received_by if seen == series.order)
    return {"quiet": quiet, "loaded": loaded, "fanout": fanout, "gathered": gathered, "complete": complete,
            "failures": failures}


def summary(samples: list[float]) -> str:
    if not samples:
        return "| – | – | – | – |"
    return (f"| {len(samples):,} | {percentile(samples, 50):.1f} | {percentile(samples, 99):.1f} | "
            f"{max(samples):.1f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between events")
    parser.add_argument("--servers", type=int, default=1,
                        help="app processes (each with its own listener); subscribers are spread over them")
    args = parser.parse_args()
    began, load_before = time.perf_counter(), os.getloadavg()

    with throwaway_database("live_fanout") as bench:
        token = asyncio.run(set_up(bench.url))
        servers = []
        try:
            for _ in range(args.servers):
                servers.append(LiveServer(bench.settings, bench.url).start())
            result = asyncio.run(run(bench.url, [server.port for server in servers], token, args.subscribers,
                                     args.events, args.interval))
        finally:
            for server in servers:
                server.stop()

    fanout, quiet, loaded = result["fanout"], result["quiet"], result["loaded"]
    samples, last = fanout.samples(), fanout.slowest_per_event()
    for failure in result["failures"][:3]:
        print(f"subscriber failed: {failure!r}", file=sys.stderr)
    command = " ".join([".venv/bin/python", "bench/live_fanout.py", *sys.argv[1:]])
    print(f"\n- date: {datetime.now(UTC).astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"- commit: {commit_id()}")
    print(f"- command: `{command}`")
    print(f"- machine: {machine()}")
    print(f"- load average (1/5/15 min) at start {' / '.join(f'{x:.2f}' for x in load_before)}, at end "
          f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"- {args.subscribers:,} SSE subscribers (gathered in {result['gathered']:.1f} s), {args.events} events, "
          f"one every {args.interval} s; {args.servers} app process(es) (`trading serve`, one uvicorn worker each)")
    print(f"- wall time of the whole script: {time.perf_counter() - began:.0f} s\n")
    print("| path: commit → receipt | receipts | p50 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    print(f"| bare asyncpg LISTEN, nothing else running {summary(quiet.samples())}")
    print(f"| bare asyncpg LISTEN, during the fan-out {summary(loaded.samples())}")
    print(f"| **SSE, every subscriber** {summary(samples)}")
    print(f"| SSE, the last subscriber of each event {summary(last)}")
    p99 = percentile(samples, 99) if samples else float("inf")
    bare = percentile(quiet.samples(), 99) if quiet.samples() else float("nan")
    everyone = result["complete"] == args.subscribers
    print(f"\nCheck: {result['complete']:,} of {args.subscribers:,} subscribers received all {args.events} events, "
          f"once each, in commit order.")
    print(f"\nTarget (issue 6): p99 under {TARGET_P99_MS:.0f} ms at 1,000 subscribers.\n")
    print(f"- SSE p99 {p99:.1f} ms against bare LISTEN p99 {bare:.1f} ms — "
          f"{'MET' if p99 < TARGET_P99_MS else 'MISSED'}")
    print(f"- every event to every subscriber: {'yes' if everyone else 'NO'}")
    return 0 if p99 < TARGET_P99_MS and everyone else 1


if __name__ == "__main__":
    sys.exit(main())
