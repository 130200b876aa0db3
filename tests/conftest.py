"""Test fixtures: one embedded PostgreSQL per test session, a fresh database per test
module (copied from a migrated template), and a rolled-back transaction per test.

``TEST_DATABASE_URL`` points the suite at an external PostgreSQL instead.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from pathlib import Path

import anyio
import nacl.secret
import nacl.signing
import nacl.utils
import pytest
from click.testing import CliRunner, Result
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.methods import install
from cli.main import main
from expert_pool.specialties import sync_specialties
from trading.database import (
    async_url,
    embedded_url,
    make_engine,
    make_sessionmaker,
    run_as_server_admin,
    start_embedded_server,
    transaction,
)
from trading.keys import CenterKeys
from trading.rules.calendar import CALENDAR_DIR, WorkingDayCalendar
from trading.rules.store import sync_reference_data
from trading.schema import upgrade_database
from trading.settings import Settings, get_settings

# As every start-up does (web/app.py, cli/main.py): the trading methods and their steps' effects.
install()

TEMPLATE = "trading_test_template"
_numbers = itertools.count(1)

# Every PDF of the tests is made as on a machine with no font at all: the rendering processes
# (trading/pdf.py, in this process and in every `trading serve` a test starts) inherit this,
# so the documents must bring their own font. The browser gets its own (CHROMIUM_FONTS).
FONTCONFIG = Path(__file__).resolve().parent / "fontconfig"
os.environ["FONTCONFIG_FILE"] = str(FONTCONFIG / "no-system-fonts.conf")


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of the session's PostgreSQL server, database part to be replaced."""
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        yield async_url(external)
        return
    # Not under pytest's rotating basetemp: a parallel pytest run may prune that.
    parent = Path(tempfile.mkdtemp(prefix="trading-test-pg-"))
    server = start_embedded_server(parent / "data", cleanup_mode="delete")
    yield embedded_url(server, "postgres")
    server.cleanup()
    shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture(scope="session")
def template_url(server_url: str) -> str:
    """A database migrated to head with the reference data, copied by every module."""
    url = make_url(server_url).set(database=TEMPLATE).render_as_string(hide_password=False)
    asyncio.run(run_as_server_admin(server_url, f'DROP DATABASE IF EXISTS "{TEMPLATE}"', f'CREATE DATABASE "{TEMPLATE}"'))
    upgrade_database(url)

    async def load_reference() -> None:
        engine = make_engine(url)
        async with transaction(make_sessionmaker(engine)) as session:
            await sync_reference_data(session)
            await sync_specialties(session)
        await engine.dispose()

    asyncio.run(load_reference())
    return url


