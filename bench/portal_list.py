"""Portal benchmark (issue 6): the public announcement list (/tenders) over 100,000 tenders
under 200 concurrent clients, against the same SQL run bare on asyncpg in the same run.

    .venv/bin/python bench/portal_list.py [--tenders 100000] [--clients 200] [--requests 3000]
                                          [--bare-connections 15]

What it does, all on a throwaway embedded PostgreSQL in a temporary directory:

1. migrates a database and bulk-loads (COPY) 2,000 tendering parties, ``--tenders``
   projects over the four trading categories, 13 regions, every state and two years, and
   their announcements: a tender announcement each, a result announcement (naming the
   winner) for the awarded ones, a change for some — about 1.6 announcements a tender —
   with ``search_text`` made as ``bidding.notice.announcements.announcement_search_text`` makes it;
   then VACUUM ANALYZE (as autovacuum would leave it: the GIN pending list merged);
2. starts ``trading serve`` in a subprocess (one uvicorn worker, as ``trading serve`` runs);
3. for each scenario — a search term of three or more Chinese characters (five terms of
   different selectivity, in turn), filters without a term (category, region, amount range
   in yuan, date range), and a two-character term (the documented slow path: pg_trgm has
   no trigram to look up) — ``--requests`` GETs of the first page from ``--clients``
   keep-alive HTTP/1.1 connections at once (a small raw client: the load generator shares
   the 2 cores), after a warm-up; latency from writing a request to its last byte;
4. the reference: the very statement the page runs (``bidding.reading.listing.listing_statement``,
   compiled for asyncpg), with the same parameters in the same rotation, ``--requests``
   times from ``--clients`` tasks at once over an asyncpg pool of ``--bare-connections``
   (the app's SQLAlchemy pool holds at most 15), prepared as SQLAlchemy prepares it;
5. checks: every answer is 200, and for each term the page lists the same announcements,
   in the same order, as the bare query returns.

No target ratio is set by the issue: the figures are recorded as they are.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import signal
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from html import unescape
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg  # noqa: E402
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect  # noqa: E402

from bidders import commit_id, credit_code, machine, percentile, throwaway_database  # noqa: E402
from deadline_rush import cpu_seconds, free_port, raw_dsn, start_server  # noqa: E402
from bidding.reading.listing import PAGE_SIZE, ListingFilters, listing_statement  # noqa: E402
from trading.money import yuan  # noqa: E402
from trading.timefmt import CENTER_ZONE  # noqa: E402

DEFAULT_TENDERS = 100_000
PARTIES = 2_000
CITY = "370800"
COUNTIES = [("370811", "任城区"), ("370812", "兖州区"), ("370881", "曲阜市"), ("370883", "邹城市"),
            ("370826", "微山县"), ("370827", "鱼台县"), ("370828", "金乡县"), ("370829", "嘉祥县"),
            ("370830", "汶上县"), ("370831", "泗水县"), ("370832", "梁山县")]
PLACES = [name for _, name in COUNTIES] + ["济宁市", "太白湖新区", "高新区", "经济技术开发区"]
SUBJECTS = ["第一人民医院", "中医院", "妇幼保健院", "实验小学", "第三中学", "职业技术学院", "老旧小区", "北湖路", "科技园",
            "市民中心", "体育中心", "供水公司", "热力公司", "公安局", "图书馆", "滨河公园", "汽车站", "农贸市场",
            "城市建设投资中心", "交通运输局"]
WORKS = {
    "construction": ["道路改造工程", "污水处理厂扩建工程", "综合楼施工总承包", "雨污分流改造工程", "桥梁加固工程",
                     "外立面改造工程", "管网更新工程", "绿化提升工程", "教学楼新建工程", "停车场建设工程"],
    "government_procurement": ["CT设备采购", "信息化系统采购", "物业服务采购", "课桌椅采购", "办公家具采购",
                               "医用耗材采购", "车辆采购", "安保服务采购", "食堂食材配送服务", "监控设备采购"],
    "land_mining": ["地块国有建设用地使用权出让", "石灰岩矿采矿权出让", "砂石资源采矿权出让", "工业用地使用权出让",
                    "商住用地使用权挂牌出让"],
    "state_property": ["闲置房产转让", "国有股权转让", "门面房租赁权招租", "报废车辆处置", "国有资产整体转让"],
}
CATEGORY_WEIGHTS = {"construction": 45, "government_procurement": 40, "land_mining": 8, "state_property": 7}
METHODS = {"construction": "open_tender", "government_procurement": "public_tender", "land_mining": "auction",
           "state_property": "auction"}
CODES = {"construction": "GC", "government_procurement": "CG", "land_mining": "TD", "state_property": "CQ"}
# Most tenders in two years are over; a few are live.
STATES = [("closed", 30), ("contracted", 25), ("awarded", 10), ("failed", 6), ("terminated", 2), ("publicity", 3),
          ("evaluating", 3), ("bidding", 10), ("announced", 6), ("registered", 5)]
AWARDED = {"closed", "contracted", "awarded"}
PARTY_KINDS = ["城市建设投资有限公司", "人民医院", "教育局", "住房和城乡建设局", "自然资源和规划局", "国有资产运营有限公司",
               "水务集团有限公司", "交通投资有限公司"]
BIDDER_NAMES = ["鲁建建设集团有限公司", "宏远建筑工程有限公司", "泰和医疗设备有限公司", "圣地建设有限公司",
                "运河市政工程有限公司", "孔孟信息技术有限公司", "东方物业服务有限公司", "华宇智能科技有限公司"]
SEARCH_TERMS = ["人民医院", "污水处理厂", "曲阜市实验小学", "兖州区水务集团", "JN-2025-GC-0012345"]
SHORT_TERMS = ["医院", "道路", "采购", "曲阜", "矿权"]


@dataclass
class Scenario:
    name: str
    filters: list[ListingFilters]  # used in turn

    def query_string(self, i: int) -> str:
        f = self.filters[i % len(self.filters)]
        params = {"q": f.query, "category": f.category or "", "region": f.region or "",
                  "date_from": f.published_from.isoformat() if f.published_from else "",
                  "date_to": f.published_to.isoformat() if f.published_to else "",
                  "min_amount": f"{f.min_fen // 100}" if f.min_fen is not None else "",
                  "max_amount": f"{f.max_fen // 100}" if f.max_fen is not None else ""}
        return urlencode({k: v for k, v in params.items() if v})


def scenarios(today: date) -> list[Scenario]:
    return [
        Scenario("search, 3+ characters", [ListingFilters(query=term) for term in SEARCH_TERMS]),
        Scenario("filters, no term", [
            ListingFilters(category="government_procurement", region="370811", min_fen=100_000_00,
                           max_fen=5_000_000_00, published_from=today - timedelta(days=365), published_to=today),
            ListingFilters(category="construction", region=CITY, min_fen=10_000_000_00),
            ListingFilters(category="land_mining", published_from=today - timedelta(days=180), published_to=today)]),
        Scenario("search, 2 characters", [ListingFilters(query=term) for term in SHORT_TERMS]),
    ]


# ----------------------------------------------------------------------------- data


def party_name(index: int) -> str:
    place = PLACES[index % len(PLACES)]
    return f"{place}{PARTY_KINDS[(index // len(PLACES)) % len(PARTY_KINDS)]}（{index:04d}）"


async def load(dsn: str, tenders: int, seed: int = 2026) -> dict[str, int]:
    """COPY the parties, projects and announcements; returns counts."""
    rng = random.Random(seed)
    conn = await asyncpg.connect(dsn)
    try:
        now = await conn.fetchval("SELECT now()")
        rule_set = await conn.fetchval("SELECT id FROM rule_sets ORDER BY id LIMIT 1")
        async with conn.transaction():
            await conn.execute("INSERT INTO regions (code, name, parent_code) VALUES ('370000', '山东省', NULL), "
                               "($1, '济宁市', '370000')", CITY)
            await conn.copy_records_to_table("regions", columns=["code", "name", "parent_code"],
                                             records=[(code, name, CITY) for code, name in COUNTIES])
            regions = [CITY] + [code for code, _ in COUNTIES]
            parties = [(i, credit_code(500_000 + i), party_name(i), ["tendering_party"], rng.choice(regions))
                       for i in range(1, PARTIES + 1)]
            bidders = [(PARTIES + 1 + i, credit_code(600_000 + i), f"{PLACES[i % len(PLACES)]}{name}", ["bidder"], CITY)
                       for i, name in enumerate(BIDDER_NAMES * 4)]
            await conn.copy_records_to_table("organisations", columns=["id", "credit_code", "name", "roles",
                                                                       "region_code"], records=parties + bidders)
            await conn.execute("SELECT setval(pg_get_serial_sequence('organisations', 'id'), $1)",
                               PARTIES + 1 + len(bidders))
            categories = list(CATEGORY_WEIGHTS)
            weights = list(CATEGORY_WEIGHTS.values())
            states, state_weights = zip(*STATES, strict=True)
            projects, announcements = [], []
            for pid in range(1, tenders + 1):
                category = rng.choices(categories, weights)[0]
                state = rng.choices(states, state_weights)[0]
                registered = now - timedelta(days=rng.uniform(0, 730)) if state not in ("bidding", "announced") \
                    else now - timedelta(days=rng.uniform(1, 20))
                party_id, _, party, _, region = parties[rng.randrange(PARTIES)]
                title = f"{rng.choice(PLACES)}{rng.choice(SUBJECTS)}{rng.choice(WORKS[category])}" + \
                    rng.choice(["", "", "", "（一期）", "（二期）", "（重新招标）"])
                code = f"JN-{registered.year}-{CODES[category]}-{pid:07d}"
                estimate = rng.choice([rng.randrange(5_000_00, 500_000_00), rng.randrange(500_000_00, 50_000_000_00),
                                       rng.randrange(50_000_000_00, 2_000_000_000_00)])
                announced = registered + timedelta(hours=rng.uniform(1, 72))
                deadline = announced + timedelta(days=21) if state != "registered" else None
                projects.append((pid, code, title, category, METHODS[category], region, party_id, estimate, rule_set,
                                 state, registered, announced if deadline else None, deadline))
                if state == "registered":
                    continue
                base = [title, code, title, party]
                tender_title = f"{title}招标公告"
                announcements.append((pid, "tender", tender_title, f"项目编号：{code}。详见招标文件。", announced,
                                      "\n".join([tender_title, *base[1:]])))
                if rng.random() < 0.2:
                    change_title = f"{title}变更公告"
                    announcements.append((pid, "change", change_title, "投标截止时间顺延。",
                                          announced + timedelta(days=5), "\n".join([change_title, *base[1:]])))
                if state in AWARDED:
                    winner = bidders[rng.randrange(len(bidders))][2]
                    result_title = f"{title}中标结果公告"
                    body = f"项目编号：{code}\n中标人：{winner}\n中标价 {yuan(estimate * 95 // 100)} 元"
                    announcements.append((pid, "result", result_title, body, deadline + timedelta(days=12),
                                          "\n".join([result_title, *base[1:], body])))
            await conn.copy_records_to_table(
                "projects", columns=["id", "code", "title", "category", "method", "region_code", "tendering_party_id",
                                     "estimate_fen", "rule_set_id", "state", "registered_at", "documents_issued_at",
                                     "bid_deadline"], records=projects)
            await conn.execute("SELECT setval(pg_get_serial_sequence('projects', 'id'), $1)", tenders)
            # Announcements go in in publication order, as they would have been published.
            announcements.sort(key=lambda row: row[4])
            await conn.copy_records_to_table(
                "announcements", columns=["project_id", "kind", "title", "body", "published_at", "search_text"],
                records=[row if row[4] <= now else (*row[:4], now, row[5]) for row in announcements])
        # As autovacuum leaves a live database: the GIN index's pending list merged, statistics fresh.
        await conn.execute("VACUUM ANALYZE")
        return {"projects": tenders, "announcements": len(announcements), "parties": PARTIES}
    finally:
        await conn.close()


# ----------------------------------------------------------------------------- the bare reference


def compiled(filters: ListingFilters) -> tuple[str, list]:
    """The page's statement for ``filters`` as asyncpg runs it: SQL with $n and its arguments."""
    statement = listing_statement(filters.checked(), limit=PAGE_SIZE + 1)
    sql = statement.compile(dialect=asyncpg_dialect.dialect())
    return sql.string, [sql.params[name] for name in sql.positiontup]


