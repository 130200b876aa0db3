"""``trading bid submit``, ``withdraw`` and ``rotate-key`` against the real server (``trading
serve`` in a subprocess): the bidder keygens, registers its key and itself, seals, submits,
gets a receipt it has checked against the center's key, and is told in Chinese why a
submission is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bidding.bids import sealed_bid
from bidding.bids.submission import SUBMITTED, WITHDRAWN, Bid
from bidding.tender.projects import Project
from cli.bid_token import load_token
from cli.demo import DEMO_PASSWORD, load_demo_data
from cli.main import main
from tests.common.live_server import LiveServer, free_port
from tests.common.tenders import tender_project
from trading.database import make_sessionmaker, transaction
from trading.keys import load_center_keys

LUJIAN = "91370800MA1234567Q"  # demo bidder1: no credit records, no deposit asked
HONGYUAN = "91370811MA23456788"  # demo bidder2


@pytest.fixture(scope="module")
async def tender(engine: AsyncEngine, settings) -> str:
    keys = load_center_keys(settings)  # made here first; the server loads the same files
    async with transaction(make_sessionmaker(engine)) as session:
        await load_demo_data(session, pools=False)
        project = await tender_project(session, keys, "bidding", code="JN-2026-GC-C0001", title="济宁市测试桥梁工程",
                                       estimate_fen=50_000_000_00)
    return project.code


@pytest.fixture(scope="module")
def server(tender, settings, database_url) -> Iterator[LiveServer]:
    live = LiveServer(settings, database_url).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def bidder1(server, tender, tmp_path_factory, settings) -> tuple[Path, str]:
    """bidder1's folder with its key file (registered, the center's key pinned beside it), and
    its token; bidder1 is admitted."""
    folder = tmp_path_factory.mktemp("bidder1")
    made = bid("keygen", "--out", str(folder / "bidder.key"), "--center-key", load_center_keys(settings).verify_key_hex)
    assert made.exit_code == 0, made.output
    verify_key = sealed_bid.load_key_file(folder / "bidder.key").verify_key.encode().hex()
    assert verify_key in made.output
    token = server.token("bidder1", DEMO_PASSWORD)
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.post(f"{server.url}/api/projects/{tender}/bidder-key", json={"verify_key": verify_key},
                      headers=headers).status_code == 201
    assert httpx.post(f"{server.url}/api/projects/{tender}/registrations", headers=headers).status_code == 201
    return folder, token


@pytest.fixture(autouse=True)
def own_token_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`trading bid login` saves its token: here, never in the tester's home."""
    path = tmp_path / "saved-token.json"
    monkeypatch.setenv("TRADING_TOKEN_FILE", str(path))
    return path


def bid(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["bid", *args], env=env or {}, input=input, catch_exceptions=False)


def sealed_in(folder: Path, server: LiveServer, tender: str, price_fen: int, name: str) -> Path:
    """Sealed by `trading bid seal`, which fetches the signed opening key record from the server
    and checks it with the center key pinned beside the key file."""
    (folder / f"{name}.json").write_text(json.dumps({"price_fen": price_fen, "duration_days": 200}))
    result = bid("seal", str(folder / f"{name}.json"), "--tender", tender, "--bidder", LUJIAN,
                 "--server", server.url, "--key", str(folder / "bidder.key"))
    assert result.exit_code == 0, result.output
    assert "开标公钥记录已用交易中心验签公钥" in result.output
    return folder / f"{name}.envelope.json"


def error_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误："), result.output
    return lines[0]


