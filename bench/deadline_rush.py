"""Deadline rush (issue 5): N bidders each submit a sealed bid of 256 KiB concurrently over
HTTP to one tender, against bare asyncpg inserts of the same bytes in the same run.

    .venv/bin/python bench/deadline_rush.py [--bidders 2000] [--size 262144] [--concurrency 2000]
                                            [--bare-connections 15] [--workers 1]

What it does, all on a throwaway embedded PostgreSQL in a temporary directory:

1. migrates a database, makes one tender in ``bidding`` through the services (register,
   announce with its opening key, open bidding) and bulk-loads N admitted bidders with
   their identity keys, accounts and API tokens (``bench/bidders.py``); seals one bid of
   exactly ``--size`` bytes of ciphertext per bidder (an incompressible document in a
   sealed-bid/1 package);
2. bare baseline: the same N (envelope, ciphertext) pairs INSERTed into a plain table
   (``bigserial``, ``jsonb``, ``bytea``) through an asyncpg pool of ``--bare-connections``
   connections (the app's SQLAlchemy pool holds at most 15), one autocommitted INSERT per
   bid, all N launched at once;
3. the rush: ``trading serve`` in a subprocess (one uvicorn worker, as ``trading serve``
   runs; ``--workers`` > 1 runs uvicorn's multi-process mode on the same app factory), and
   N concurrent ``POST /api/projects/{code}/bids`` (multipart envelope + ciphertext, bearer
   token per bidder) from one httpx.AsyncClient with at most ``--concurrency`` requests in
   flight; latency is from sending a request to its full answer;
4. the bare baseline again (the figure used is the faster of the two runs);
5. checks: every 201 answer's receipt verifies under the center's key, and for every
   receipt a bid with that envelope hash is stored, current, with that very receipt and
   ``sha256(ciphertext)`` equal to the envelope's; no bid row is stored without a receipt,
   and the stored sequence numbers have no gaps.

Target: accepted bids/s at least half the bare insert rate, and not one receipted bid missing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg  # noqa: E402
import psutil  # noqa: E402
import httpx  # noqa: E402

from bidders import (  # noqa: E402
    ROOT,
    TENDER_CODE,
    commit_id,
    machine,
    percentile,
    seal_bids,
    tender_with_bidders,
    throwaway_database,
)
from bidding.bids import sealed_bid  # noqa: E402
from trading.canonical import canon  # noqa: E402

DEFAULT_BIDDERS = 2_000
DEFAULT_SIZE = 256 * 1024
TARGET = 0.5


def raw_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def checkpoint(dsn: str) -> None:
    """Every run starts with nothing left to write out from the one before (the previous run's
    hundreds of MiB would otherwise be checkpointed during the next, on the same disk)."""
    async def run() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("CHECKPOINT")
        finally:
            await conn.close()

    asyncio.run(run())


async def bare_inserts(dsn: str, bids: list[tuple[bytes, dict]], connections: int, table: str) -> tuple[float, float]:
    """Seconds to INSERT every (envelope, ciphertext) with ``connections`` connections, and the
    CPU seconds PostgreSQL spent meanwhile."""
    setup = await asyncpg.connect(dsn)
    try:
        await setup.execute(f"DROP TABLE IF EXISTS {table}; CREATE TABLE {table} "
                            "(id bigserial PRIMARY KEY, envelope jsonb NOT NULL, ciphertext bytea NOT NULL)")
    finally:
        await setup.close()
    pool = await asyncpg.create_pool(dsn, min_size=connections, max_size=connections)
    envelopes = [canon(envelope).decode() for _, envelope in bids]
    try:
        began, postgres_before = time.perf_counter(), postgres_cpu_seconds()

        async def one(i: int) -> None:
            async with pool.acquire() as conn:
                await conn.execute(f"INSERT INTO {table} (envelope, ciphertext) VALUES ($1::jsonb, $2)",
                                   envelopes[i], bids[i][0])

        await asyncio.gather(*(one(i) for i in range(len(bids))))
        elapsed, postgres = time.perf_counter() - began, postgres_cpu_seconds() - postgres_before
        async with pool.acquire() as conn:
            stored = await conn.fetchval(f"SELECT count(*) FROM {table}")
            await conn.execute(f"DROP TABLE {table}")
        if stored != len(bids):
            raise SystemExit(f"bare inserts stored {stored} of {len(bids)}")
        return elapsed, postgres
    finally:
        await pool.close()


PROFILED_SERVER = ("import sys, uvicorn; uvicorn.run('web.app:create_app', factory=True, host='127.0.0.1', "
                   "port=int(sys.argv[1]), log_level='warning')")


def start_server(env: dict[str, str], port: int, workers: int, log_path: Path,
                 profile: Path | None = None) -> subprocess.Popen:
    if profile is not None:  # one worker under cProfile; stopped with SIGINT so the profile is written
        script = log_path.with_name("profiled_server.py")
        script.write_text(PROFILED_SERVER + "\n")
        command = [sys.executable, "-m", "cProfile", "-o", str(profile), str(script), str(port)]
    elif workers == 1:
        command = [sys.executable, "-c", "from cli.main import main; main()", "serve", "--port", str(port)]
    else:
        command = [sys.executable, "-m", "uvicorn", "web.app:create_app", "--factory", "--host", "127.0.0.1",
                   "--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}: {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("server did not start")


async def rush(base_url: str, bidders, bids, concurrency: int) -> tuple[float, list[dict]]:
    """All submissions at once (at most ``concurrency`` in flight); per-request outcomes."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    gate = asyncio.Semaphore(concurrency)
    outcomes: list[dict] = []
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=httpx.Timeout(600.0)) as client:

        async def one(i: int) -> None:
            ciphertext, envelope = bids[i]
            async with gate:
                sent = time.perf_counter()
                try:
                    answer = await client.post(
                        f"/api/projects/{TENDER_CODE}/bids", headers={"Authorization": f"Bearer {bidders[i].token}"},
                        data={"envelope": canon(envelope).decode()},
                        files={"ciphertext": ("bid.sealed", ciphertext, "application/octet-stream")})
                    status, body = answer.status_code, answer.json() if answer.content else None
                except httpx.HTTPError as exc:
                    status, body = None, {"transport_error": repr(exc)}
                outcomes.append({"index": i, "status": status, "body": body,
                                 "latency": time.perf_counter() - sent})

        began = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(len(bids))))
        return time.perf_counter() - began, outcomes


