"""The ``trading`` command line.

The root group and the commands that span the packages (serve, migrate, demo, audit, draw,
keys, users); the packages' own groups live beside it in cli/ and are registered at the end.
The command line is a top layer beside web/: it may import every service package, and
names the web app only as a string for uvicorn. Every error prints one clear line and
exits non-zero.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path
from typing import Any

import click
import uvicorn
from sqlalchemy import select

from adapters.choice import chosen_adapters
from bidding.jobs import ALL_JOBS
from bidding.methods import install
from bidding.draws.partner_draws import partner_bundle
from bidding.draws.project_draws import witness_draw
from cli.agencies import agencies
from cli.award import award
from cli.bid import bid
from cli.calendar import calendar_group
from cli.credit import credit
from cli.demo import ACCOUNTS, DEMO_PASSWORD, load_demo_data
from cli.experts import experts
from cli.ledger import ledger
from cli.partners import partners
from cli.support import cli_actor, in_transaction, one_line_errors
from expert_pool.specialties import sync_specialties
from trading.accounts import User, create_user, set_user_active
from trading.audit import iter_entries, list_checkpoints, make_checkpoint, verify_audit_log
from trading.audit_chain import verify_chain
from trading.database import database_url, ensure_database_exists, make_engine, make_sessionmaker, transaction
from trading.draws import draw_bundle, get_draw
from trading.errors import DomainError, InvalidInput
from trading.jobs import JobContext, start_jobs, stop_jobs
from trading.keys import load_center_keys, load_existing_center_keys, trusted_verify_key
from trading.organisations import Organisation
from trading.partners import get_partner
from trading.pdf import pdf_problems
from trading.roles import UserRole
from trading.rules.store import sync_reference_data
from trading.sealed_draw import verify_bundle
from trading.settings import Settings, get_settings


def _prepare_database(demo: bool) -> tuple[str, bool]:
    """Start or reach the database, migrate it, load reference (and demo) data."""
    from trading.schema import upgrade_database  # Alembic: 0.3 s that only these commands need

    settings = get_settings()
    url = database_url(settings)
    if not settings.database_url:
        asyncio.run(ensure_database_exists(url))
    upgrade_database(url)
    loaded = asyncio.run(_bootstrap(url, demo))
    return url, loaded


async def _bootstrap(url: str, demo: bool) -> bool:
    settings = get_settings()
    engine = make_engine(url)
    try:
        sessions = make_sessionmaker(engine)
        async with transaction(sessions) as session:
            await sync_reference_data(session, rule_set_dir=settings.rule_set_dir)
            await sync_specialties(session)
        if not demo:
            return False
        async with transaction(sessions) as session:
            await load_demo_data(session)
        return True
    finally:
        await engine.dispose()


def _print_demo_accounts() -> None:
    click.echo("演示账号（密码均为 %s）：" % DEMO_PASSWORD)
    for account in ACCOUNTS:
        click.echo(f"  {account.username:<12} {account.role.label}  {account.display_name}")


@click.group()
def main() -> None:
    """公共资源交易平台 — public resource trading platform."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    install()  # the trading methods and the effects of their steps (bidding.methods)


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's proxy settings: X-Forwarded-For is believed only from the configured proxies
    (uvicorn's own default believes any client on 127.0.0.1, which then names any address)."""
    proxies = list(settings.trusted_proxies)
    return {"proxy_headers": bool(proxies), "forwarded_allow_ips": proxies or None}


@main.command()
@one_line_errors
def worker() -> None:
    """Run the background jobs (deadlines, opening, unsealing, outbox, checkpoints) without the web app."""
    settings = get_settings()
    chosen_adapters(settings)
    url, _ = _prepare_database(False)
    click.echo(f"后台任务已启动（{len(ALL_JOBS)} 项），按 Ctrl-C 停止")
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a service manager's stop ends as Ctrl-C does
    with suppress(KeyboardInterrupt):
        asyncio.run(_run_jobs(settings, url))
    click.echo("已停止。")


async def _run_jobs(settings: Settings, url: str) -> None:
    adapters = chosen_adapters(settings)
    engine = make_engine(url)
    context = JobContext(settings=settings, sessions=make_sessionmaker(engine), keys=load_center_keys(settings),
                         partner_gateway=adapters.partner_gateway, sender=adapters.sender)
    tasks = start_jobs(ALL_JOBS, context)
    try:
        await asyncio.gather(*tasks)
    finally:
        await stop_jobs(tasks)
        await engine.dispose()


@main.command()
@click.option("--demo/--no-demo", default=False, help="Load the demo city on first start.")
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default 8000).")
@one_line_errors
def serve(demo: bool, host: str | None, port: int | None) -> None:
    """Migrate, load reference data, and serve the portal."""
    settings = get_settings()
    chosen_adapters(settings)  # a wrong adapter setting stops here, in one line, before anything starts
    with ThreadPoolExecutor(max_workers=1) as background:
        # A trial PDF while the database is prepared: it also starts the rendering process.
        pdf_check = background.submit(asyncio.run, pdf_problems(settings.font_dir))
        _prepare_database(demo)
        problems = pdf_check.result()
    keys = load_center_keys(settings)
    host, port = host or settings.host, port or settings.port
    click.echo(f"中心验签公钥（Ed25519）：{keys.verify_key_hex}")
    if demo:
        _print_demo_accounts()
    for problem in problems:
        click.secho(f"警告：{problem}", fg="red", err=True)
    click.echo(f"门户已启动：http://{host}:{port}/   （按 Ctrl-C 停止）")
    # Live streams (web/core/live.py) never end on their own: on shutdown they get 5 s, then are cut
    # (browsers reconnect and re-read), or one watching supervisor would hold the server up forever.
    # uvicorn shuts down gracefully on SIGTERM and then raises the signal again; with the
    # default action the process would die there, before the embedded PostgreSQL is stopped
    # at exit. Taken as Ctrl-C, SIGTERM (service managers, `kill`) ends the same clean way.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    uvicorn.run("web.app:create_app", factory=True, host=host, port=port, log_level="warning",
                timeout_graceful_shutdown=5, server_header=False,  # no "server: uvicorn" banner
                **proxy_options(settings))
    click.echo("已停止。")


