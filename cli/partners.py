"""``trading partners``: the partner-city registry from the command line (异地抽取)."""

from __future__ import annotations

import click

from cli.support import cli_actor, in_transaction, one_line_errors
from trading.keys import load_center_keys
from trading.partners import add_partner, disable_partner, list_partners, own_city
from trading.settings import get_settings


@click.group()
def partners() -> None:
    """合作城市 (partner cities sharing evaluation experts, docs/federation.md)."""


@partners.command("add")
@click.argument("city_code")
@click.option("--name", required=True, help="The partner city's name, e.g. 济南市.")
@click.option("--url", "base_url", required=True, help="Base URL of the partner's platform.")
@click.option("--verify-key", required=True, help="The partner center's Ed25519 verify key (64 hex).")
@click.option("--exchange-key", required=True, help="The partner center's X25519 public key (64 hex).")
@one_line_errors
def partners_add(city_code: str, name: str, base_url: str, verify_key: str, exchange_key: str) -> None:
    """Register a partner city (its keys come from its GET /api/federation/city, checked out of band)."""
    partner = in_transaction(lambda session: add_partner(
        session, actor=cli_actor(), city_code=city_code, name=name, base_url=base_url, verify_key=verify_key,
        exchange_key=exchange_key, own_city_code=get_settings().city_code))
    click.echo(f"已登记合作城市 {partner.city_code} {partner.name}（{partner.base_url}）")


@partners.command("list")
@one_line_errors
def partners_list() -> None:
    """Every partner city with its status and keys; this center's own entry first."""
    own = own_city(get_settings(), load_center_keys(get_settings()))
    click.echo(f"本中心：{own['city_code']} {own['name']} {own['base_url']}")
    click.echo(f"  验签公钥 {own['verify_key']}")
    click.echo(f"  加密公钥 {own['exchange_key']}")
    found = in_transaction(list_partners)
    if not found:
        click.echo("尚未登记合作城市。")
    for partner in found:
        click.echo(f"{partner.city_code} {partner.name} {partner.base_url} [{partner.status_name}]")
        click.echo(f"  验签公钥 {partner.verify_key}")
        click.echo(f"  加密公钥 {partner.exchange_key}")


@partners.command("disable")
@click.argument("city_code")
@click.option("--reason", required=True, help="Why (kept in the audit log).")
@one_line_errors
def partners_disable(city_code: str, reason: str) -> None:
    """Disable a partner city: its requests are refused from now on."""
    partner = in_transaction(lambda session: disable_partner(session, actor=cli_actor(), city_code=city_code,
                                                             reason=reason))
    click.echo(f"已停用合作城市 {partner.city_code} {partner.name}")
