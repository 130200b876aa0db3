"""The `trading` command: migrate and demo against any PostgreSQL named by DATABASE_URL,
keys, and one-line errors with a non-zero exit."""

from __future__ import annotations

import anyio
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from cli.demo import ACCOUNTS
from tests.conftest import invoke_cli
from trading.accounts import User
from trading.database import make_engine, run_as_server_admin
from trading.organisations import Organisation


async def test_migrate_and_demo_on_an_external_database(server_url, tmp_path):
    # A plain postgresql:// URL, as an operator would give it; the driver is chosen for them.
    name = "cli_external"
    await run_as_server_admin(server_url, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    env = {"DATABASE_URL": url, "TRADING_VAR_DIR": str(tmp_path)}

    def run(*args: str):
        return invoke_cli(args, env)

    migrated = await anyio.to_thread.run_sync(run, "migrate")
    assert migrated.exit_code == 0, migrated.output
    first = await anyio.to_thread.run_sync(run, "demo")
    assert first.exit_code == 0, first.output
    assert "Demo#2026" in first.output and "supervisor" in first.output
    second = await anyio.to_thread.run_sync(run, "demo")
    assert second.exit_code == 0, second.output

    engine = make_engine(make_url(url).set(drivername="postgresql+asyncpg"))
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(select(func.count()).select_from(Organisation)) == len(demo_organisation_codes())
            assert await conn.scalar(select(func.count()).select_from(User)) == len(ACCOUNTS)
    finally:
        await engine.dispose()
        await run_as_server_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def demo_organisation_codes() -> set[str]:
    """The demo's organisations and those of the sample agencies (some are the same)."""
    import csv
    from pathlib import Path

    from cli.demo import ORGANISATIONS

    sample = Path(__file__).resolve().parents[2] / "agency_pool" / "samples" / "agencies.csv"
    rows = csv.DictReader(sample.read_text(encoding="utf-8").splitlines())
    return {code for code, _, _ in ORGANISATIONS} | {row["统一社会信用代码"] for row in rows}


async def test_keys_show_prints_the_published_verify_key(cli, settings):
    from trading.keys import load_center_keys

    result = await cli("keys", "show")
    assert result.exit_code == 0
    assert load_center_keys(settings).verify_key_hex in result.output
    assert "Ed25519" in result.output


def test_an_unreachable_database_is_one_clear_line_and_a_non_zero_exit(tmp_path):
    env = {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/nowhere", "TRADING_VAR_DIR": str(tmp_path)}
    result = invoke_cli(["migrate"], env)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误：") and "Traceback" not in result.output


def test_a_missing_configured_key_file_is_one_clear_line(tmp_path):
    env = {"TRADING_SIGNING_KEY": str(tmp_path / "absent.key"), "TRADING_VAR_DIR": str(tmp_path)}
    result = invoke_cli(["keys", "show"], env)
    assert result.exit_code == 1
    assert result.output.strip() == f"错误：找不到配置的密钥文件 {tmp_path / 'absent.key'}"