@main.command()
@one_line_errors
def migrate() -> None:
    """Bring the database schema to the newest version and load reference data."""
    _prepare_database(demo=False)
    click.echo("数据库已迁移到最新版本。")


@main.command()
@one_line_errors
def demo() -> None:
    """Load the demo city (once; a second run changes nothing)."""
    _prepare_database(demo=True)
    _print_demo_accounts()


@main.group()
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("verify")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Verify an exported log instead of the database.")
@click.option("--key", "key_hex", default=None,
              help="Verify key to trust (hex); default: this center's own where it exists (never made here).")
@one_line_errors
def audit_verify(path: Path | None, key_hex: str | None) -> None:
    """Recompute the chain and check the signed checkpoints; name the first bad entry."""
    key_hex = trusted_verify_key(get_settings(), key_hex)
    if path is not None:
        exported = json.loads(path.read_text())
        report = verify_chain(exported["entries"], exported["checkpoints"], key_hex)
    else:
        report = in_transaction(lambda session: verify_audit_log(session, key_hex))
    click.echo(report.describe())
    if not report.ok:
        sys.exit(2)


@audit.command("checkpoint")
@one_line_errors
def audit_checkpoint() -> None:
    """Sign the current head of the chain now."""
    keys = load_center_keys(get_settings())
    checkpoint = in_transaction(lambda session: make_checkpoint(session, keys))
    click.echo(f"已签名检查点：第 {checkpoint.seq} 条" if checkpoint else "自上个检查点以来没有新记录。")


@audit.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@one_line_errors
def audit_export(path: Path) -> None:
    """Write every entry and checkpoint to a JSON file that `audit verify --file` checks."""
    async def export(session):
        return {"entries": [entry async for entry in iter_entries(session)], "checkpoints": await list_checkpoints(session)}

    data = in_transaction(export)
    data["verify_key"] = load_center_keys(get_settings()).verify_key_hex
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1))
    click.echo(f"已导出 {len(data['entries'])} 条记录、{len(data['checkpoints'])} 个检查点到 {path}")


@main.group()
def draw() -> None:
    """Sealed random draws (sealed-draw/1)."""


def _load_bundle(source: str) -> dict[str, Any]:
    """A bundle from a URL, a file, or this center's database by draw id (with the keys
    this center already has: a verifier never makes keys)."""
    if source.startswith(("http://", "https://")):
        import httpx  # 0.15 s at every start otherwise, for the one command that fetches a URL

        try:
            answer = httpx.get(source, timeout=30, follow_redirects=True)
        except httpx.HTTPError as exc:
            raise DomainError(f"无法获取 {source}：{exc}") from None
        if answer.status_code != 200:
            raise DomainError(f"无法获取 {source}：HTTP {answer.status_code}")
        return answer.json()
    path = Path(source)
    if path.exists():
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DomainError(f"文件 {source} 不是有效的 JSON：{exc}") from None
    keys = load_existing_center_keys(get_settings())

    async def fetch(session):
        return draw_bundle(await get_draw(session, source), keys)

    return in_transaction(fetch)


@draw.command("verify")
@click.argument("source")
@click.option("--key", "key_hex", default=None,
              help="Verify key to trust (hex, e.g. from /api/keys of a center you trust); default: this center's "
                   "own where it exists. The bundle's own key is only a hint; no key is ever made here.")
@click.option("--partner", "partner_city", default=None,
              help="A partner city's code: trust its registered key (a draw made there for our committee).")