async def test_a_bidder_submits_from_the_command_line_and_keeps_a_verified_receipt(
        server, tender, bidder1, engine, settings):
    tmp_path, token = bidder1
    envelope_path = sealed_in(tmp_path, server, tender, 48_800_000_00, "offer")
    env = {"TRADING_SERVER": server.url, "TRADING_TOKEN": token}
    submitted = bid("submit", str(envelope_path), env=env)
    assert submitted.exit_code == 0, submitted.output
    assert "投标文件已递交" in submitted.output and "核验通过" in submitted.output

    stored = json.loads((tmp_path / "offer.receipt.json").read_text(encoding="utf-8"))
    center_key = load_center_keys(settings).verify_key_hex
    assert stored["center_verify_key"] == center_key
    envelope = json.loads(envelope_path.read_text(encoding="utf-8"))
    sealed_bid.verify_receipt(stored["receipt"], stored["signature"], center_key, envelope)
    # Revision 2: a /2 receipt, no count, and nothing of the order in what the bidder is told.
    assert stored["receipt"]["protocol"] == "sealed-bid-receipt/2" and "sequence" not in stored["receipt"]
    assert stored["receipt"]["envelope_sha256"] in submitted.output and "序号" not in submitted.output
    async with engine.connect() as conn:
        row = (await conn.execute(select(Bid.ciphertext, Bid.status).where(
            Bid.envelope_sha256 == stored["receipt"]["envelope_sha256"]))).one()
    assert row.ciphertext == (tmp_path / "offer.sealed").read_bytes() and row.status == SUBMITTED

    # Sending the same envelope again (a broken connection) gives back the same receipt,
    # checked against a pinned center key this time.
    again = bid("submit", str(envelope_path), "--center-key", center_key, env=env)
    assert again.exit_code == 0, again.output
    assert json.loads((tmp_path / "offer.receipt.json").read_text())["signature"] == stored["signature"]
    # A bid receipted before revision 2 keeps its sealed-bid-receipt/1 (with its sequence): the
    # retry answers it, and the command line still verifies it.
    center = load_center_keys(settings)
    old = stored["receipt"] | {"protocol": "sealed-bid-receipt/1", "sequence": 1}
    async with transaction(make_sessionmaker(engine)) as session:
        await session.execute(update(Bid).where(Bid.envelope_sha256 == old["envelope_sha256"]).values(
            receipt=old, receipt_signature=center.sign(old)))
    legacy = bid("submit", str(envelope_path), "--center-key", center_key, env=env)
    assert legacy.exit_code == 0 and "核验通过" in legacy.output, legacy.output
    assert json.loads((tmp_path / "offer.receipt.json").read_text())["receipt"] == old
    # A receipt that does not verify under the key the bidder trusts is not taken for one.
    impostor = sealed_bid.make_bidder_key().verify_key.encode().hex()
    assert "回执校验未通过" in error_line(bid("submit", str(envelope_path), "--center-key", impostor, env=env))

    # A new sealing supersedes; then the bidder withdraws it with a signed request.
    second_path = sealed_in(tmp_path, server, tender, 47_000_000_00, "offer2")
    superseding = bid("submit", str(second_path), env=env)
    assert superseding.exit_code == 0 and "已被本次递交替换" in superseding.output, superseding.output
    withdrawn = bid("withdraw", str(second_path), "--key", str(tmp_path / "bidder.key"), env=env)
    assert withdrawn.exit_code == 0, withdrawn.output
    answer = json.loads((tmp_path / "offer2.withdrawal.json").read_text(encoding="utf-8"))
    assert answer["receipt"]["protocol"] == "sealed-bid-withdraw-receipt/1"
    async with engine.connect() as conn:
        statuses = (await conn.execute(select(Bid.sequence, Bid.status).join(Project, Project.id == Bid.project_id)
                                       .where(Project.code == tender).order_by(Bid.sequence))).all()
    assert [status for _, status in statuses] == ["superseded", WITHDRAWN]
    assert "已撤回" in error_line(bid("withdraw", str(second_path), "--key", str(tmp_path / "bidder.key"), env=env))