async def rush_raw(port: int, bidders, bids, concurrency: int) -> tuple[float, list[dict]]:
    """The same requests as :func:`rush`, written as raw HTTP/1.1 on ``concurrency`` kept-alive
    connections: the request bytes are built before the clock starts, so the load generator
    costs a fraction of httpx's ~3 ms of CPU per 256 KiB request on the cores it shares
    with the server (as wrk would; httpx stays available with ``--client httpx``)."""
    boundary = "----rush" + "0" * 16
    path = f"/api/projects/{TENDER_CODE}/bids"

    def request_parts(i: int) -> tuple[bytes, bytes, bytes]:
        ciphertext, envelope = bids[i]
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"envelope\"\r\n\r\n"
                f"{canon(envelope).decode()}\r\n--{boundary}\r\nContent-Disposition: form-data; "
                f"name=\"ciphertext\"; filename=\"bid.sealed\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        headers = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {bidders[i].token}\r\n"
                   f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                   f"Content-Length: {len(head) + len(ciphertext) + len(tail)}\r\n\r\n").encode()
        return headers + head, ciphertext, tail

    requests = [request_parts(i) for i in range(len(bids))]
    pending = iter(range(len(bids)))
    outcomes: list[dict] = []

    async def connection() -> None:
        reader = writer = None
        for i in pending:
            sent = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.writelines(requests[i])
                await writer.drain()
                status_line = await reader.readline()
                length, close = 0, False
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                    elif name.lower() == "connection" and value.strip().lower() == "close":
                        close = True
                content = await reader.readexactly(length)
                status, body = int(status_line.split()[1]), json.loads(content) if content else None
                if close:
                    writer.close()
                    reader = writer = None
            except (OSError, asyncio.IncompleteReadError, IndexError, ValueError) as exc:
                status, body = None, {"transport_error": repr(exc)}
                if writer is not None:
                    writer.close()
                reader = writer = None
            outcomes.append({"index": i, "status": status, "body": body, "latency": time.perf_counter() - sent})
        if writer is not None:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(min(concurrency, len(bids)))))
    return time.perf_counter() - began, outcomes