@one_line_errors
def draw_verify(source: str, key_hex: str | None, partner_city: str | None = None) -> None:
    """Check a draw from its id, a bundle file or a URL; name the first failing check."""
    if partner_city is None:  # the key to trust comes first: without one, nothing is read
        key_hex = trusted_verify_key(get_settings(), key_hex)
    if partner_city is not None:
        key_hex = in_transaction(lambda session: get_partner(session, partner_city)).verify_key
        if not source.startswith(("http://", "https://")) and not Path(source).exists():
            # A draw id: the partner's draw as kept with our committee (ids are per city).
            bundle = in_transaction(lambda session: partner_bundle(session, partner_city, source))
        else:
            bundle = _load_bundle(source)
    else:
        bundle = _load_bundle(source)
    result = verify_bundle(bundle, key_hex)
    if not result.ok:
        click.echo(f"验证失败（{result.failed_check}）：{result.message}", err=True)
        sys.exit(2)
    click.echo(result.message)
    if result.voided:
        void = bundle["void"]["record"]
        click.echo(f"作废理由：{void['reason']}")
        click.echo(f"批准作废：{void['approved_by']}" if void["approved_by"]
                   else "批准作废：无（见证值提交前由交易中心作废）")
        if void["center_seed"] is None:
            click.echo("作废时尚无见证值，抽取结果不存在，中心种子不公布")
        elif result.selected:
            click.echo(f"已公布的中心种子与承诺相符；若未作废，本次抽取将抽中：{'、'.join(result.selected)}")
            click.echo("备选：" + ("、".join(result.reserves) or "无"))
    elif result.revealed:
        click.echo("抽中：" + "、".join(result.selected))
        click.echo("备选：" + ("、".join(result.reserves) or "无"))


@draw.command("witness")
@click.argument("draw_id")
@click.option("--by", "username", required=True,
              help="The witness's account: a supervisor; for an agency draw the tendering party, or a supervisor it asked.")
@click.option("--value", default=None, help="The witness value; default: 128 random bits generated here.")
@one_line_errors
def draw_witness(draw_id: str, username: str, value: str | None) -> None:
    """Supply the witness value of a committed draw."""
    keys = load_center_keys(get_settings())
    value = value if value is not None else secrets.token_hex(16)

    async def witness(session):
        user = await session.scalar(select(User).where(User.username == username.strip().lower()))
        if user is None or user.role not in (UserRole.SUPERVISOR, UserRole.TENDERING_PARTY) or not user.is_active:
            raise DomainError(f"「{username}」不是有效的监督人员或招标人账号")
        await witness_draw(session, keys, draw_id=draw_id, value=value, user=user)

    in_transaction(witness)
    click.echo(f"已提交见证值：{value}")


@main.group()
def keys() -> None:
    """The center's keys."""


@keys.command("show")
@one_line_errors
def keys_show() -> None:
    """Print the center's public verify key."""
    info = load_center_keys(get_settings()).public_info()
    click.echo(f"签名算法：{info['algorithm']}")
    click.echo(f"验签公钥：{info['verify_key']}")
    click.echo(f"公钥标识：{info['key_id']}")


@main.group()
def users() -> None:
    """Accounts: the center creates and disables them (the portal and /api/accounts do too)."""


@users.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([role.value for role in UserRole]), help="The account's role.")
@click.option("--name", "display_name", required=True, help="Name shown in the portal.")
@click.option("--org", "credit_code", default=None, help="The organisation's credit code (parties, agencies, bidders, experts).")
@click.option("--id-number", default=None, help="Experts: the ID number that links the account to the pool.")
@click.password_option("--password", prompt="初始密码", confirmation_prompt="再次输入初始密码",
                       help="The initial password (asked for when not given).")
@one_line_errors
def users_add(username: str, role: str, display_name: str, credit_code: str | None, id_number: str | None,
              password: str) -> None:
    """Create an account."""
    async def add(session):
        organisation_id = None
        if credit_code:
            organisation_id = await session.scalar(select(Organisation.id).where(
                Organisation.credit_code == credit_code.strip().upper()))
            if organisation_id is None:
                raise InvalidInput(f"未找到单位 {credit_code}")
        return await create_user(session, actor=cli_actor(), username=username, display_name=display_name, role=role,
                                 password=password, organisation_id=organisation_id, id_number=id_number)

    user = in_transaction(add)
    click.echo(f"已创建账号 {user.username}（{UserRole(user.role).label}）")


@users.command("disable")
@click.argument("username")
@click.option("--reason", required=True, help="Why (kept in the audit log).")
@one_line_errors
def users_disable(username: str, reason: str) -> None:
    """Disable an account: its sessions and tokens end."""
    in_transaction(lambda session: set_user_active(session, actor=cli_actor(), username=username, active=False,
                                                   reason=reason))
    click.echo(f"已停用账号 {username.strip().lower()}")


@users.command("enable")
@click.argument("username")
@click.option("--reason", required=True, help="Why (kept in the audit log).")
@one_line_errors
def users_enable(username: str, reason: str) -> None:
    """Enable a disabled account again."""
    in_transaction(lambda session: set_user_active(session, actor=cli_actor(), username=username, active=True,
                                                   reason=reason))
    click.echo(f"已启用账号 {username.strip().lower()}")


for group in (agencies, experts, bid, award, credit, ledger, partners, calendar_group):
    main.add_command(group)