async def test_refusals_are_told_in_chinese(server, tender, bidder1, engine):
    tmp_path, token = bidder1
    envelope_path = sealed_in(tmp_path, server, tender, 1_000_00, "refused")

    # The server's record checked with a key that is not the center's: nothing is sealed.
    impostor = sealed_bid.make_bidder_key().verify_key.encode().hex()
    seal_args = ("seal", str(tmp_path / "refused.json"), "--bidder", LUJIAN, "--server", server.url,
                 "--key", str(tmp_path / "bidder.key"), "--out", str(tmp_path / "never"))
    assert "签名无法用已固定的交易中心验签公钥核验" in error_line(
        bid(*seal_args, "--tender", tender, "--center-key", impostor))
    assert "未找到项目" in error_line(bid(*seal_args, "--tender", "JN-2026-GC-NONE"))
    assert not (tmp_path / "never.sealed").exists()

    assert "缺少访问令牌" in error_line(bid("submit", str(envelope_path), env={"TRADING_SERVER": server.url}))
    bad_token = {"TRADING_SERVER": server.url, "TRADING_TOKEN": "not-a-token"}
    assert "访问令牌无效或已过期" in error_line(bid("submit", str(envelope_path), env=bad_token))
    supervisor = {"TRADING_SERVER": server.url, "TRADING_TOKEN": server.token("supervisor", DEMO_PASSWORD)}
    assert "无权" in error_line(bid("submit", str(envelope_path), env=supervisor))
    nowhere = {"TRADING_SERVER": f"http://127.0.0.1:{free_port()}", "TRADING_TOKEN": "x"}
    assert "无法连接服务器" in error_line(bid("submit", str(envelope_path), env=nowhere))

    # bidder2's envelope names bidder1's code: signed by a key nobody registered, for the wrong bidder.
    bidder2 = {"TRADING_SERVER": server.url, "TRADING_TOKEN": server.token("bidder2", DEMO_PASSWORD)}
    refused = error_line(bid("submit", str(envelope_path), env=bidder2))
    assert "服务器拒绝" in refused and ("身份公钥" in refused or "投标人" in refused), refused

    bidder1 = {"TRADING_SERVER": server.url, "TRADING_TOKEN": token}
    tampered = tmp_path / "refused.sealed"
    tampered.write_bytes(tampered.read_bytes()[:-1] + b"\0")
    assert "与信封" in error_line(bid("submit", str(envelope_path), env=bidder1))  # caught before uploading

    # After the deadline (database clock) the server refuses, and the bidder is told so.
    async with transaction(make_sessionmaker(engine)) as session:
        await session.execute(update(Project).where(Project.code == tender).values(
            bid_deadline=func.clock_timestamp() - timedelta(seconds=1)))
    late_path = sealed_in(tmp_path, server, tender, 2_000_00, "late")
    late = error_line(bid("submit", str(late_path), env=bidder1))
    assert "after_bid_deadline" in late and "投标截止时间" in late and "已过" in late, late
    assert not (tmp_path / "late.receipt.json").exists()


