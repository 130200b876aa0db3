"""``trading bid``: the bidder's sealed-bid/1 client on the command line.

Nothing here needs the database: keys, payloads and envelopes are files; `submit` and
`withdraw` talk to the platform's bid API (cli.bid_api), and `seal` reads the
tender's signed opening key record from it (or from a saved file) and seals only once the
record verifies with the center key pinned beforehand (`--center-key`, or
`pin-center-key`'s file beside the key file).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
import nacl.signing

from bidding.bids import packaging as bid_client

from bidding.bids import sealed_bid
from cli.support import one_line_errors
from trading.errors import InvalidInput
from trading.identifiers import validate_credit_code
from trading.keys import key_id
from trading.timefmt import local_time

if TYPE_CHECKING:
    from cli.bid_api import BidApi

DEFAULT_KEY_FILE = Path("bidder.key")
DEFAULT_SERVER = "http://127.0.0.1:8000"


def _load_key(path: Path, what: str = "密钥") -> nacl.signing.SigningKey:
    passphrase = None
    if sealed_bid.key_file_needs_passphrase(path):
        passphrase = click.prompt(f"请输入{what}口令", hide_input=True, err=True)
    return sealed_bid.load_key_file(path, passphrase)


_existing_file = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group()
def bid() -> None:
    """投标文件加密、递交与解密 (sealed-bid/1, the bidder's side)."""


@bid.command("keygen")
@click.option("--out", "path", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_KEY_FILE,
              show_default=True, help="Key file to create (never overwritten).")
@click.option("--passphrase", is_flag=True, help="Derive the key from a passphrase (argon2id); asked twice.")
@click.option("--center-key", "center_key", default=None,
              help="The center's verify key (hex) as the center publishes it: pinned beside the key file "
                   "(see pin-center-key).")
@one_line_errors
def keygen(path: Path, passphrase: bool, center_key: str | None) -> None:
    """Make a bidder identity key and print the verify key to register."""
    if center_key is not None:
        center_key = bid_client.check_center_key(center_key)  # before any key is made
    secret = None
    if passphrase:
        secret = click.prompt("请设置密钥口令", hide_input=True, confirmation_prompt="请再次输入口令", err=True)
    signing_key = bid_client.create_key_file(path, secret)
    click.echo(f"已生成投标人身份密钥：{path}（请妥善保管并备份，丢失后无法解密已投的标）")
    click.echo(f"验签公钥（请在本单位登记）：{signing_key.verify_key.encode().hex()}")
    if center_key is not None:
        _echo_pinned(bid_client.pin_center_key(path, center_key), center_key)


def _echo_pinned(pin_path: Path, center_key: str) -> None:
    click.echo(f"已固定交易中心验签公钥（指纹 {key_id(center_key)}）：{pin_path}")
    click.echo("请与交易中心公布的验签公钥指纹核对；此后加密投标前用它核验开标公钥记录。")


@bid.command("pin-center-key")
@click.argument("verify_key")
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_KEY_FILE,
              show_default=True, help="The bidder's key file; the pin is kept beside it as KEYFILE.center-key.")
@click.option("--replace", is_flag=True, help="Replace a different key pinned before (the center announced a new one).")
@one_line_errors
def pin_center_key(verify_key: str, key_path: Path, replace: bool) -> None:
    """Pin the center's verify key (hex, as the center publishes it) for checking opening key records."""
    verify_key = bid_client.check_center_key(verify_key)
    _echo_pinned(bid_client.pin_center_key(key_path, verify_key, replace=replace), verify_key)


@bid.command("seal")
@click.argument("payload", type=click.Path(exists=True, path_type=Path))
@click.option("--tender", "tender_code", required=True, help="The tender's code, e.g. JN-2026-GC-0007.")
@click.option("--bidder", "bidder_code", required=True, help="The bidder's unified social credit code.")
@click.option("--key", "key_path", type=_existing_file, required=True, help="The bidder's key file.")
@click.option("--opening-key", "opening_key_path", type=_existing_file, default=None,
              help="The tender's signed opening key record, saved from GET /api/projects/{code}/opening-key; "
                   "default: fetched from --server.")
@click.option("--server", envvar="TRADING_SERVER", default=DEFAULT_SERVER, show_default=True,
              help="The platform's address, to fetch the opening key record from (env TRADING_SERVER).")
