"""``trading bid``: the bidder's sealed-bid/1 client on the command line.

Nothing here needs the database: keys, payloads and envelopes are files.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import nacl.signing

from bidding import bid_client, sealed_bid
from trading.cli_support import one_line_errors

DEFAULT_KEY_FILE = Path("bidder.key")


def _load_key(path: Path) -> nacl.signing.SigningKey:
    passphrase = None
    if sealed_bid.key_file_needs_passphrase(path):
        passphrase = click.prompt("请输入密钥口令", hide_input=True, err=True)
    return sealed_bid.load_key_file(path, passphrase)


_existing_file = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group()
def bid() -> None:
    """投标文件加密与解密 (sealed-bid/1, the bidder's side)."""


@bid.command("keygen")
@click.option("--out", "path", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_KEY_FILE,
              show_default=True, help="Key file to create (never overwritten).")
@click.option("--passphrase", is_flag=True, help="Derive the key from a passphrase (argon2id); asked twice.")
@one_line_errors
def keygen(path: Path, passphrase: bool) -> None:
    """Make a bidder identity key and print the verify key to register."""
    secret = None
    if passphrase:
        secret = click.prompt("请设置密钥口令", hide_input=True, confirmation_prompt="请再次输入口令", err=True)
    signing_key = bid_client.create_key_file(path, secret)
    click.echo(f"已生成投标人身份密钥：{path}（请妥善保管并备份，丢失后无法解密已投的标）")
    click.echo(f"验签公钥（请在本单位登记）：{signing_key.verify_key.encode().hex()}")


@bid.command("seal")
@click.argument("payload", type=click.Path(exists=True, path_type=Path))
@click.option("--tender", "tender_code", required=True, help="The tender's code, e.g. JN-2026-GC-0007.")
@click.option("--bidder", "bidder_code", required=True, help="The bidder's unified social credit code.")
@click.option("--tender-key", "tender_key", required=True, help="The tender's opening public key: hex or a file.")
@click.option("--key", "key_path", type=_existing_file, required=True, help="The bidder's key file.")
@click.option("--out", "out_prefix", type=click.Path(path_type=Path), default=None,
              help="Output prefix: writes PREFIX.sealed and PREFIX.envelope.json.")
@one_line_errors
def seal(payload: Path, tender_code: str, bidder_code: str, tender_key: str, key_path: Path,
         out_prefix: Path | None) -> None:
    """Seal a bid package (a ZIP, a JSON offer, or a directory with bid.json)."""
    from trading.identifiers import validate_credit_code

    bidder_code = validate_credit_code(bidder_code)
    tender_public_key = bid_client.read_tender_public_key(tender_key)
    sealed = bid_client.seal_bid(payload, tender_code=tender_code.strip(), bidder_code=bidder_code,
                                 tender_public_key=tender_public_key, signing_key=_load_key(key_path),
                                 out_prefix=out_prefix)
    click.echo(f"报价：{json.dumps(sealed.offer, ensure_ascii=False)}")
    click.echo("文件：" + ("、".join(sealed.documents) or "无"))
    click.echo(f"已加密：{sealed.ciphertext_path}（{sealed.envelope['ciphertext_size']} 字节）")
    click.echo(f"信封：{sealed.envelope_path}")
    click.echo(f"信封摘要（与回执核对）：{sealed.envelope_sha256}")


@bid.command("decrypt")
@click.argument("envelope", type=_existing_file)
@click.option("--key", "key_path", type=_existing_file, required=True, help="The bidder's key file.")
@one_line_errors
def decrypt(envelope: Path, key_path: Path) -> None:
    """Print the bidder's half K_b (hex) of a sealed bid, to hand in at the opening."""
    click.echo(bid_client.decrypt_bidder_half(envelope, _load_key(key_path)))


@bid.command("open")
@click.argument("envelope", type=_existing_file)
@click.argument("ciphertext", type=_existing_file)
@click.option("--tender-private-key", "tender_key_path", type=_existing_file, required=True,
              help="File with the tender's opening private key (hex).")
@click.option("--key", "key_path", type=_existing_file, required=True, help="The bidder's key file.")
@one_line_errors
def open_command(envelope: Path, ciphertext: Path, tender_key_path: Path, key_path: Path) -> None:
    """Check and open a sealed bid with both keys (testing and offline checks)."""
    opened = bid_client.open_sealed_bid(envelope, ciphertext, bid_client.read_tender_private_key(tender_key_path),
                                        _load_key(key_path))
    click.echo("信封签名、密文摘要与长度校验通过，投标文件已解密。")
    click.echo(f"报价：{json.dumps(opened.offer, ensure_ascii=False)}")
    for name, content in sorted(opened.documents.items()):
        click.echo(f"文件：{name}（{len(content)} 字节）")
