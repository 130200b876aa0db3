"""What the bid benchmarks share: a throwaway embedded PostgreSQL with a migrated database,
one tender in ``bidding`` made through the services, and N admitted bidders with their
identity keys, accounts and API tokens bulk-loaded (COPY) into the very tables the services
write, and their bids sealed with sealed-bid/1.

Bulk-loaded rows (organisations, users, auth_tokens, registrations, bidder_keys) carry no
audit entry each, as the draw benchmark's experts do not: 2,000 argon2id password hashes
and 2,000 credit checks would take minutes and measure nothing of the rush. Every bidder
is admitted with no deposit asked; every account has the same password hash (never used:
the tokens are made here, stored as their SHA-256 like ``trading.accounts.issue_token``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

warnings.filterwarnings("ignore", module="platformdirs")

import nacl.signing  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bidding.bids import sealed_bid  # noqa: E402
from bidding.methods import install  # noqa: E402
from bidding.notice.announce import announce_tender  # noqa: E402
from bidding.tender.lifecycle import apply_transition  # noqa: E402
from bidding.tender.projects import register_project  # noqa: E402
from bidding.notice.documents import DocumentFile  # noqa: E402
from expert_pool.specialties import sync_specialties  # noqa: E402
from trading.database import (  # noqa: E402
    database_now,
    embedded_url,
    make_engine,
    make_sessionmaker,
    run_as_server_admin,
    start_embedded_server,
    transaction,
)
from trading.identifiers import credit_code_check_char  # noqa: E402
from trading.keys import CenterKeys, load_center_keys  # noqa: E402
from trading.organisations import register_organisation, register_region  # noqa: E402
from trading.rules.store import sync_reference_data  # noqa: E402
from trading.schema import upgrade_database  # noqa: E402
from trading.settings import Settings  # noqa: E402

# As every start-up does (web/app.py, cli/main.py): the trading methods and their steps' effects.
install()

TENDER_CODE = "JN-2026-GC-R0001"
CITY = "370800"
# Any valid argon2id hash: the bench never logs in with a password.
PASSWORD_HASH = "$argon2id$v=19$m=65536,t=2,p=1$YmVuY2hiZW5jaGJlbmNo$Zl1Kc3xGx7Ew2p1cK5pA3bq0o0m1oVq3cZz6Yq7b2kM"


def credit_code(serial: int) -> str:
    body = f"91370800MB{serial:07d}"
    return body + credit_code_check_char(body)


@dataclass(frozen=True)
class Bidder:
    index: int
    credit_code: str
    username: str
    token: str
    signing_key: nacl.signing.SigningKey


@dataclass
class Bench:
    """The throwaway server, the database, the keys' directory and the settings of the app."""

    directory: Path
    server: object
    server_url: str
    url: str
    settings: Settings
    keys: CenterKeys

    def server_env(self, port: int) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items()
               if not name.startswith("TRADING_") and name != "DATABASE_URL"}
        env.update(DATABASE_URL=self.url, TRADING_VAR_DIR=str(self.settings.var_dir), TRADING_HOST="127.0.0.1",
                   TRADING_PORT=str(port), PYTHONPATH=str(ROOT),
                   # The rush is about the bids: no periodic work during it.
                   TRADING_AUDIT_CHECKPOINT_SECONDS="86400", TRADING_CHRONOGRAPH_SECONDS="3600")
        return env


