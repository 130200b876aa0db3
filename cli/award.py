"""``trading award``: check an award notice PDF against the center's signature.

``trading award verify FILE`` needs no network: the signed bundle comes from a file
(``--bundle``, or ``FILE.sig.json`` / ``FILE.json`` beside the PDF) and the center's public
key from ``--key`` (default: this center's own where it exists; none is ever made here, and
with no key to trust it refuses). Only without a bundle file does it look the notice up in
this center's database, by ``--number`` or by the PDF's SHA-256.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from bidding.award.award_notice import award_notice_bundle, award_notice_by_pdf, get_award_notice
from bidding.award.verification import verify_award_notice
from cli.support import in_transaction, one_line_errors
from trading.canonical import sha256_hex
from trading.errors import DomainError, NotFound
from trading.keys import trusted_verify_key
from trading.settings import get_settings


@click.group()
def award() -> None:
    """中标通知书 (award notices)."""


def _bundle_file(pdf_path: Path, given: Path | None) -> Path | None:
    if given is not None:
        return given
    for candidate in (pdf_path.with_name(pdf_path.name + ".sig.json"), pdf_path.with_suffix(".json")):
        if candidate.exists():
            return candidate
    return None


def _read_bundle(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DomainError(f"签名数据文件 {path} 无法读取：{exc}") from None
    # The API's answer holds the bundle under "bundle"; a bare bundle is accepted too.
    return data.get("bundle", data) if isinstance(data, dict) else data


def _bundle_from_database(pdf: bytes, number: str | None) -> dict[str, Any]:
    async def fetch(session):
        notice = await get_award_notice(session, number) if number else await award_notice_by_pdf(session, sha256_hex(pdf))
        if notice is None:
            raise NotFound("本中心未签发与该文件相符的中标通知书（文件可能被改动）；可用 --number 指定通知书编号核对")
        return award_notice_bundle(notice)

    return in_transaction(fetch)


@award.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--bundle", "bundle_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The signed bundle (JSON from /api/award-notices/<number>).")
@click.option("--number", default=None, help="Look the notice up by number in this center's database.")
@click.option("--key", "key_hex", default=None,
              help="Verify key to trust (hex, e.g. from /api/keys of a center you trust); default: this center's own "
                   "where it exists. No key is ever made here.")
@one_line_errors
def award_verify(path: Path, bundle_path: Path | None, number: str | None, key_hex: str | None) -> None:
    """Check an award notice PDF against the center's signature; exit 2 when it does not match."""
    key_hex = trusted_verify_key(get_settings(), key_hex)  # first: without a key to trust, nothing is read
    pdf = path.read_bytes()
    source = _bundle_file(path, bundle_path)
    bundle = _read_bundle(source) if source is not None else _bundle_from_database(pdf, number)
    result = verify_award_notice(pdf, bundle, key_hex)
    if not result.ok:
        click.echo(f"验证失败（{result.failed_check}）：{result.message}", err=True)
        sys.exit(2)
    record = bundle["record"]
    click.echo(result.message)
    click.echo(f"项目：{record['project_title']}（{record['project_code']}）")
    click.echo(f"中标人：{record['winner']['name']}（{record['winner']['credit_code']}）")
    click.echo(f"中标价（分）：{record['price_fen']}")
