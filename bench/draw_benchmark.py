"""Benchmark of the expert draw against the bare SELECT of the same pool (issue 3).

    .venv/bin/python bench/draw_benchmark.py [--sizes 1000,10000,100000] [--runs N | --runs N1,N2,N3]
                                             [--warmup W] [--profile]

What it does, all on a throwaway embedded PostgreSQL in a temporary directory (started
with ``cleanup_mode="delete"``; ``var/`` is never touched):

1. creates a template database, migrates it to head and loads the reference data (rule
   sets, specialty taxonomy), as the tests do;
2. for each pool size, copies the template into a fresh database and bulk-loads that many
   active experts with COPY (no per-row service, hence no audit entry per expert): all
   hold specialty A0801, a senior title, 20 years in the field and a review due in 2030,
   so the whole pool qualifies except for the employer: the experts are spread
   round-robin over 500 employers, 50 of which are the avoided organisations of the
   request (tendering party, agency and 48 bidders), so the filter excludes 10 %;
3. measures, alternating run by run:
   - the whole draw: ``request_committee`` for one group of 7 experts with 3 reserves
     under the rule set construction-open-tender 2019.1 (pool filter with bookings and
     cooling-off, commit record, Ed25519 signature, sealed seed, draw row with the pool,
     audit entries). The rule set asks for a witness, so the draw ends committed, as it
     does in production until the supervisor supplies the witness value. Each run is a
     fresh ORM session inside a transaction that is rolled back afterwards, so the pool
     stays the same and no booking or committee accumulates; the rollback is not timed;
   - the bare SELECT: the same eligible experts' codes, with the same WHERE conditions as
     the availability filter plus the draw's booking and cooling-off conditions, ordered
     by code, as one hand-written SQL statement fetched through the raw asyncpg connection
     (no ORM). Its row count is checked against the draw's pool size.
4. prints a Markdown table (median and p99 of each, ratio of medians), the growth factor
   from size to size, and whether the target of issue 3 holds: the whole draw within 2x
   the bare SELECT at 100,000 experts, and growth no worse than linear.

p99 is the nearest-rank 99th percentile of the timed runs (with fewer than 100 runs it is
the slowest run). ``--warmup`` runs of each kind precede the timed ones and are not
counted. ``--profile`` adds a phase breakdown and a cProfile of a few draws at the largest
size.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import math
import os
import platform
import pstats
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

warnings.filterwarnings("ignore", module="platformdirs")

import nacl.secret  # noqa: E402
import nacl.signing  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine  # noqa: E402

import expert_pool.committees as committees  # noqa: E402
from expert_pool.committees import GroupSpec, request_committee  # noqa: E402
from expert_pool.specialties import sync_specialties  # noqa: E402
from trading import draws as draws_module  # noqa: E402
from trading import sealed_draw as sd  # noqa: E402
from trading.database import (  # noqa: E402
    embedded_url,
    make_engine,
    make_sessionmaker,
    run_as_server_admin,
    start_embedded_server,
    transaction,
)
from trading.identifiers import credit_code_check_char, id_number_check_char  # noqa: E402
from trading.keys import CenterKeys  # noqa: E402
from trading.rules.store import sync_reference_data  # noqa: E402
from trading.schema import upgrade_database  # noqa: E402

TEMPLATE = "draw_bench_template"
DEFAULT_SIZES = (1_000, 10_000, 100_000)
# Timed runs per size when --runs is not given: at least 100 where p99 must mean something,
# fewer at 100,000 where one draw takes seconds (there p99 is the slowest of the runs).
DEFAULT_RUNS = {1_000: 500, 10_000: 200, 100_000: 50}
DEFAULT_WARMUP = 3
SPECIALTY = "A0801"
RULE_SET = ("construction-open-tender", "2019.1")
COMMITTEE = GroupSpec(SPECIALTY, 7, 3)
EMPLOYERS = 500
AVOIDED = 50  # tendering party, agency and 48 bidders
TARGET_RATIO = 2.0


# --- data -------------------------------------------------------------------------------

def credit_code(serial: int) -> str:
    body = f"91370800MA{serial:07d}"
    return body + credit_code_check_char(body)


def id_number(serial: int) -> str:
    """A valid resident ID number, distinct for every serial below 3,650,000."""
    born = date(1950, 1, 1) + timedelta(days=serial // 1000)
    body = f"370802{born:%Y%m%d}{serial % 1000:03d}"
    return body + id_number_check_char(body)


EMPLOYER_CODES = [credit_code(900_000 + i) for i in range(EMPLOYERS)]
TENDERING_PARTY, AGENCY, *BIDDERS = EMPLOYER_CODES[:AVOIDED]


def expert_rows(size: int):
    titles = ("正高级", "副高级")
    review_due = date(2030, 12, 31)
    for i in range(1, size + 1):
        yield (i, f"EXP{i:06d}", "王建国", id_number(i), EMPLOYER_CODES[i % EMPLOYERS], titles[i % 2],
               20, "370800", f"139{i:08d}", "active", review_due)


async def load_pool(url: str, size: int) -> None:
    """COPY ``size`` experts and their specialty straight into the tables, then ANALYZE."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            async with raw.transaction():
                await raw.copy_records_to_table(
                    "experts", records=expert_rows(size),
                    columns=["id", "code", "name", "id_number", "employer_credit_code", "title", "years_in_field",
                             "city_code", "phone", "status", "next_review_due"])
                await raw.copy_records_to_table("expert_specialties", records=((i, SPECIALTY) for i in range(1, size + 1)),
                                                columns=["expert_id", "specialty_code"])
                await raw.execute("SELECT setval(pg_get_serial_sequence('experts', 'id'), $1)", size)
            await raw.execute("ANALYZE")
    finally:
        await engine.dispose()


