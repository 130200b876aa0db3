"""Opening (issue 5): N bids of 1 MiB opened once every bidder's half is in, against bare
libsodium (PyNaCl) decryption of the same bytes in the same run.

    .venv/bin/python bench/opening_benchmark.py [--bidders 2000] [--size 1048576] [--concurrency 1]
        [--limit 500] [--chunk 64] [--threads 2] [--profile]

What it does, all on a throwaway embedded PostgreSQL in a temporary directory:

1. migrates a database, makes one tender in ``bidding`` through the services and bulk-loads
   N admitted bidders with their identity keys (``bench/bidders.py``); seals one bid of
   exactly ``--size`` bytes of ciphertext per bidder and stores them with COPY into
   ``bids`` as ``submit_bid`` would (envelope, hashes, sequence, center-signed receipt);
   then the deadline passes (moved to the database clock less a second). Each bidder's
   ``K_b`` is taken from its envelope with its own key beforehand, as a bidder does with
   ``trading bid decrypt`` on its own machine;
2. the opening, timed step by step, each step a service call of ``bidding/opening/proceedings.py`` in
   its own transaction, as the API and the app's worker make them: ``start_opening`` (the
   opening key unsealed, every ``sealed_center`` opened and ``K_c`` kept sealed under the
   KEK); N ``hand_in_bidder_half`` (each signs the bidder in and keeps ``K_b`` sealed under
   the KEK with its time: answered at once, pending), with ``--concurrency`` > 1 that many
   bidders at once; then, once all halves are in, **the batch opening**: the app worker's
   ``open_handed_in_bids`` called in its own transaction until nothing is left (each call
   up to ``--limit`` entries FOR UPDATE SKIP LOCKED, ciphertexts loaded ``--chunk`` at a time
   while the previous chunk decrypts on ``--threads`` threads, package read, outcomes,
   one audit entry and one live event per chunk), timed from the first call to the last;
   and the opening record (``opening_record``). (``finish_opening`` is not part of it: the
   rules let evaluation start only once the decryption window has run its course);
3. bare baseline: ``SecretBox(K).decrypt`` of the same N ciphertexts held in memory, run
   before and after the opening (the faster run is the baseline);
4. checks: every entry decrypted with the bidder's sealed price, every price in the record.

Target: the opening "once all halves are in" -- the batch opening -- within 3x the bare
decryption (judged); start_opening and the hand-ins are reported beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import nacl.secret  # noqa: E402
from nacl.public import PrivateKey  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from bidders import (  # noqa: E402
    TENDER_CODE,
    commit_id,
    machine,
    seal_bids,
    tender_with_bidders,
    throwaway_database,
)
from bidding.opening import proceedings as opening  # noqa: E402
from bidding.bids import sealed_bid  # noqa: E402
from bidding.opening.proceedings import DECRYPTED, OpeningEntry, open_handed_in_bids  # noqa: E402
from bidding.bids.opening_keys import TenderOpeningKey  # noqa: E402
from trading.database import make_engine, make_sessionmaker, transaction  # noqa: E402

DEFAULT_BIDDERS = 2_000
DEFAULT_SIZE = 1024 * 1024
TARGET = 3.0


async def store_bids(bench, project_id: int, bidders, bids) -> None:
    """COPY the sealed bids into ``bids`` with what ``submit_bid`` stores (receipts signed)."""
    engine = make_engine(bench.url)
    try:
        async with engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            now = await raw.fetchval("SELECT clock_timestamp()")
            ids = {row["credit_code"]: (row["registration_id"], row["key_id"]) for row in await raw.fetch(
                "SELECT o.credit_code, r.id AS registration_id, k.id AS key_id FROM registrations r "
                "JOIN organisations o ON o.id = r.bidder_organisation_id "
                "JOIN bidder_keys k ON k.organisation_id = o.id AND k.revoked_at IS NULL WHERE r.project_id = $1",
                project_id)}
            import json

            def records():
                for sequence, (bidder, (ciphertext, envelope)) in enumerate(zip(bidders, bids, strict=True), 1):
                    receipt = sealed_bid.receipt_record(envelope, now)
                    registration_id, key_id = ids[bidder.credit_code]
                    yield (project_id, registration_id, bidder.credit_code, key_id, json.dumps(envelope),
                           sealed_bid.envelope_sha256(envelope), ciphertext, envelope["ciphertext_sha256"],
                           len(ciphertext), "submitted", sequence, now, json.dumps(receipt),
                           bench.keys.sign(receipt), bench.keys.key_id)

            async with raw.transaction():
                await raw.copy_records_to_table(
                    "bids", records=records(),
                    columns=["project_id", "registration_id", "bidder_credit_code", "bidder_key_id", "envelope",
                             "envelope_sha256", "ciphertext", "ciphertext_sha256", "size", "status", "sequence",
                             "received_at", "receipt", "receipt_signature", "receipt_key_id"])
                await raw.execute("UPDATE projects SET bid_deadline = clock_timestamp() - interval '1 second' "
                                  "WHERE id = $1", project_id)
            await raw.execute("ANALYZE")
    finally:
        await engine.dispose()


def bidder_halves(bidders, bids) -> list[str]:
    """Each bidder's K_b in hex, from its envelope with its own key (the bidder's side)."""
    return [sealed_bid.open_bidder_half(envelope, b.signing_key).hex() for b, (_, envelope) in zip(bidders, bids)]


async def content_keys(bench, bidders, bids, halves) -> list[bytes]:
    """K = K_c XOR K_b for the bare baseline (the opening key unsealed outside any timing)."""
    engine = make_engine(bench.url)
    try:
        async with engine.connect() as conn:
            sealed = await conn.scalar(select(TenderOpeningKey.sealed_private))
    finally:
        await engine.dispose()
    private = PrivateKey(bench.keys.unseal(sealed))
    return [sealed_bid.xor(sealed_bid.open_center_half(envelope, private), bytes.fromhex(k_b))
            for (_, envelope), k_b in zip(bids, halves)]


def bare_decryption(bids, keys: list[bytes]) -> float:
    began = time.perf_counter()
    for (ciphertext, _), k in zip(bids, keys):
        nacl.secret.SecretBox(k).decrypt(ciphertext)
    return time.perf_counter() - began


async def the_opening(bench, bidders, halves, concurrency: int, profile: bool = False, limit: int = 500,
                      chunk: int = 64) -> dict[str, float]:
    engine = make_engine(bench.url, pool_size=max(5, concurrency), max_overflow=5)
    sessions = make_sessionmaker(engine)
    times: dict[str, float] = {}
    gate = asyncio.Semaphore(concurrency)

    async def each(step) -> None:
        async def one(i: int) -> None:
            async with gate:
                async with transaction(sessions) as session:
                    await step(session, i)

        await asyncio.gather(*(one(i) for i in range(len(bidders))))

    async def hand_in(session, i: int) -> None:
        await opening.hand_in_bidder_half(session, bench.keys, actor=f"user:{i}:{bidders[i].username}",
                                          project_code=TENDER_CODE, bidder_credit_code=bidders[i].credit_code,
                                          k_b_hex=halves[i])

    try:
        t = time.perf_counter()
        async with transaction(sessions) as session:
            await opening.start_opening(session, bench.keys, actor="bench", project_code=TENDER_CODE)
        times["start_opening"] = time.perf_counter() - t
        t = time.perf_counter()
        await each(hand_in)  # each signs its bidder in too (one transaction per bidder)
        times["hand_in"] = time.perf_counter() - t
        # Every half is in: the batch opening, as the app's worker runs it, call after call.
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        began, calls, opened = time.perf_counter(), 0, []
        while True:
            async with transaction(sessions) as session:
                count = await open_handed_in_bids(session, bench.keys, TENDER_CODE, limit=limit, chunk=chunk)
            calls += 1
            opened.append(count)
            if not count:
                break
        times["batch_opening"] = time.perf_counter() - began
        if profiler:
            profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("tottime").print_stats(18)
            stats.sort_stats("cumulative").print_stats(r"opening\.py|sealed_bid|audit\.py|keys\.py|zipfile", 14)
            times["profile"] = out.getvalue()
        times["calls"] = f"{calls} calls ({', '.join(map(str, opened))} entries)"
        t = time.perf_counter()
        async with sessions() as session:
            record = await opening.opening_record(session, TENDER_CODE)
        times["opening_record"] = time.perf_counter() - t
        times["total"] = times["batch_opening"] + times["opening_record"]

        async with engine.connect() as conn:
            decrypted = await conn.scalar(select(func.count()).select_from(OpeningEntry)
                                          .where(OpeningEntry.state == DECRYPTED, OpeningEntry.price_fen.is_not(None)))
            state = sum(1 for entry in record["entries"] if entry["price_fen"] is not None)
            prices = (await conn.execute(text("SELECT count(*) FROM opening_entries e JOIN bids b ON b.id = e.bid_id "
                                              "JOIN organisations o ON o.credit_code = b.bidder_credit_code "
                                              "WHERE e.price_fen = 8000000000 + 100 * "
                                              "substring(o.credit_code from 11 for 7)::int"))).scalar()
        times["decrypted"], times["state"], times["prices_right"] = decrypted, state, prices
    finally:
        await engine.dispose()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bidders", type=int, default=DEFAULT_BIDDERS)
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help="ciphertext bytes per bid (default 1 MiB)")
    parser.add_argument("--concurrency", type=int, default=1, help="bidders signing in / handing in at once")
    parser.add_argument("--limit", type=int, default=opening.OPEN_LIMIT, help="entries per opener call")
    parser.add_argument("--chunk", type=int, default=opening.OPEN_CHUNK, help="ciphertexts loaded at a time")
    parser.add_argument("--threads", type=int, default=opening.OPEN_THREADS, help="the opener's decryption threads")
    parser.add_argument("--profile", action="store_true", help="cProfile the batch opening (slows it down)")
    args = parser.parse_args()
    opening.OPEN_THREADS = args.threads
    began, load_before = time.perf_counter(), os.getloadavg()

    with throwaway_database("opening_bench") as bench:
        t = time.perf_counter()
        project_id, public_key, bidders = asyncio.run(tender_with_bidders(bench, args.bidders))
        bids = seal_bids(bidders, public_key, args.size)
        asyncio.run(store_bids(bench, project_id, bidders, bids))
        halves = bidder_halves(bidders, bids)
        keys = asyncio.run(content_keys(bench, bidders, bids, halves))
        print(f"set up, sealed and stored {len(bids):,} bids in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        bare_first = bare_decryption(bids, keys)
        print(f"bare decryption (1): {bare_first:.2f} s", file=sys.stderr)
        times = asyncio.run(the_opening(bench, bidders, halves, args.concurrency, args.profile, args.limit,
                                        args.chunk))
        print(f"batch opening: {times['batch_opening']:.2f} s", file=sys.stderr)
        bare_second = bare_decryption(bids, keys)
        print(f"bare decryption (2): {bare_second:.2f} s", file=sys.stderr)

    total = time.perf_counter() - began
    bare = min(bare_first, bare_second)
    n = len(bids)
    mib = args.size * n / 2**20
    command = " ".join([".venv/bin/python", "bench/opening_benchmark.py", *sys.argv[1:]])
    print(f"\n- date: {datetime.now(UTC).astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"- commit: {commit_id()}")
    print(f"- command: `{command}`")
    print(f"- machine: {machine()}")
    print(f"- load average (1/5/15 min) at start {' / '.join(f'{x:.2f}' for x in load_before)}, at end "
          f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"- bids {n:,} of {args.size:,} bytes of ciphertext ({mib:,.0f} MiB in all), "
          f"{args.concurrency} bidder(s) handing in at once; opener: limit {args.limit}, chunk {args.chunk}, "
          f"{args.threads} thread(s); {times['calls']}")
    print(f"- wall time of the whole script: {total:.0f} s\n")
    print("| step | seconds | ms per bid | × bare |")
    print("|---|---:|---:|---:|")
    for name in ("start_opening", "hand_in", "batch_opening", "opening_record", "total"):
        label = {"total": "**once all halves are in** (batch opening + record)",
                 "hand_in": "`hand_in_bidder_half` × N (signs in, K_b sealed; not judged)",
                 "start_opening": "`start_opening` (not judged)",
                 "batch_opening": "`open_handed_in_bids` until none left"}.get(name, f"`{name}`")
        print(f"| {label} | {times[name]:.2f} | {1000 * times[name] / n:.2f} | {times[name] / bare:.2f} |")
    print(f"| bare SecretBox.decrypt (1) | {bare_first:.2f} | {1000 * bare_first / n:.2f} | {bare_first / bare:.2f} |")
    print(f"| bare SecretBox.decrypt (2) | {bare_second:.2f} | {1000 * bare_second / n:.2f} | {bare_second / bare:.2f} |")
    print(f"\nCheck: {times['decrypted']:,} of {n:,} entries decrypted, {times['prices_right']:,} with the sealed "
          f"price; {times['state']:,} prices in the opening record (开标记录)")
    ok_all = times["decrypted"] == n == times["prices_right"] == times["state"]
    ratio = times["total"] / bare
    print("\nTarget (issue 5): the opening once all halves are in within 3× the bare decryption of the same bytes.\n")
    print(f"- batch opening + record / bare decryption: {ratio:.2f}× — {'MET' if ratio <= TARGET else 'MISSED'} "
          f"(hand-ins, before: {times['hand_in'] / bare:.2f}×, {1000 * times['hand_in'] / n:.2f} ms each)")
    print(f"- every bid opened with its price: {'yes' if ok_all else 'NO'}")
    if "profile" in times:
        print("\ncProfile of the batch opening (timings inflated by the profiler):\n\n```\n" + times["profile"] + "```")
    return 0 if ratio <= TARGET and ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