@click.option("--center-key", "center_key", default=None, envvar="TRADING_CENTER_KEY",
              help="The center's verify key (hex), pinned beforehand, to check the record with (env "
                   "TRADING_CENTER_KEY); default: KEYFILE.center-key written by pin-center-key.")
@click.option("--tender-key", "tender_key", default=None, hidden=True)  # before revision 2: refused
@click.option("--out", "out_prefix", type=click.Path(path_type=Path), default=None,
              help="Output prefix: writes PREFIX.sealed and PREFIX.envelope.json.")
@one_line_errors
def seal(payload: Path, tender_code: str, bidder_code: str, key_path: Path, opening_key_path: Path | None,
         server: str, center_key: str | None, tender_key: str | None, out_prefix: Path | None) -> None:
    """Seal a bid package (a ZIP, a JSON offer, or a directory with bid.json) to the tender's
    opening key, once its center-signed record verifies with the pinned center key."""
    if tender_key is not None:
        raise InvalidInput("不再接受 --tender-key：开标公钥须附交易中心签名的开标公钥记录并经核验后才能使用；请改用 "
                           "--opening-key（保存的开标公钥记录）或 --server（从平台获取），并用 --center-key 或 "
                           "`trading bid pin-center-key` 固定的交易中心验签公钥核验")
    bidder_code = validate_credit_code(bidder_code)
    tender_code = tender_code.strip()
    trusted = bid_client.pinned_center_key(center_key, key_path)
    if opening_key_path is not None:
        answer = bid_client.read_opening_key_answer(opening_key_path)
    else:
        with _bid_api(server, None) as api:
            answer = api.opening_key(tender_code)
    tender_public_key = bid_client.tender_key_from_record(answer, trusted, tender_code)
    sealed = bid_client.seal_bid(payload, tender_code=tender_code, bidder_code=bidder_code,
                                 tender_public_key=tender_public_key, signing_key=_load_key(key_path),
                                 out_prefix=out_prefix)
    click.echo(f"开标公钥记录已用交易中心验签公钥（指纹 {key_id(trusted)}）核验通过：{tender_public_key.encode().hex()}")
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


# --------------------------------------------------------------------------- over the API


def _bid_api(server: str, token: str | None) -> BidApi:
    # httpx would cost every `trading` command 0.15 s at start; only these few talk to a server.
    from cli.bid_api import BidApi

    return BidApi(server, token)


def _token_file(path: Path | None) -> Path:
    return path or Path(click.get_app_dir("trading")) / "token.json"


def _token(token: str | None, token_file: Path | None, server: str) -> str:
    """--token / TRADING_TOKEN as given, else the token `login` saved for this server (renewed when due)."""
    if token:
        return token
    from cli.bid_token import saved_token_for  # it renews over HTTP: see _bid_api

    return saved_token_for(_token_file(token_file), server) or ""


_token_file_option = click.option(
    "--token-file", "token_file", type=click.Path(dir_okay=False, path_type=Path), envvar="TRADING_TOKEN_FILE",
    default=None, help="Where `login` keeps the token, used when no --token is given and renewed before it "
                       "expires (env TRADING_TOKEN_FILE; default: token.json in the user's trading folder).")


def _server_options(command):
    command = _token_file_option(command)
    command = click.option("--center-key", "center_key", default=None, envvar="TRADING_CENTER_KEY",
                           help="The center's verify key (hex) to check receipts against; default: fetched "
                                "from the server's /api/keys (env TRADING_CENTER_KEY).")(command)
    command = click.option("--token", envvar="TRADING_TOKEN", default=None,
                           help="Bearer token of the bidder's account (env TRADING_TOKEN).")(command)
    command = click.option("--server", envvar="TRADING_SERVER", default=DEFAULT_SERVER, show_default=True,
                           help="The platform's address (env TRADING_SERVER).")(command)
    return command


@bid.command("login")
@click.option("--username", prompt="用户名", help="The bidder's account.")
@click.password_option("--password", prompt="密码", confirmation_prompt=False, help="Asked for when not given.")
@click.option("--server", envvar="TRADING_SERVER", default=DEFAULT_SERVER, show_default=True,
              help="The platform's address (env TRADING_SERVER).")
