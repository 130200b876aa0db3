"""Draws over HTTP and on the command line: bundles, witness, verification page, sheet."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import AsyncIterator

import anyio
import pytest
import uvicorn
from sqlalchemy import text
from litestar.testing import AsyncTestClient
from pypdf import PdfReader

from cli.demo import load_demo_data
from tests.common.pdfs import assert_only_the_bundled_font
from tests.conftest import invoke_cli
from tests.common.portal import bearer, log_in
from trading.database import make_sessionmaker, transaction
from trading.draws import commit_draw, reveal_draw, supply_witness
from trading.keys import load_center_keys
from web.app import create_app

POOL = [f"EXP{i:04d}" for i in range(1, 16)]


@pytest.fixture(scope="module")
def keys(settings):
    return load_center_keys(settings)


@pytest.fixture(scope="module")
async def client(settings, database_url, engine) -> AsyncIterator[AsyncTestClient]:
    async with transaction(make_sessionmaker(engine)) as session:
        await load_demo_data(session)
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as client:
        yield client


async def new_draw(engine, keys, *, reveal: bool = False, witness: str | None = None) -> str:
    async with transaction(make_sessionmaker(engine)) as session:
        draw = await commit_draw(session, keys, actor="test", purpose="expert", project_code="JN-2026-GC-0007",
                                 criteria={"specialties": ["A08"]}, pool=POOL, count=5, reserve_count=2,
                                 witness_required=True, unseal_at=await session.scalar(text("SELECT now()")))
        if witness or reveal:
            await supply_witness(session, keys, draw.draw_id, value=witness or "w-1", by="test")
        if reveal:
            await reveal_draw(session, keys, draw.draw_id, actor="test")
        return draw.draw_id


async def test_the_bundle_shows_no_selection_before_the_reveal(client, engine, keys):
    draw_id = await new_draw(engine, keys, witness="w")
    bundle = (await client.get(f"/api/draws/{draw_id}")).json()
    assert bundle["reveal"] is None and bundle["pool"] is None
    assert bundle["verify_key"] == keys.verify_key_hex
    assert not any(code in json.dumps(bundle) for code in POOL)


async def test_only_a_supervisor_supplies_an_expert_draws_witness(client, engine, keys):
    draw_id = await new_draw(engine, keys)
    assert (await client.post(f"/api/draws/{draw_id}/witness", json={"value": "x"})).status_code == 401
    refused = await client.post(f"/api/draws/{draw_id}/witness", json={"value": "x"}, headers=await bearer(client, "admin"))
    assert refused.status_code == 403
    party = await client.post(f"/api/draws/{draw_id}/witness", json={"value": "x"}, headers=await bearer(client, "tenderer"))
    assert party.status_code == 403 and "监督人员" in party.json()["error"]["message"]
    answer = await client.post(f"/api/draws/{draw_id}/witness", json={"value": "监督员现场输入 4711"},
                               headers=await bearer(client, "supervisor"))
    assert answer.status_code == 201, answer.text
    assert answer.json()["witness"]["value"] == "监督员现场输入 4711"
    assert answer.json()["reveal"] is None


async def test_voiding_after_the_witness_is_for_supervisors(client, engine, keys):
    draw_id = await new_draw(engine, keys, witness="w")
    admin = await client.post(f"/api/draws/{draw_id}/void", json={"reason": "重抽"}, headers=await bearer(client, "admin"))
    assert admin.status_code == 403 and "监督人员批准" in admin.json()["error"]["message"]
    answer = await client.post(f"/api/draws/{draw_id}/void", json={"reason": "系统故障，经监督批准重抽"},
                               headers=await bearer(client, "supervisor"))
    assert answer.status_code == 201 and answer.json()["status"] == "voided"
    listed = (await client.get("/api/draws", params={"project": "JN-2026-GC-0007"})).json()
    assert any(item["draw_id"] == draw_id and item["status"] == "voided" and item["void_after_witness"]
               and item["void_approved_by"].endswith(":supervisor") for item in listed)


async def test_a_voided_draw_publishes_its_signed_void_and_the_verifier_says_what_it_would_have_selected(
        client, engine, keys, cli, tmp_path):
    draw_id = await new_draw(engine, keys, witness="监督员 1177")
    await client.post(f"/api/draws/{draw_id}/void", json={"reason": "评标室停电，改期重抽"},
                      headers=await bearer(client, "supervisor"))
    bundle = (await client.get(f"/api/draws/{draw_id}")).json()
    void = bundle["void"]
    assert set(void) == {"record", "signature"} and void["record"]["protocol"] == "sealed-draw-void/1"
    assert void["record"]["approved_by"].endswith(":supervisor") and void["record"]["reason"] == "评标室停电，改期重抽"
    assert len(void["record"]["center_seed"]) == 64 and bundle["pool"] == POOL and bundle["reveal"] is None
    path = tmp_path / "voided.json"
    path.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    verified = await cli("draw", "verify", str(path))
    assert verified.exit_code == 0, verified.output
    assert "本次抽取已作废" in verified.output and "评标室停电，改期重抽" in verified.output
    assert f"批准作废：{void['record']['approved_by']}" in verified.output
    would = [line for line in verified.output.splitlines() if line.startswith("已公布的中心种子与承诺相符")]
    assert would and all(code in POOL for code in would[0].split("将抽中：")[1].split("、"))
    page = await client.get(f"/draws/{draw_id}")
    assert "本次抽取已作废" in page.text and "经监督人员批准" in page.text and "若未作废，本次抽取将抽中" in page.text
    assert "评标室停电，改期重抽" in page.text and ":supervisor" not in page.text
    # The project's list of draws shows the void as such, with its approval.
    tender = await client.get("/tenders/JN-2026-GC-0007")
    assert "见证后作废，经监督人员批准，已公布中心种子：评标室停电，改期重抽" in tender.text
    assert f'href="/draws/{draw_id}">查看作废记录' in tender.text
    # A void before the witness publishes no seed: there was no outcome yet.
    early = await new_draw(engine, keys)
    await client.post(f"/api/draws/{early}/void", json={"reason": "条件录入错误"}, headers=await bearer(client, "admin"))
    path.write_text(json.dumps((await client.get(f"/api/draws/{early}")).json(), ensure_ascii=False), encoding="utf-8")
    early_check = await cli("draw", "verify", str(path))
    assert early_check.exit_code == 0 and "见证值提交前" in early_check.output and "将抽中" not in early_check.output
    # A forged void (the seed withheld after the witness) fails, naming the check.
    bundle["void"]["record"]["center_seed"] = None
    path.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    forged = await cli("draw", "verify", str(path))
    assert forged.exit_code == 2 and "void_signature" in forged.output


async def test_the_public_page_verifies_and_the_sheet_is_for_staff_after_the_reveal(client, engine, keys):
    sealed = await new_draw(engine, keys, witness="w")
    page = await client.get(f"/draws/{sealed}")
    assert "验证通过" in page.text and "密封中" in page.text
    draw_id = await new_draw(engine, keys, reveal=True)
    page = await client.get(f"/draws/{draw_id}")
    assert page.status_code == 200 and "验证通过" in page.text and "全部校验通过" in page.text
    client.cookies.clear()
    assert (await client.get(f"/draws/{draw_id}/sheet.pdf", follow_redirects=False)).status_code in (302, 303)
    await log_in(client, "bidder1")
    assert (await client.get(f"/draws/{draw_id}/sheet.pdf")).status_code == 403
    client.cookies.clear()
    await log_in(client, "supervisor")
    assert "打印结果密封单" in (await client.get(f"/draws/{draw_id}")).text
    assert (await client.get(f"/draws/{sealed}/sheet.pdf")).status_code == 409
    sheet = await client.get(f"/draws/{draw_id}/sheet.pdf")
    client.cookies.clear()
    assert sheet.status_code == 200 and sheet.headers["content-type"] == "application/pdf"
    import io

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(sheet.content)).pages)
    bundle = (await client.get(f"/api/draws/{draw_id}")).json()
    assert "抽取结果密封单" in text and draw_id in text
    assert_only_the_bundled_font(sheet.content)
    assert all(code in text for code in bundle["reveal"]["record"]["selected"])


async def test_trading_draw_verify_checks_a_file_an_id_and_names_the_failing_check(client, engine, keys, cli, tmp_path):
    draw_id = await new_draw(engine, keys, reveal=True)
    bundle = (await client.get(f"/api/draws/{draw_id}")).json()
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    ok = await cli("draw", "verify", str(path))
    assert ok.exit_code == 0, ok.output
    assert "全部校验通过" in ok.output and "、".join(bundle["reveal"]["record"]["selected"]) in ok.output
    by_id = await cli("draw", "verify", draw_id)
    assert by_id.exit_code == 0, by_id.output
    bundle["pool"][0] = "EXP9999"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    bad = await cli("draw", "verify", str(path))
    assert bad.exit_code == 2 and "pool_digest" in bad.output
    other = await cli("draw", "verify", draw_id, "--key", "00" * 32)
    assert other.exit_code == 2 and "verify_key" in other.output


async def test_trading_draw_witness_records_the_supervisor(client, engine, keys, cli):
    draw_id = await new_draw(engine, keys)
    refused = await cli("draw", "witness", draw_id, "--by", "bidder1")
    assert refused.exit_code == 1 and "监督人员" in refused.output
    done = await cli("draw", "witness", draw_id, "--by", "supervisor", "--value", "cli-witness")
    assert done.exit_code == 0, done.output
    bundle = (await client.get(f"/api/draws/{draw_id}")).json()
    assert bundle["witness"]["value"] == "cli-witness" and bundle["witness"]["by"].endswith(":supervisor")


@pytest.mark.parametrize("command", [
    ["draw", "verify", "{bundle}"],
    ["draw", "verify", "D-2026-000001"],
    ["award", "verify", "{pdf}", "--bundle", "{bundle}"],
    ["audit", "verify", "--file", "{bundle}"],
])
async def test_a_verifier_with_no_key_to_trust_refuses_and_never_makes_one(client, engine, keys, tmp_path,
                                                                          database_url, command):
    """Spec: a verifier with no key to trust refuses and says how to get one; it never makes
    or stores a key of its own (before, it made a random center key and called every
    genuine bundle tampered)."""
    bundle = (await client.get(f"/api/draws/{await new_draw(engine, keys, reveal=True)}")).json()
    (tmp_path / "bundle.json").write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "notice.pdf").write_bytes(b"%PDF-1.7")
    args = [arg.format(bundle=tmp_path / "bundle.json", pdf=tmp_path / "notice.pdf") for arg in command]
    empty = tmp_path / "fresh"
    env = {"DATABASE_URL": database_url, "TRADING_VAR_DIR": str(empty), "TRADING_SIGNING_KEY": None, "TRADING_KEK": None}
    result = await anyio.to_thread.run_sync(invoke_cli, args, env)
    assert result.exit_code != 0 and (result.exception is None or isinstance(result.exception, SystemExit))
    assert "没有可信任的中心公钥" in result.output and "--key" in result.output and "/api/keys" in result.output
    assert not empty.exists() and not (empty / "keys").exists()


async def test_the_key_to_trust_comes_from_the_verifier_and_the_bundles_own_key_is_a_hint(client, engine, keys,
                                                                                         tmp_path, database_url):
    draw_id = await new_draw(engine, keys, reveal=True)
    bundle = (await client.get(f"/api/draws/{draw_id}")).json()
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    env = {"TRADING_VAR_DIR": str(tmp_path / "fresh"), "TRADING_SIGNING_KEY": None, "TRADING_KEK": None}
    pinned = await anyio.to_thread.run_sync(invoke_cli, ["draw", "verify", str(path), "--key", keys.verify_key_hex], env)
    assert pinned.exit_code == 0 and "全部校验通过" in pinned.output, pinned.output
    other = await anyio.to_thread.run_sync(invoke_cli, ["draw", "verify", str(path), "--key", "11" * 32], env)
    assert other.exit_code == 2 and "verify_key" in other.output
    malformed = await anyio.to_thread.run_sync(invoke_cli, ["draw", "verify", str(path), "--key", "xyz"], env)
    assert malformed.exit_code == 1 and "64 位十六进制" in malformed.output
    assert not (tmp_path / "fresh").exists()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_trading_draw_verify_fetches_a_url(client, engine, keys, settings, database_url, cli):
    draw_id = await new_draw(engine, keys, reveal=True)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, url=database_url), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        result = await cli("draw", "verify", f"http://127.0.0.1:{port}/api/draws/{draw_id}")
        assert result.exit_code == 0, result.output
        assert "全部校验通过" in result.output
    finally:
        server.should_exit = True
        thread.join(10)