async def test_a_bidder_logs_in_from_the_command_line_and_the_token_works(server, tender):
    wrong = bid("login", "--username", "bidder1", "--password", "not-it", "--server", server.url)
    assert "用户名或密码错误" in error_line(wrong)
    logged_in = bid("login", "--username", "bidder1", "--server", server.url, input=f"{DEMO_PASSWORD}\n")
    assert logged_in.exit_code == 0, logged_in.output
    line = next(line for line in logged_in.output.splitlines() if line.startswith("export TRADING_TOKEN="))
    token = line.split("=", 1)[1]
    me = httpx.get(f"{server.url}/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["username"] == "bidder1"


def rewrite_saved_token(path: Path, **changes: datetime) -> None:
    record = json.loads(path.read_text(encoding="utf-8"))
    record.update({name: moment.isoformat() for name, moment in changes.items()})
    path.write_text(json.dumps(record), encoding="utf-8")


async def test_the_commands_use_the_saved_token_and_renew_it_before_it_expires(server, tender, tmp_path):
    """Issue 14: tokens live hours, not 90 days; the command line renews the token `login` saved
    when little of its lifetime is left, and otherwise says clearly to log in again."""
    token_file = tmp_path / "token.json"
    logged_in = bid("login", "--username", "bidder2", "--server", server.url, "--token-file", str(token_file),
                    input=f"{DEMO_PASSWORD}\n")
    assert logged_in.exit_code == 0, logged_in.output
    assert "令牌已保存到" in logged_in.output and "自动更新" in logged_in.output
    assert token_file.stat().st_mode & 0o777 == 0o600
    first = load_token(token_file)
    assert timedelta(hours=23) < first.expires_at - datetime.now(UTC) <= timedelta(hours=24)
    for name in ("a.key", "b.key"):
        assert bid("keygen", "--out", str(tmp_path / name)).exit_code == 0
    rotate = ("rotate-key", "--key", str(tmp_path / "a.key"), "--new-key", str(tmp_path / "b.key"),
              "--token-file", str(token_file))

    # As if saved 30 days before its expiry: less than a quarter of its life is left.
    rewrite_saved_token(token_file, saved_at=first.expires_at - timedelta(days=30))
    refused = error_line(bid(*rotate, "--server", server.url))
    # Refused for the key, after the server answered with the account's key: the token was taken.
    assert "本单位现用的身份密钥" in refused and "令牌" not in refused, refused
    renewed = load_token(token_file)
    assert renewed.token != first.token and renewed.expires_at >= first.expires_at
    me = [httpx.get(f"{server.url}/api/me", headers={"Authorization": f"Bearer {token}"}).status_code
          for token in (first.token, renewed.token)]
    assert me == [401, 200]

    # A token saved for one server is never sent to another.
    assert "缺少访问令牌" in error_line(bid(*rotate, "--server", f"http://127.0.0.1:{free_port()}"))
    # An expired one is not sent either: the bidder is told to log in again.
    rewrite_saved_token(token_file, expires_at=datetime.now(UTC) - timedelta(minutes=1))
    expired = error_line(bid(*rotate, "--server", server.url))
    assert "保存的访问令牌已于" in expired and "请重新执行 `trading bid login` 登录" in expired


async def test_a_bidder_rotates_its_key_from_the_command_line_signing_with_the_old_key_file(server, tmp_path):
    for name in ("old.key", "new.key", "stranger.key"):
        assert bid("keygen", "--out", str(tmp_path / name)).exit_code == 0
    old, new = (sealed_bid.load_key_file(tmp_path / name).verify_key.encode().hex() for name in ("old.key", "new.key"))
    token = server.token("bidder3", DEMO_PASSWORD)
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.post(f"{server.url}/api/bidder-keys", json={"verify_key": old}, headers=headers).status_code == 201
    env = {"TRADING_SERVER": server.url, "TRADING_TOKEN": token}

    # A key file that is not the organisation's current key cannot sign the rotation.
    refused = error_line(bid("rotate-key", "--key", str(tmp_path / "stranger.key"), "--new-key",
                             str(tmp_path / "new.key"), env=env))
    assert "不是本单位现用的身份密钥" in refused
    rotated = bid("rotate-key", "--key", str(tmp_path / "old.key"), "--new-key", str(tmp_path / "new.key"), env=env)
    assert rotated.exit_code == 0, rotated.output
    assert new in rotated.output and "old.key" in rotated.output  # told to keep the old key file
    mine = httpx.get(f"{server.url}/api/bidder-keys/mine", headers=headers).json()
    assert (mine["current"]["verify_key"], mine["current"]["how"]) == (new, "rotated")
    assert [key["verify_key"] for key in mine["history"]] == [new, old]
    # The old key file no longer signs anything: the server names it as not current.
    again = error_line(bid("rotate-key", "--key", str(tmp_path / "old.key"), "--new-key",
                           str(tmp_path / "stranger.key"), env=env))
    assert "不是本单位现用的身份密钥" in again