async def bare(dsn: str, scenario: Scenario, clients: int, requests: int, connections: int) -> dict:
    queries = [compiled(f) for f in scenario.filters]
    pool = await asyncpg.create_pool(dsn, min_size=connections, max_size=connections)
    latencies: list[float] = []
    counter = iter(range(requests))
    try:
        async def worker() -> None:
            for i in counter:
                sql, args = queries[i % len(queries)]
                sent = time.perf_counter()
                async with pool.acquire() as conn:
                    await conn.fetch(sql, *args)
                latencies.append(time.perf_counter() - sent)

        async def warm_up(i: int) -> None:
            sql, args = queries[i % len(queries)]
            async with pool.acquire() as conn:
                await conn.fetch(sql, *args)

        await asyncio.gather(*(warm_up(i) for i in range(clients)))
        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - began
    finally:
        await pool.close()
    return summary(latencies, elapsed)


async def bare_titles(dsn: str, filters: ListingFilters) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        sql, args = compiled(filters)
        return [row["title"] for row in (await conn.fetch(sql, *args))[:PAGE_SIZE]]
    finally:
        await conn.close()


async def explain(dsn: str, plan: list[Scenario]) -> None:
    """EXPLAIN ANALYZE of every query, planned for its values and as a generic prepared plan."""
    conn = await asyncpg.connect(dsn)
    try:
        for scenario in plan:
            for filters in scenario.filters:
                sql, args = compiled(filters)
                for mode in ("force_custom_plan", "force_generic_plan"):
                    await conn.execute(f"SET plan_cache_mode = {mode}")
                    statement = await conn.prepare(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}")
                    lines = [row[0] for row in await statement.fetch(*args)]
                    print(f"--- {scenario.name} {filters.query or filters.category!r} ({mode})")
                    print("\n".join(lines))
    finally:
        await conn.close()