@contextmanager
def throwaway_database(name: str) -> Iterator[Bench]:
    """An embedded PostgreSQL in a temporary directory with database ``name`` migrated to head
    and the reference data loaded; everything is deleted afterwards (``var/`` is never touched)."""
    directory = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    server = start_embedded_server(directory / "pgdata", cleanup_mode="delete")
    try:
        server_url = embedded_url(server, "postgres")
        url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
        asyncio.run(run_as_server_admin(server_url, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'))
        upgrade_database(url)

        async def reference() -> None:
            engine = make_engine(url)
            try:
                async with transaction(make_sessionmaker(engine)) as session:
                    await sync_reference_data(session)
                    await sync_specialties(session)
            finally:
                await engine.dispose()

        asyncio.run(reference())
        var_dir = directory / "var"
        keys_dir = var_dir / "keys"
        settings = replace(Settings.from_env(), var_dir=var_dir, database_url=url, database_name=name,
                           signing_key_path=keys_dir / "signing.key", kek_path=keys_dir / "kek.key",
                           session_secret_path=keys_dir / "session.key")
        keys = load_center_keys(settings)  # made now; the server loads the same files
        yield Bench(directory, server, server_url, url, settings, keys)
    finally:
        server.cleanup()
        shutil.rmtree(directory, ignore_errors=True)


async def tender_with_bidders(bench: Bench, count: int) -> tuple[int, str, list[Bidder]]:
    """The tender in ``bidding`` (services) and ``count`` admitted bidders (COPY); returns
    (project id, the tender's opening public key hex, bidders)."""
    engine = make_engine(bench.url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            await register_region(session, actor="bench", code="370000", name="山东省")
            await register_region(session, actor="bench", code=CITY, name="济宁市", parent_code="370000")
            party = await register_organisation(session, actor="bench", credit_code=credit_code(0),
                                                name="济宁市第一人民医院", roles=["tendering_party"], region_code=CITY)
            project = await register_project(session, actor="bench", code=TENDER_CODE, title="济宁市基准测试道路工程",
                                             category="construction", method="open_tender", region_code=CITY,
                                             tendering_party_id=party.id, estimate_fen=86_500_000_00)
            deadline = await database_now(session) + timedelta(days=21)
            _, opening_key = await announce_tender(session, bench.keys, actor="bench", project_code=project.code,
                                                   bid_deadline=deadline, documents=DocumentFile(
                                                       "招标文件.pdf", b"%PDF-1.4 bench", "application/pdf"))
            await apply_transition(session, actor="bench", project_code=project.code, action="open_bidding")
            project_id, public_key = project.id, opening_key.public_key

        bidders = [Bidder(i, credit_code(i), f"rush{i:05d}", secrets.token_urlsafe(32), sealed_bid.make_bidder_key())
                   for i in range(1, count + 1)]
        async with engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            async with raw.transaction():
                base = await raw.fetchval("SELECT coalesce(max(id), 0) FROM organisations")
                org_ids = {b.index: base + b.index for b in bidders}
                await raw.copy_records_to_table(
                    "organisations", columns=["id", "credit_code", "name", "roles", "region_code"],
                    records=[(org_ids[b.index], b.credit_code, f"基准投标人{b.index:05d}有限公司", ["bidder"], CITY)
                             for b in bidders])
                await raw.execute("SELECT setval(pg_get_serial_sequence('organisations', 'id'), $1)", base + count)
                user_base = await raw.fetchval("SELECT coalesce(max(id), 0) FROM users")
                await raw.copy_records_to_table(
                    "users", columns=["id", "username", "display_name", "role", "organisation_id", "password_hash"],
                    records=[(user_base + b.index, b.username, f"投标人{b.index}", "bidder", org_ids[b.index],
                              PASSWORD_HASH) for b in bidders])
                await raw.execute("SELECT setval(pg_get_serial_sequence('users', 'id'), $1)", user_base + count)
                expires = await raw.fetchval("SELECT now() + interval '1 day'")
                await raw.copy_records_to_table(
                    "auth_tokens", columns=["user_id", "kind", "token_hash", "name", "expires_at"],
                    records=[(user_base + b.index, "api", hashlib.sha256(b.token.encode()).hexdigest(), "bench",
                              expires) for b in bidders])
                reasons = json.dumps({"bench": "bulk-loaded admitted bidder, no credit records"})
                await raw.copy_records_to_table(
                    "registrations", columns=["project_id", "bidder_organisation_id", "status", "reasons",
                                              "deposit_required_fen", "registered_by"],
                    records=[(project_id, org_ids[b.index], "admitted", reasons, 0, "bench") for b in bidders])
                await raw.copy_records_to_table(
                    "bidder_keys", columns=["organisation_id", "verify_key", "registered_by"],
                    records=[(org_ids[b.index], b.signing_key.verify_key.encode().hex(), "bench") for b in bidders])
            await raw.execute("ANALYZE")
    finally:
        await engine.dispose()
    return project_id, public_key, bidders


def payload_of_size(ciphertext_size: int, index: int) -> bytes:
    """A bid package (bid.json + one incompressible document) whose ciphertext is exactly
    ``ciphertext_size`` bytes (SecretBox adds a 24-byte nonce and a 16-byte MAC)."""
    target = ciphertext_size - 40
    offer = {"price_fen": 80_000_000_00 + index * 100, "duration_days": 365}
    document = os.urandom(max(0, target - 400))
    for _ in range(4):
        package = sealed_bid.make_package(offer, {"技术标.bin": document})
        if len(package) == target:
            return package
        document = document[: len(document) + target - len(package)] if len(package) > target \
            else document + os.urandom(target - len(package))
    raise SystemExit(f"could not make a package of {target} bytes")


def seal_bids(bidders: list[Bidder], public_key: str, ciphertext_size: int) -> list[tuple[bytes, dict]]:
    """Each bidder's (ciphertext, envelope) for the tender, sealed as ``trading bid seal`` does."""
    return [sealed_bid.seal(payload_of_size(ciphertext_size, b.index), TENDER_CODE, b.credit_code, public_key,
                            b.signing_key) for b in bidders]


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor() or platform.machine()
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
        cpu = model
    except (OSError, StopIteration):
        pass
    return f"nproc {os.cpu_count()}, {memory:.1f} GiB RAM, {cpu}, Python {platform.python_version()}"


def commit_id() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "bench", "bidding", "web", "trading"],
                               cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        return head + (" (with uncommitted changes in the work tree)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]