async def check_stored(dsn: str, project_id: int, outcomes: list[dict], bids, center_key: str) -> dict:
    receipted = [o for o in outcomes if o["status"] == 201]
    bad_signature = 0
    for outcome in receipted:
        body = outcome["body"]
        try:
            sealed_bid.verify_receipt(body["receipt"], body["signature"], center_key, bids[outcome["index"]][1])
        except sealed_bid.EnvelopeRejected:
            bad_signature += 1
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT envelope_sha256, sequence, status, encode(sha256(ciphertext), 'hex') AS digest,"
                                " ciphertext_sha256, size, receipt FROM bids WHERE project_id = $1", project_id)
    finally:
        await conn.close()
    stored = {row["envelope_sha256"]: row for row in rows}
    missing = wrong = 0
    for outcome in receipted:
        receipt = outcome["body"]["receipt"]
        row = stored.get(receipt["envelope_sha256"])
        if row is None:
            missing += 1
        elif (row["status"] != "submitted" or json.loads(row["receipt"]) != receipt
              or row["digest"] != receipt["ciphertext_sha256"] or row["ciphertext_sha256"] != row["digest"]):
            wrong += 1
    receipted_hashes = {o["body"]["receipt"]["envelope_sha256"] for o in receipted}
    sequences = sorted(row["sequence"] for row in rows)
    return {"receipted": len(receipted), "stored": len(rows), "missing": missing, "wrong": wrong,
            "bad_signature": bad_signature, "stored_without_receipt": len(set(stored) - receipted_hashes),
            "sequences_gapless": sequences == list(range(1, len(rows) + 1))}