# ----------------------------------------------------------------------------- the pages over HTTP


async def http_get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> tuple[int, bytes]:
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/html\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next(int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:"))
    return status, await reader.readexactly(length)


async def pages(port: int, scenario: Scenario, clients: int, requests: int) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(requests))

    async def connection(work) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**20)
        try:
            for i in work:
                sent = time.perf_counter()
                status, _ = await http_get(reader, writer, f"/tenders?{scenario.query_string(i)}")
                latencies.append(time.perf_counter() - sent)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    await asyncio.gather(*(connection(iter(range(i, i + 1))) for i in range(clients)))  # warm-up
    latencies.clear()
    statuses.clear()
    began = time.perf_counter()
    await asyncio.gather(*(connection(counter) for _ in range(clients)))
    elapsed = time.perf_counter() - began
    return summary(latencies, elapsed) | {"statuses": statuses}


ROW_TITLE = re.compile(r'<a class="listing-title" href="[^"]+">\s*<span class="kind[^"]*">[^<]*</span>([^<]*)</a>')


async def page_titles(port: int, filters: ListingFilters) -> list[str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**20)
    try:
        status, body = await http_get(reader, writer, f"/tenders?{Scenario('', [filters]).query_string(0)}")
    finally:
        writer.close()
    assert status == 200, status
    return [unescape(title).strip() for title in ROW_TITLE.findall(body.decode())]