@_token_file_option
@one_line_errors
def login(username: str, password: str, server: str, token_file: Path | None) -> None:
    """Get an API token for the bidder's account and save it for the other commands (they renew it
    before it expires); also prints the line that puts it in TRADING_TOKEN, for scripts."""
    from cli.bid_token import save_token  # it renews over HTTP: see _bid_api

    with _bid_api(server, None) as api:
        answer = api.log_in(username, password)
    saved = save_token(_token_file(token_file), server, answer)
    click.echo(f"已登录 {server}，令牌有效期至 {local_time(saved.expires_at)}（北京时间）。", err=True)
    click.echo(f"令牌已保存到 {_token_file(token_file)}：未设置 TRADING_TOKEN 时，submit、withdraw、rotate-key "
               f"自动使用它，并在到期前自动更新。", err=True)
    click.echo("如需在脚本中使用，可执行下面一行（令牌到期后须重新登录）：", err=True)
    click.echo(f"export TRADING_TOKEN={answer['token']}")


@bid.command("submit")
@click.argument("envelope", type=_existing_file)
@click.option("--ciphertext", "ciphertext_path", type=_existing_file, default=None,
              help="The ciphertext file; default: PREFIX.sealed beside PREFIX.envelope.json.")
@_server_options
@one_line_errors
def submit(envelope: Path, ciphertext_path: Path | None, server: str, token: str | None,
           center_key: str | None, token_file: Path | None) -> None:
    """Submit a sealed bid to the platform; verify and keep the center's signed receipt.

    Sending the same envelope again is safe: before the deadline, while it is the current
    bid, the server answers its stored receipt (use it when the connection broke after sending).
    """
    with _bid_api(server, _token(token, token_file, server)) as api:
        submitted = api.submit(envelope, ciphertext_path, center_verify_key=center_key)
    receipt = submitted.receipt
    click.echo(f"投标文件已递交：项目 {receipt['tender_code']}，投标人 {receipt['bidder_code']}")
    click.echo(f"接收时间：{local_time(datetime.fromisoformat(receipt['received_at']), '%Y-%m-%d %H:%M:%S')}")
    click.echo(f"信封摘要：{receipt['envelope_sha256']}")
    click.echo(f"回执签名已用中心公钥 {submitted.center_verify_key} 核验通过")
    if submitted.superseded:
        click.echo("此前递交的投标文件已被本次递交替换。")
    click.echo(f"回执：{submitted.receipt_path}")


@bid.command("withdraw")
@click.argument("envelope", type=_existing_file)
@click.option("--key", "key_path", type=_existing_file, required=True, help="The bidder's key file.")
@_server_options
@one_line_errors
def withdraw(envelope: Path, key_path: Path, server: str, token: str | None, center_key: str | None,
             token_file: Path | None) -> None:
    """Withdraw the current bid of an envelope before the deadline (a request signed with the key)."""
    signing_key = _load_key(key_path)
    with _bid_api(server, _token(token, token_file, server)) as api:
        withdrawn = api.withdraw(envelope, signing_key, center_verify_key=center_key)
    click.echo(f"投标文件已撤回：项目 {withdrawn.receipt['tender_code']}，撤回时间 {withdrawn.receipt['withdrawn_at']}")
    click.echo(f"撤回回执签名已用中心公钥 {withdrawn.center_verify_key} 核验通过")
    click.echo(f"撤回回执：{withdrawn.receipt_path}")


@bid.command("rotate-key")
@click.option("--key", "key_path", type=_existing_file, required=True,
              help="The organisation's CURRENT key file: it signs the rotation request.")
@click.option("--new-key", "new_key_path", type=_existing_file, required=True,
              help="The new key file (made with `trading bid keygen`): its verify key becomes current.")
@_server_options
@one_line_errors
def rotate_key(key_path: Path, new_key_path: Path, server: str, token: str | None, center_key: str | None,
               token_file: Path | None) -> None:
    """Replace the organisation's identity key: a sealed-bid-key-rotation/1 request signed by the current key.

    Bids already submitted keep the key they were sealed with: keep the old key file to
    withdraw them or hand in K_b at their opening.
    """
    old_key, new_key = _load_key(key_path, "现用密钥"), _load_key(new_key_path, "新密钥")
    with _bid_api(server, _token(token, token_file, server)) as api:
        answer = api.rotate_key(old_key, new_key)
    click.echo(f"身份密钥已更换：单位 {answer['bidder_credit_code']} 的现用公钥为 {answer['verify_key']}"
               f"（指纹 {answer['key_id']}）")
    click.echo(f"请用 {new_key_path} 加密此后的投标；更换前递交的投标，撤回和开标解密仍须用 {key_path}，请继续保管。")