async def create_database_from_template(server_url: str, template_url: str, hint: str) -> str:
    name = f"t{next(_numbers)}_{re.sub(r'[^a-z0-9]', '_', hint.lower())}"[:60]
    await run_as_server_admin(server_url, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    return make_url(template_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
async def database_url(server_url: str, template_url: str, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A fresh database for this test module."""
    url = await create_database_from_template(server_url, template_url, request.module.__name__.rsplit(".", 1)[-1])
    yield url
    await run_as_server_admin(server_url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


@pytest.fixture(scope="module")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session inside a transaction that is rolled back after the test.

    Service code may commit: with ``create_savepoint`` its commits end savepoints only.
    """
    async with engine.connect() as connection:
        outer = await connection.begin()
        db = AsyncSession(bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint")
        try:
            yield db
        finally:
            await db.close()
            await outer.rollback()


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Settings:
    """Settings for one module: its own var/ (keys) and its database."""
    var_dir = tmp_path_factory.mktemp("var")
    keys = var_dir / "keys"
    return Settings(
        var_dir=var_dir, database_url=database_url, database_name=make_url(database_url).database,
        signing_key_path=keys / "signing.key", kek_path=keys / "kek.key", session_secret_path=keys / "session.key",
        host="127.0.0.1", port=8000, public_url="http://127.0.0.1:8000", frontend_dir=Path(__file__).resolve().parent.parent / "node_modules",
    )


def with_settings(settings: Settings, **changes) -> Settings:
    return dataclasses.replace(settings, **changes)


def invoke_cli(args, env: dict[str, str | None]) -> Result:
    """Run ``trading`` with ``env``; settings are read afresh for the run."""
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(main, list(args), env=env)
    finally:
        get_settings.cache_clear()


@pytest.fixture
def cli(settings, database_url) -> Iterator[Callable[..., Any]]:
    """Run ``trading`` in a worker thread (it calls asyncio.run) with this module's database
    and keys; unexpected exceptions are raised, exits are returned."""
    env = {"DATABASE_URL": database_url, "TRADING_VAR_DIR": str(settings.var_dir),
           "TRADING_SIGNING_KEY": None, "TRADING_KEK": None}

    def invoke(*args: str) -> Result:
        result = invoke_cli(args, env)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    async def run(*args: str) -> Result:
        return await anyio.to_thread.run_sync(invoke, *args)

    yield run


# ---- Shared world: the demo city, the center's keys, a calendar with next year ----


@pytest.fixture(scope="module")
async def demo(engine: AsyncEngine) -> None:
    """The demo city's organisations and accounts (no pools) in this module's database."""
    from cli.demo import load_demo_data

    async with transaction(make_sessionmaker(engine)) as session:
        await load_demo_data(session, pools=False)


@pytest.fixture(scope="module")
def keys() -> CenterKeys:
    """Center keys of this module's own (modules serving pages use the server's, from settings)."""
    return CenterKeys(signing_key=nacl.signing.SigningKey.generate(), kek=nacl.utils.random(nacl.secret.SecretBox.KEY_SIZE))


@pytest.fixture
def calendar_with_next_year(tmp_path, monkeypatch) -> WorkingDayCalendar:
    """This year's calendar and a plain next year (weekends only), so that 30 working days from
    late November can be counted; the shipped data stops at 2026."""
    shutil.copy(CALENDAR_DIR / "2026.toml", tmp_path / "2026.toml")
    (tmp_path / "2027.toml").write_text('year = 2027\nsource = "测试用：仅周末休息"\nholidays = []\n', encoding="utf-8")
    calendar = WorkingDayCalendar.load(tmp_path)
    monkeypatch.setattr("bidding.tender.periods.default_calendar", lambda: calendar)
    return calendar


# ---- Browser tests: Playwright for Python driving Debian's Chromium (no browser download) ----

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# The machine's fonts and the bundled Noto Sans SC: Chinese in screenshots without a system CJK font.
CHROMIUM_FONTS = FONTCONFIG / "browser.conf"
# Screenshots of key pages, kept after the run (CI keeps this folder as the test artifacts).
SCREENSHOTS = Path(os.environ.get("TRADING_TEST_ARTIFACTS", Path(__file__).resolve().parent.parent / "var" / "test-artifacts")) / "screenshots"


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    """A headless Chromium for the whole session; the test is skipped where Chromium is absent.

    Playwright's async API: its sync API would hold a running event loop on the test thread,
    which the asyncio fixtures (the databases) need."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("浏览器测试跳过：本机没有 Chromium（Debian: apt-get install chromium）")
    from playwright.async_api import async_playwright

    from tests.common.content_policy import PolicyWatch, WatchedBrowser

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS,
                                                    env={**os.environ, "FONTCONFIG_FILE": str(CHROMIUM_FONTS)})
        yield WatchedBrowser(chromium, PolicyWatch())
        await chromium.close()


@pytest.fixture(autouse=True)
def no_content_policy_violation(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every browser test fails on any violation of the pages' Content-Security-Policy
    (tests/common/content_policy.py): the pages must really pass the policy they are served with."""
    if "browser" not in request.fixturenames:
        yield
        return
    from tests.common.content_policy import describe

    watch = request.getfixturevalue("browser").policy
    watch.take()
    yield
    violations = watch.take()
    assert not violations, "the pages broke their Content-Security-Policy:\n" + describe(violations)


@pytest.fixture(scope="module")
def portal(settings: Settings, database_url: str) -> Iterator[Any]:
    """``trading serve --demo`` for this module's database: the portal a new user sees."""
    from tests.common.live_server import LiveServer

    server = LiveServer(settings, database_url, demo=True).start()
    yield server
    server.stop()


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    """A fresh browser context (no cookies) in Simplified Chinese, with a screenshot helper:
    ``await page.shot("name")`` saves var/test-artifacts/screenshots/name.png."""
    context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = await context.new_page()

    async def shot(name: str) -> Path:
        from tests.common.portal import assert_unique_ids

        await assert_unique_ids(tab, name)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        target = SCREENSHOTS / f"{name}.png"
        await tab.screenshot(path=str(target), full_page=True)
        return target

    tab.shot = shot
    yield tab
    await context.close()


async def log_in_page(page: Any, base_url: str, username: str, password: str | None = None) -> None:
    """Sign in through the login form as a demo account (or with ``password``)."""
    from cli.demo import DEMO_PASSWORD

    await page.goto(f"{base_url}/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password or DEMO_PASSWORD)
    async with page.expect_navigation():
        await page.click("form button[type=submit]")