def summary(latencies: list[float], elapsed: float) -> dict:
    return {"requests": len(latencies), "seconds": elapsed, "rate": len(latencies) / elapsed,
            "p50": percentile(latencies, 50) * 1000, "p99": percentile(latencies, 99) * 1000,
            "max": max(latencies) * 1000}


# ----------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenders", type=int, default=DEFAULT_TENDERS)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--bare-connections", type=int, default=15)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers (1: as `trading serve` runs)")
    parser.add_argument("--explain", action="store_true",
                        help="print each query's plan (custom and generic, as a prepared statement ends up) and stop")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with throwaway_database("portal_list") as bench:
        dsn = raw_dsn(bench.url)
        began = time.perf_counter()
        counts = asyncio.run(load(dsn, args.tenders))
        print(f"loaded {counts} in {time.perf_counter() - began:.1f} s", flush=True)
        today = datetime.now(timezone.utc).astimezone(CENTER_ZONE).date()
        plan = scenarios(today)
        if args.explain:
            asyncio.run(explain(dsn, plan))
            return 0
        port = free_port()
        log_path = bench.directory / "server.log"
        server = start_server(bench.server_env(port), port, args.workers, log_path)
        results = []
        try:
            mismatches = []
            for scenario in plan:
                for filters in scenario.filters:
                    app_rows = asyncio.run(page_titles(port, filters))
                    bare_rows = asyncio.run(bare_titles(dsn, filters))
                    if app_rows != bare_rows:
                        mismatches.append((filters, app_rows[:3], bare_rows[:3]))
                    print(f"  {scenario.name}: {filters.query or filters.category!r}: {len(app_rows)} rows on page 1",
                          flush=True)
            for scenario in plan:
                cpu_before = cpu_seconds(server.pid)
                app = asyncio.run(pages(port, scenario, args.clients, args.requests))
                cpu_after = cpu_seconds(server.pid)
                reference = asyncio.run(bare(dsn, scenario, args.clients, args.requests, args.bare_connections))
                cpu = {key: cpu_after[key] - cpu_before[key] for key in cpu_after}
                results.append((scenario, app, reference, cpu))
                print(f"  {scenario.name}: page {app['rate']:.0f}/s p50 {app['p50']:.1f} p99 {app['p99']:.1f}; "
                      f"bare {reference['rate']:.0f}/s p50 {reference['p50']:.1f} p99 {reference['p99']:.1f}; "
                      f"statuses {app['statuses']}", flush=True)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except Exception:  # noqa: BLE001 - a stuck server is killed
                server.kill()
    print()
    print(f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"- commit: {commit_id()}")
    print(f"- machine: {machine()}")
    print(f"- data: {counts['projects']:,} tenders, {counts['announcements']:,} announcements, "
          f"{counts['parties']:,} tendering parties")
    print(f"- server: {'trading serve (one uvicorn worker)' if args.workers == 1 else f'uvicorn --workers {args.workers}'}")
    print(f"- {args.clients} concurrent clients, {args.requests} requests a scenario (after {args.clients} warm-up), "
          f"bare pool {args.bare_connections} connections")
    print(f"- load average (1 min) at start/end: {load_before[0]:.2f}/{os.getloadavg()[0]:.2f}")
    print(f"- page vs bare rows: {'identical for every term and filter set' if not mismatches else mismatches}")
    print()
    print("| scenario | path | requests/s | p50 ms | p99 ms | max ms | page/bare rate | server CPU ms/request |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for scenario, app, reference, cpu in results:
        print(f"| {scenario.name} | bare asyncpg, same SQL | {reference['rate']:.0f} | {reference['p50']:.1f} | "
              f"{reference['p99']:.1f} | {reference['max']:.1f} | | |")
        print(f"| | **GET /tenders** (`trading serve`) | **{app['rate']:.0f}** | {app['p50']:.1f} | "
              f"**{app['p99']:.1f}** | {app['max']:.1f} | {app['rate'] / reference['rate']:.2f} | "
              f"{cpu['server'] * 1000 / app['requests']:.1f} |")
    bad = sum(count for status, count in (s for _, a, _, _ in results for s in a["statuses"].items()) if status != 200)
    return 1 if bad or mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