def database_url(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def prepare_template(server_url: str) -> str:
    url = database_url(server_url, TEMPLATE)
    await run_as_server_admin(server_url, f'DROP DATABASE IF EXISTS "{TEMPLATE}"', f'CREATE DATABASE "{TEMPLATE}"')
    await asyncio.to_thread(upgrade_database, url)
    engine = make_engine(url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            await sync_reference_data(session)
            await sync_specialties(session)
    finally:
        await engine.dispose()
    return url


# --- the two measured operations ---------------------------------------------------------

BARE_SELECT = """
WITH RECURSIVE subtree(code) AS (
    SELECT code FROM specialties WHERE code = $1
    UNION
    SELECT s.code FROM specialties s JOIN subtree t ON s.parent_code = t.code
)
SELECT e.code FROM experts e
WHERE e.status = 'active'
  AND e.next_review_due >= $2
  AND EXISTS (SELECT 1 FROM expert_specialties es
              WHERE es.expert_id = e.id AND es.specialty_code IN (SELECT code FROM subtree))
  AND NOT EXISTS (SELECT 1 FROM expert_leaves l
                  WHERE l.expert_id = e.id AND l.starts_at < $4 AND l.ends_at > $3)
  AND e.employer_credit_code NOT IN ({excluded})
  AND NOT EXISTS (SELECT 1 FROM expert_conflicts c
                  WHERE c.expert_id = e.id AND c.credit_code IN ({excluded}))
  AND e.years_in_field >= $5
  AND e.title IN ('正高级', '副高级')
  AND NOT EXISTS (SELECT 1 FROM expert_bookings b
                  WHERE b.expert_id = e.id AND b.released_at IS NULL AND b.during && tstzrange($3, $4))
  AND NOT EXISTS (SELECT 1 FROM committee_members m JOIN committee_requests r ON r.id = m.request_id
                  WHERE m.expert_id = e.id AND m.status IN ('invited', 'confirmed')
                    AND r.tendering_party_code = $6 AND r.status <> 'cancelled'
                    AND r.starts_at > $3 - make_interval(days => $7) AND r.starts_at <= $3)
ORDER BY e.code
"""


class Bench:
    def __init__(self, conn, keys: CenterKeys, starts_at: datetime, rule_set_id: int):
        self.conn = conn  # one SQLAlchemy AsyncConnection held for the whole size
        self.keys = keys
        self.starts_at = starts_at
        self.ends_at = starts_at + timedelta(hours=4)
        self.rule_set_id = rule_set_id
        self.excluded = sorted({TENDERING_PARTY, AGENCY, *BIDDERS})
        placeholders = ", ".join(f"${8 + i}" for i in range(len(self.excluded)))
        self.bare_sql = BARE_SELECT.format(excluded=placeholders)

    async def draw_once(self) -> tuple[float, int]:
        """One whole draw in a rolled-back transaction; (seconds, pool size)."""
        outer = await self.conn.begin()
        session = AsyncSession(bind=self.conn, expire_on_commit=False, join_transaction_mode="create_savepoint")
        try:
            rule_set = await session.get(committees.RuleSetRecord, self.rule_set_id)
            started = time.perf_counter()
            request = await request_committee(
                session, self.keys, actor="user:1:admin", project_code="JN-2026-GC-0300", rule_set=rule_set,
                tendering_party_code=TENDERING_PARTY, agency_code=AGENCY, bidder_codes=list(BIDDERS),
                starts_at=self.starts_at, ends_at=self.ends_at, place="济宁市公共资源交易中心 第3评标室",
                groups=[COMMITTEE])
            elapsed = time.perf_counter() - started
            pool_size = await session.scalar(
                select(draws_module.Draw.commit_record["pool_size"].as_integer())
                .join(committees.CommitteeDraw, committees.CommitteeDraw.draw_id == draws_module.Draw.draw_id)
                .join(committees.CommitteeGroup).where(committees.CommitteeGroup.request_id == request.id))
        finally:
            await session.close()
            await outer.rollback()
        return elapsed, pool_size

    async def select_once(self) -> tuple[float, int]:
        raw = (await self.conn.get_raw_connection()).driver_connection
        args = (SPECIALTY, self.starts_at.date(), self.starts_at, self.ends_at, 8, TENDERING_PARTY, 90, *self.excluded)
        started = time.perf_counter()
        rows = await raw.fetch(self.bare_sql, *args)
        codes = [row[0] for row in rows]
        elapsed = time.perf_counter() - started
        return elapsed, len(codes)


# --- statistics and output ---------------------------------------------------------------

def p99(samples: list[float]) -> float:
    """Nearest-rank 99th percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def runs_for(args, sizes: list[int]) -> dict[int, int]:
    if args.runs is None:
        return {size: DEFAULT_RUNS.get(size, 100 if size <= 10_000 else 30) for size in sizes}
    parts = [int(part) for part in args.runs.split(",")]
    if len(parts) == 1:
        return {size: parts[0] for size in sizes}
    if len(parts) != len(sizes):
        raise SystemExit("--runs takes one count or one count per size")
    return dict(zip(sizes, parts))


def machine() -> str:
    mem_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal:"))
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    return f"nproc {os.cpu_count()}, {mem_kib / 1024 / 1024:.1f} GiB RAM, {cpu}, Python {platform.python_version()}"


def commit_id() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# --- profile -----------------------------------------------------------------------------

PHASES = (
    ("available_experts", "available_experts: filter query + one ORM Expert per row"),
    ("pool_codes", "_pool_codes: the list of codes from the ORM objects"),
    ("commit_draw", "commit_draw, all of it"),
    ("sorted_pool", "  sd.sorted_pool (sort by UTF-8 bytes)"),
    ("pool_digest", "  sd.pool_digest (rfc8785 canonical JSON of the pool + SHA-256)"),
    ("sign", "  Ed25519 sign (canonical JSON of the commit record)"),
    ("seal", "  seal the seed (secretbox)"),
    ("flush", "session.flush, all (INSERTs incl. the draw row with the JSONB pool)"),
    ("audit", "trading.audit.record_event, all (hash chain + INSERT)"),
)


class PhaseTimer:
    """Wraps the functions the draw goes through, to see where its time goes (bench only:
    the wrappers live in this process and are removed afterwards)."""

    def __init__(self):
        self.totals: dict[str, float] = defaultdict(float)
        self._patches: list[tuple[object, str, object]] = []

    def wrap(self, owner, name: str, key: str) -> None:
        original = getattr(owner, name)
        totals = self.totals
        if asyncio.iscoroutinefunction(original):
            async def wrapped(*a, **k):
                t = time.perf_counter()
                try:
                    return await original(*a, **k)
                finally:
                    totals[key] += time.perf_counter() - t
        else:
            def wrapped(*a, **k):
                t = time.perf_counter()
                try:
                    return original(*a, **k)
                finally:
                    totals[key] += time.perf_counter() - t
        setattr(owner, name, wrapped)
        self._patches.append((owner, name, original))

    @contextmanager
    def installed(self):
        from trading import audit

        self.wrap(committees, "available_experts", "available_experts")
        self.wrap(committees, "_pool_codes", "pool_codes")
        self.wrap(committees, "commit_draw", "commit_draw")
        self.wrap(sd, "sorted_pool", "sorted_pool")
        self.wrap(sd, "pool_digest", "pool_digest")
        self.wrap(CenterKeys, "sign", "sign")
        self.wrap(CenterKeys, "seal", "seal")
        self.wrap(AsyncSession, "flush", "flush")
        for module in (committees, draws_module, audit):
            self.wrap(module, "record_event", "audit")
        try:
            yield self
        finally:
            for owner, name, original in reversed(self._patches):
                setattr(owner, name, original)
            self._patches.clear()


class _Code:
    __slots__ = ("code",)

    def __init__(self, code: str):
        self.code = code


def _canonical_string_list(pool) -> bytes:
    """For a list of strings RFC 8785 and ``json.dumps(ensure_ascii=False)`` with compact
    separators write the same bytes (both escape only quote, backslash and controls, the
    latter as lowercase \\u00xx); checked against rfc8785 below before it is used."""
    import json

    return json.dumps(list(pool), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@contextmanager
def proposed_fixes():
    """The changes proposed in RESULTS.md, patched into this process only:

    1. the pool filter selects the code column, not whole ``Expert`` entities (patched by
       turning ``select(Expert)`` inside ``available_experts`` into ``select(Expert.code)``;
       the codes are wrapped in a slotted object so that ``_pool_codes`` runs unchanged);
    2. ``sd.pool_digest`` hashes ``json.dumps`` bytes for a list of strings instead of
       running the pure-Python rfc8785 serializer over 100,000 strings;
    3. ``sd.sorted_pool`` sorts the strings directly: code-point order is UTF-8 byte order.
    """
    import expert_pool.availability as availability
    from expert_pool.models import Expert

    original_select = availability.select
    original_available = committees.available_experts
    original_sorted, original_digest = sd.sorted_pool, sd.pool_digest

    def codes_select(*entities, **kw):
        if len(entities) == 1 and entities[0] is Expert:
            return original_select(Expert.code, **kw)
        return original_select(*entities, **kw)

    async def available_codes(*a, **k):
        return [_Code(code) for code in await original_available(*a, **k)]

    availability.select = codes_select
    committees.available_experts = available_codes
    sd.sorted_pool = lambda codes: sorted(set(codes))
    sd.pool_digest = lambda pool: sd.H(_canonical_string_list(pool)).hex()
    try:
        yield
    finally:
        availability.select = original_select
        committees.available_experts = original_available
        sd.sorted_pool, sd.pool_digest = original_sorted, original_digest


async def profile(bench: Bench, size: int, runs: int) -> str:
    out = io.StringIO()
    timer = PhaseTimer()
    total = 0.0
    with timer.installed():
        for _ in range(runs):
            elapsed, _ = await bench.draw_once()
            total += elapsed
    print(f"\n### Phase breakdown at {size:,} experts (mean of {runs} draws)\n", file=out)
    print("| phase | ms per draw | share |\n|---|---:|---:|", file=out)
    print(f"| whole draw (request_committee) | {ms(total / runs)} | 100 % |", file=out)
    for key, label in PHASES:
        seconds = timer.totals.get(key, 0.0)
        print(f"| {label} | {ms(seconds / runs)} | {100 * seconds / total:.0f} % |", file=out)

    raw = (await bench.conn.get_raw_connection()).driver_connection
    args = (SPECIALTY, bench.starts_at.date(), bench.starts_at, bench.ends_at, 8, TENDERING_PARTY, 90, *bench.excluded)
    plan = await raw.fetch("EXPLAIN (ANALYZE, TIMING OFF) " + bench.bare_sql, *args)
    server_ms = next(row[0] for row in plan if row[0].startswith("Execution Time"))

    pieces: dict[str, float] = {}
    async with bench.conn.begin():
        session = AsyncSession(bind=bench.conn, join_transaction_mode="create_savepoint")
        try:
            from expert_pool.availability import available_experts

            def orm_filter():
                return available_experts(
                    session, specialties=[SPECIALTY], window_start=bench.starts_at, window_end=bench.ends_at,
                    exclude_credit_codes=bench.excluded, on_date=bench.starts_at.date(), min_years_in_field=8,
                    senior_title_only=True)

            async def codes_filter():
                with proposed_fixes():
                    return await committees.available_experts(
                        session, specialties=[SPECIALTY], window_start=bench.starts_at, window_end=bench.ends_at,
                        exclude_credit_codes=bench.excluded, on_date=bench.starts_at.date(), min_years_in_field=8,
                        senior_title_only=True)

            for label, fn in (
                ("available_experts() as it is (ORM Expert objects)", orm_filter),
                ("available_experts() selecting the code column only (proposed)", codes_filter),
                ("bare SELECT via raw asyncpg (the baseline)", lambda: raw.fetch(bench.bare_sql, *args)),
                ("bare SELECT via SQLAlchemy text()", lambda: session.execute(
                    text(bench.bare_sql.replace("$", ":p")), {f"p{i + 1}": v for i, v in enumerate(args)})),
            ):
                samples = []
                for _ in range(runs):
                    session.expunge_all()
                    t = time.perf_counter()
                    result = await fn()
                    if hasattr(result, "all"):
                        result = result.all()
                    samples.append(time.perf_counter() - t)
                pieces[label] = statistics.median(samples)
        finally:
            await session.close()
            await bench.conn.rollback()
    pool = sd.sorted_pool([f"EXP{i:06d}" for i in range(1, size + 1)])
    if _canonical_string_list(pool) != sd.canon(pool):
        raise SystemExit("json.dumps and rfc8785 disagree on the pool: the proposed digest is wrong")
    for label, fn in (("sd.pool_digest as it is (rfc8785)", lambda: sd.pool_digest(pool)),
                      ("pool digest via json.dumps (proposed; same bytes, checked)",
                       lambda: sd.H(_canonical_string_list(pool)).hex()),
                      ("sd.sorted_pool as it is (key=encode)", lambda: sd.sorted_pool(pool)),
                      ("sorted(set(pool)) (proposed; same order)", lambda: sorted(set(pool)))):
        t = time.perf_counter()
        for _ in range(runs):
            fn()
        pieces[label] = (time.perf_counter() - t) / runs
    print(f"\n### Pieces measured alone at {size:,} experts (median of {runs}, or mean for the pure functions)\n",
          file=out)
    print("| piece | ms |\n|---|---:|", file=out)
    for label, seconds in pieces.items():
        print(f"| {label} | {ms(seconds)} |", file=out)
    print(f"\nServer side of the bare SELECT (EXPLAIN ANALYZE, timing off): {server_ms}.", file=out)

    fixed_draws, fixed_selects = [], []
    with proposed_fixes():
        await bench.draw_once()  # warm-up
        for _ in range(runs):
            fixed_draws.append((await bench.draw_once())[0])
            fixed_selects.append((await bench.select_once())[0])
    draw_m, select_m = statistics.median(fixed_draws), statistics.median(fixed_selects)
    print(f"\n### What-if: the whole draw with the three proposed changes patched in ({runs} runs)\n", file=out)
    print("| draw median ms | bare SELECT median ms | ratio |\n|---:|---:|---:|", file=out)
    print(f"| {ms(draw_m)} | {ms(select_m)} | {draw_m / select_m:.2f} |", file=out)

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(max(1, runs // 2)):
        await bench.draw_once()
    profiler.disable()
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(20)
    print(f"\n### cProfile of {max(1, runs // 2)} draws at {size:,}, by own time\n\n```", file=out)
    print(stream.getvalue().strip(), file=out)
    print("```", file=out)
    return out.getvalue()


# --- main --------------------------------------------------------------------------------

async def measure_size(server_url: str, keys: CenterKeys, size: int, runs: int, warmup: int,
                       want_profile: bool, profile_runs: int) -> tuple[dict, str]:
    name = f"draw_bench_{size}"
    await run_as_server_admin(server_url, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    url = database_url(server_url, name)
    report = ""
    try:
        t = time.perf_counter()
        await load_pool(url, size)
        print(f"  loaded {size:,} experts in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                now = await conn.scalar(select(func.now()))
                starts_at = (now + timedelta(days=3)).replace(microsecond=0)
                rule_set_id = await conn.scalar(text("SELECT id FROM rule_sets WHERE code = :c AND version = :v"),
                                                {"c": RULE_SET[0], "v": RULE_SET[1]})
                await conn.rollback()
                bench = Bench(conn, keys, starts_at, rule_set_id)
                expected = size - size * AVOIDED // EMPLOYERS  # round-robin over the employers
                for _ in range(warmup):
                    _, pool_size = await bench.draw_once()
                    _, rows = await bench.select_once()
                    if not (pool_size == rows == expected):
                        raise SystemExit(f"pool mismatch at {size}: draw {pool_size}, SELECT {rows}, "
                                         f"expected {expected}")
                draw_times, select_times = [], []
                t = time.perf_counter()
                for run in range(runs):
                    # Alternate the order so drift and caching favour neither side.
                    if run % 2 == 0:
                        draw_times.append((await bench.draw_once())[0])
                        select_times.append((await bench.select_once())[0])
                    else:
                        select_times.append((await bench.select_once())[0])
                        draw_times.append((await bench.draw_once())[0])
                print(f"  {runs} runs of each in {time.perf_counter() - t:.1f} s", file=sys.stderr)
                if want_profile:
                    report = await profile(bench, size, profile_runs)
        finally:
            await engine.dispose()
    finally:
        await run_as_server_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    row = {"size": size, "runs": runs, "pool": expected,
           "draw_median": statistics.median(draw_times), "draw_p99": p99(draw_times),
           "select_median": statistics.median(select_times), "select_p99": p99(select_times)}
    return row, report


async def run(args) -> int:
    sizes = [int(part.replace("_", "")) for part in args.sizes.split(",")]
    runs = runs_for(args, sizes)
    keys = CenterKeys(signing_key=nacl.signing.SigningKey.generate(),
                      kek=secrets.token_bytes(nacl.secret.SecretBox.KEY_SIZE))
    parent = Path(tempfile.mkdtemp(prefix="draw-bench-pg-"))
    began = time.perf_counter()
    load_before = os.getloadavg()
    server = None
    try:
        server = start_embedded_server(parent / "data", cleanup_mode="delete")
        server_url = embedded_url(server, "postgres")
        print(f"embedded PostgreSQL in {parent}; migrating the template", file=sys.stderr)
        await prepare_template(server_url)
        rows, reports = [], []
        for size in sizes:
            print(f"size {size:,}: {runs[size]} runs (+{args.warmup} warm-up)", file=sys.stderr)
            row, report = await measure_size(server_url, keys, size, runs[size], args.warmup,
                                             args.profile and size == max(sizes), args.profile_runs)
            rows.append(row)
            if report:
                reports.append(report)
    finally:
        if server is not None:
            server.cleanup()
        shutil.rmtree(parent, ignore_errors=True)
    total = time.perf_counter() - began

    command = " ".join([".venv/bin/python", "bench/draw_benchmark.py", *sys.argv[1:]])
    print(f"\n- date: {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"- commit: {commit_id()}")
    print(f"- command: `{command}`")
    print(f"- machine: {machine()}")
    print(f"- load average (1/5/15 min) at start {' / '.join(f'{x:.2f}' for x in load_before)}, at end "
          f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())} (other work on the machine shows here)")
    print(f"- wall time of the whole script: {total:.0f} s\n")
    print("| experts | eligible | runs | draw median ms | draw p99 ms | bare SELECT median ms | bare SELECT p99 ms "
          "| draw / SELECT (medians) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['size']:,} | {row['pool']:,} | {row['runs']} | {ms(row['draw_median'])} | {ms(row['draw_p99'])} "
              f"| {ms(row['select_median'])} | {ms(row['select_p99'])} "
              f"| {row['draw_median'] / row['select_median']:.2f} |")
    print("\nGrowth of the medians from size to size:\n")
    print("| from → to | size × | draw × | bare SELECT × |\n|---|---:|---:|---:|")
    linear_ok, worst = True, 0.0
    for a, b in zip(rows, rows[1:]):
        size_factor = b["size"] / a["size"]
        draw_factor = b["draw_median"] / a["draw_median"]
        select_factor = b["select_median"] / a["select_median"]
        linear_ok &= draw_factor <= size_factor
        worst = max(worst, draw_factor / size_factor)
        print(f"| {a['size']:,} → {b['size']:,} | {size_factor:.0f} | {draw_factor:.2f} | {select_factor:.2f} |")
    largest = rows[-1]
    ratio = largest["draw_median"] / largest["select_median"]
    judged = largest["size"] >= 100_000
    ratio_ok = ratio <= TARGET_RATIO
    print("\nTarget (issue 3): the whole draw within 2× the bare SELECT at 100,000 experts; growth no worse than "
          "linear.\n")
    print(f"- draw / bare SELECT at {largest['size']:,}: {ratio:.2f}× (medians; p99 "
          f"{largest['draw_p99'] / largest['select_p99']:.2f}×) — "
          f"{('MET' if ratio_ok else 'MISSED') if judged else 'not judged below 100,000'}")
    if len(rows) > 1:
        verdict = ("MET" if linear_ok else
                   f"MISSED by {100 * (worst - 1):.0f} % (within the 10 % one would allow for noise and for the "
                   f"n log n of sorting the pool)" if worst <= 1.10 else f"MISSED ({worst:.2f}× linear)")
        print(f"- growth no worse than linear (draw growth ≤ size growth at every step): {verdict}")
    if largest["size"] != 100_000:
        print(f"- (the largest size run was {largest['size']:,}, not 100,000: the ratio target is not judged)")
    for report in reports:
        print(report)
    return 0 if ratio_ok and linear_ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES),
                        help="pool sizes, comma-separated (default 1000,10000,100000)")
    parser.add_argument("--runs", default=None,
                        help="timed runs: one count for every size, or one per size "
                             f"(default {', '.join(f'{k:,}: {v}' for k, v in DEFAULT_RUNS.items())})")
    parser.add_argument("--warmup", type=int, default=DEFAULT_WARMUP, help="untimed runs of each kind first")
    parser.add_argument("--profile", action="store_true", help="phase breakdown and cProfile at the largest size")
    parser.add_argument("--profile-runs", type=int, default=6, help="draws measured by --profile")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