def _used(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
        return times.user + times.system
    except psutil.Error:
        return 0.0


def postgres_cpu_seconds() -> float:
    """CPU seconds so far of the PostgreSQL processes alive now."""
    return sum(_used(p) for p in psutil.process_iter(["name"]) if (p.info["name"] or "").startswith("postgres"))


def cpu_seconds(server_pid: int) -> dict[str, float]:
    """CPU seconds (user + system) so far of the server (with its workers), of the
    PostgreSQL processes alive now, and of this load generator."""
    server = psutil.Process(server_pid)
    server_total = _used(server) + sum(_used(child) for child in server.children(recursive=True))
    return {"server": server_total, "postgres": postgres_cpu_seconds(), "load generator": _used(psutil.Process())}


def run_floor(dsn: str, bench, bidders, bids, concurrency: int) -> tuple[float, list[dict], dict[str, float]]:
    """The same uploads into bench/rush_floor_app.py: what a route that only stores costs here."""
    checkpoint(dsn)
    port = free_port()
    env = {**bench.server_env(port), "FLOOR_DSN": dsn}
    command = [sys.executable, "-m", "uvicorn", "rush_floor_app:app", "--host", "127.0.0.1", "--port", str(port),
               "--log-level", "warning"]
    log_path = bench.directory / "floor.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, cwd=Path(__file__).resolve().parent, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"floor server did not start: {log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        before = cpu_seconds(process.pid)
        elapsed, outcomes = asyncio.run(rush_raw(port, bidders, bids, concurrency))
        cpu = {name: after - before[name] for name, after in cpu_seconds(process.pid).items()}
        print(f"floor: {elapsed:.2f} s", file=sys.stderr)
        return elapsed, outcomes, cpu
    finally:
        process.terminate()
        process.wait(timeout=20)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bidders", type=int, default=DEFAULT_BIDDERS)
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help="ciphertext bytes per bid (default 256 KiB)")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="requests in flight at most (default: all bidders at once)")
    parser.add_argument("--bare-connections", type=int, default=15, help="asyncpg pool size of the baseline")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1, as `serve`)")
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw",
                        help="load generator: raw HTTP/1.1 from prebuilt bytes (default) or httpx")
    parser.add_argument("--floor", action="store_true",
                        help="also run the same uploads into bench/rush_floor_app.py (a bare route + one INSERT)")
    parser.add_argument("--profile", type=Path, default=None,
                        help="run the server under cProfile and write its profile to this file")
    args = parser.parse_args()
    concurrency = args.concurrency or args.bidders
    began, load_before = time.perf_counter(), os.getloadavg()

    with throwaway_database("rush_bench") as bench:
        t = time.perf_counter()
        project_id, public_key, bidders = asyncio.run(tender_with_bidders(bench, args.bidders))
        print(f"set up the tender and {len(bidders):,} bidders in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        t = time.perf_counter()
        bids = seal_bids(bidders, public_key, args.size)
        print(f"sealed {len(bids):,} bids of {args.size:,} bytes in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        dsn = raw_dsn(bench.url)

        checkpoint(dsn)
        bare_first, bare_pg_first = asyncio.run(bare_inserts(dsn, bids, args.bare_connections, "bench_bare_bids"))
        print(f"bare inserts (1): {bare_first:.2f} s", file=sys.stderr)
        port = free_port()
        log_path = bench.directory / "server.log"
        checkpoint(dsn)
        process = start_server(bench.server_env(port), port, args.workers, log_path, args.profile)
        try:
            cpu_before = cpu_seconds(process.pid)
            if args.client == "raw":
                elapsed, outcomes = asyncio.run(rush_raw(port, bidders, bids, concurrency))
            else:
                elapsed, outcomes = asyncio.run(rush(f"http://127.0.0.1:{port}", bidders, bids, concurrency))
            cpu = {name: after - cpu_before[name] for name, after in cpu_seconds(process.pid).items()}
        finally:
            process.send_signal(signal.SIGINT) if args.profile else process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        print(f"rush: {elapsed:.2f} s", file=sys.stderr)
        floor = run_floor(dsn, bench, bidders, bids, concurrency) if args.floor else None
        checkpoint(dsn)
        bare_second, bare_pg_second = asyncio.run(bare_inserts(dsn, bids, args.bare_connections, "bench_bare_bids"))
        print(f"bare inserts (2): {bare_second:.2f} s", file=sys.stderr)
        checked = asyncio.run(check_stored(dsn, project_id, outcomes, bids, bench.keys.verify_key_hex))
        server_log = log_path.read_text(errors="replace")

    total = time.perf_counter() - began
    accepted = [o for o in outcomes if o["status"] == 201]
    refused: dict[str, int] = {}
    for o in outcomes:
        if o["status"] != 201:
            key = f"{o['status']} {((o['body'] or {}).get('error') or {}).get('code') or (o['body'] or {}).get('transport_error', '')}"
            refused[key] = refused.get(key, 0) + 1
    latencies = [o["latency"] for o in accepted] or [0.0]
    rate = len(accepted) / elapsed
    bare_seconds = min(bare_first, bare_second)
    bare_rate = len(bids) / bare_seconds
    ratio = rate / bare_rate
    mib = args.size * len(bids) / 2**20

    command = " ".join([".venv/bin/python", "bench/deadline_rush.py", *sys.argv[1:]])
    print(f"\n- date: {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"- commit: {commit_id()}")
    print(f"- command: `{command}`")
    print(f"- machine: {machine()}")
    print(f"- load average (1/5/15 min) at start {' / '.join(f'{x:.2f}' for x in load_before)}, at end "
          f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"- bidders {len(bids):,}, ciphertext {args.size:,} bytes each ({mib:,.0f} MiB in all), "
          f"{concurrency:,} requests in flight at most, {args.workers} uvicorn worker(s), {args.client} load generator, "
          f"bare pool {args.bare_connections} connections")
    print(f"- wall time of the whole script: {total:.0f} s\n")
    print("| run | bids | seconds | bids/s | MiB/s | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(f"| bare asyncpg INSERT (1) | {len(bids):,} | {bare_first:.2f} | {len(bids) / bare_first:,.1f} "
          f"| {mib / bare_first:,.1f} | | |")
    print(f"| HTTP rush, accepted | {len(accepted):,} | {elapsed:.2f} | {rate:,.1f} | {mib * len(accepted) / len(bids) / elapsed:,.1f} "
          f"| {1000 * statistics.median(latencies):,.1f} | {1000 * percentile(latencies, 99):,.1f} |")
    if floor is not None:
        floor_seconds, floor_outcomes, floor_cpu = floor
        floor_ok = [o["latency"] for o in floor_outcomes if o["status"] == 201] or [0.0]
        print(f"| floor: bare Litestar route + one INSERT | {len(floor_ok):,} | {floor_seconds:.2f} "
              f"| {len(floor_ok) / floor_seconds:,.1f} | {mib * len(floor_ok) / len(bids) / floor_seconds:,.1f} "
              f"| {1000 * statistics.median(floor_ok):,.1f} | {1000 * percentile(floor_ok, 99):,.1f} |")
    print(f"| bare asyncpg INSERT (2) | {len(bids):,} | {bare_second:.2f} | {len(bids) / bare_second:,.1f} "
          f"| {mib / bare_second:,.1f} | | |")
    print(f"\nCPU seconds during the rush (2 cores: at most {2 * elapsed:.0f} s in all): "
          + ", ".join(f"{name} {seconds:.1f} s ({1000 * seconds / max(1, len(accepted)):.1f} ms per accepted bid)"
                      for name, seconds in cpu.items()))
    print(f"PostgreSQL CPU during the bare inserts: {1000 * bare_pg_first / len(bids):.1f} / "
          f"{1000 * bare_pg_second / len(bids):.1f} ms per bid (1 / 2)")
    if floor is not None:
        print("CPU seconds during the floor run: " + ", ".join(
            f"{name} {seconds:.1f} s ({1000 * seconds / len(bids):.1f} ms per bid)" for name, seconds in floor[2].items()))
    print(f"\nRefused or failed requests: {refused or 'none'}")
    print(f"Check after the run: {checked}")
    kinds: dict[str, int] = {}
    for line in server_log.splitlines():
        match = re.match(r"^([A-Za-z_][\w.]*(?:Error|Exception|Timeout|Exhausted)\b)", line)
        if match:
            kinds[match.group(1)] = kinds.get(match.group(1), 0) + 1
    if kinds:
        print(f"Exceptions in the server log: {kinds}")
    rate_ok = ratio >= TARGET
    none_missing = checked["missing"] == 0 and checked["wrong"] == 0 and checked["bad_signature"] == 0
    print(f"\nTarget (issue 5): accepted bids/s at least half the bare insert rate; no receipted bid missing.\n")
    print(f"- accepted / bare (faster bare run): {rate:,.1f} / {bare_rate:,.1f} = {ratio:.2f} — "
          f"{'MET' if rate_ok else 'MISSED'}")
    print(f"- receipted bids missing: {checked['missing']} (wrong {checked['wrong']}, bad receipt signature "
          f"{checked['bad_signature']}) — {'MET' if none_missing else 'MISSED'}")
    return 0 if rate_ok and none_missing and len(accepted) == len(bids) else 1


if __name__ == "__main__":
    sys.exit(main())
