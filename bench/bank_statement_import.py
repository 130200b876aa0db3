"""Bank-statement import benchmark (issue 14): a statement of 40,000 deposits imported through
the service (``bidding.settlement.deposits.import_statement``), then the same file again.

    .venv/bin/python bench/bank_statement_import.py [--rows 40000] [--bidders 4000]

What it does, on a throwaway embedded PostgreSQL in a temporary directory:

1. one tender in bidding made through the services and ``--bidders`` admitted bidders
   bulk-loaded (bench/bidders.py), each required to pay a deposit of ``rows / bidders``
   instalments of 1,000.00 yuan;
2. a CSV statement of ``--rows`` incoming rows: every bidder pays its instalments from an
   account of its own, each row with its own bank reference and a remark naming the tender
   and the bidder, as finance staff download it from the bank;
3. imports it in one transaction (every row matched to its admitted registration, one
   deposit and one audit entry per row, the collusion check per account, the registrations
   settled) and commits; then imports the very same file again (every row recognised as
   already recorded, nothing written);
4. checks: as many deposits as rows, every registration settled, no collusion flag.

Figures: wall seconds and rows per second of each import, the bench process's CPU seconds.
The issue asks for 40,000 rows "well under a minute".
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bidders import TENDER_CODE, commit_id, machine, tender_with_bidders, throwaway_database  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from bidding.settlement.deposits import import_statement  # noqa: E402
from trading.database import make_engine, make_sessionmaker, transaction  # noqa: E402
from trading.ledger import CollusionFlag, LedgerDeposit  # noqa: E402

INSTALMENT_FEN = 100_000


def statement(bidders: list, rows: int) -> bytes:
    lines = ["交易流水号,付款账号,付款户名,金额（元）,附言,到账日期"]
    for row in range(rows):
        bidder = bidders[row % len(bidders)]
        lines.append(f"B{row:08d},6222{bidder.index:012d},基准投标人{bidder.index:05d}有限公司,"
                     f"{INSTALMENT_FEN // 100}.00,保证金 {TENDER_CODE} {bidder.credit_code},2026-11-20")
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def timed_import(url: str, data: bytes) -> tuple[float, float, int, int]:
    """(wall seconds, CPU seconds, rows imported, rows already recorded)."""
    engine = make_engine(url)
    try:
        began, cpu = time.perf_counter(), cpu_seconds()
        async with transaction(make_sessionmaker(engine)) as session:
            result = await import_statement(session, actor="bench:finance", filename="statement.csv", data=data)
        return time.perf_counter() - began, cpu_seconds() - cpu, result.count, len(result.already)
    finally:
        await engine.dispose()


async def check(url: str, rows: int, bidders: int) -> None:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            deposits = await conn.scalar(select(func.count()).select_from(LedgerDeposit))
            flags = await conn.scalar(select(func.count()).select_from(CollusionFlag))
            settled = await conn.scalar(text("SELECT count(*) FROM registrations WHERE deposit_paid_at IS NOT NULL"))
        if (deposits, flags, settled) != (rows, 0, bidders):
            raise SystemExit(f"expected {rows} deposits, no flag, {bidders} settled; got {deposits}, {flags}, {settled}")
    finally:
        await engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=40_000)
    parser.add_argument("--bidders", type=int, default=4_000)
    args = parser.parse_args()
    if args.rows % args.bidders:
        raise SystemExit("--rows must be a multiple of --bidders (each bidder pays the same instalments)")
    print(f"commit {commit_id()}; {machine()}")
    with throwaway_database("bench_statement") as bench:
        _, _, bidders = asyncio.run(tender_with_bidders(bench, args.bidders))

        async def require_deposits() -> None:
            engine = make_engine(bench.url)
            try:
                async with engine.begin() as conn:
                    await conn.execute(text("UPDATE registrations SET deposit_required_fen = :fen"),
                                       {"fen": INSTALMENT_FEN * (args.rows // args.bidders)})
            finally:
                await engine.dispose()

        asyncio.run(require_deposits())
        data = statement(bidders, args.rows)
        print(f"statement: {args.rows} rows, {len(data) / 1e6:.1f} MB, {args.bidders} bidders "
              f"paying {args.rows // args.bidders} instalments each")
        for label, expected in (("first import", "imported"), ("same file again", "already")):
            wall, cpu, imported, already = asyncio.run(timed_import(bench.url, data))
            if (imported if expected == "imported" else already) != args.rows:
                raise SystemExit(f"{label}: imported {imported}, already {already} of {args.rows}")
            print(f"{label}: {wall:.1f} s wall, {args.rows / wall:,.0f} rows/s, bench process CPU {cpu:.1f} s")
        asyncio.run(check(bench.url, args.rows, args.bidders))
    print("checks passed: one deposit per row, every registration settled, no collusion flag")
    return 0


if __name__ == "__main__":
    sys.exit(main())
