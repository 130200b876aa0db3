"""The expert pool over HTTP: administrators import and export, the list is always masked."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.demo import DEMO_PASSWORD, load_demo_data
from expert_pool.imports import EXPORT_COLUMNS, REQUIRED_COLUMNS
from expert_pool.models import Expert
from expert_pool.specialties import sync_specialties
from tests.common.live_server import LiveServer
from tests.common.expert_samples import EXPECTED_ERRORS, SAMPLE, WITH_ERRORS, sample_rows
from tests.common.xlsx_parts import text_rows, xlsx_file
from trading.database import make_sessionmaker, transaction
from trading.identifiers import mask_id_number
from trading.settings import Settings
from trading.spreadsheets import MAX_ROWS, read_rows
from web.app import create_app


@pytest.fixture(scope="module")
async def client(settings: Settings, database_url: str, engine: AsyncEngine) -> AsyncIterator[AsyncTestClient]:
    async with transaction(make_sessionmaker(engine)) as session:
        await load_demo_data(session, pools=False)
        await sync_specialties(session)
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
async def tokens(client: AsyncTestClient) -> dict[str, str]:
    issued = {}
    for username in ("admin", "supervisor", "bidder1"):
        answer = await client.post("/api/auth/token", json={"username": username, "password": DEMO_PASSWORD})
        assert answer.status_code == 201, answer.text
        issued[username] = answer.json()["token"]
    return issued


def auth(tokens: dict[str, str], username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[username]}"}


async def upload(client: AsyncTestClient, tokens, username: str, path, query: str = ""):
    return await client.post(f"/api/experts/import{query}", headers=auth(tokens, username),
                             files={"file": (path.name, path.read_bytes(), "text/csv")})


async def expert_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(select(func.count()).select_from(Expert))


async def test_only_administrators_import(client, tokens, engine):
    anonymous = await client.post("/api/experts/import", files={"file": (SAMPLE.name, SAMPLE.read_bytes(), "text/csv")})
    assert anonymous.status_code == 401
    for username in ("supervisor", "bidder1"):
        refused = await upload(client, tokens, username, SAMPLE)
        assert refused.status_code == 403
        assert re.search(r"[\u4e00-\u9fff]", refused.json()["error"]["message"])
    assert await expert_count(engine) == 0


async def test_a_bad_file_answers_400_with_every_error_and_imports_nothing(client, tokens, engine):
    answer = await upload(client, tokens, "admin", WITH_ERRORS)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "import_rejected" and "导入未执行" in error["message"]
    assert [(item["row"], item["column"]) for item in error["details"]["errors"]] == [
        (row, column) for row, column, _ in EXPECTED_ERRORS]
    assert await expert_count(engine) == 0


async def test_the_administrator_imports_the_sample_and_the_list_is_masked(client, tokens, engine):
    checked = await upload(client, tokens, "admin", SAMPLE, "?dry_run=true")
    assert checked.status_code == 200 and checked.json()["imported"] == 0 and checked.json()["dry_run"]
    assert await expert_count(engine) == 0
    answer = await upload(client, tokens, "admin", SAMPLE)
    assert answer.status_code == 200, answer.text
    assert answer.json()["imported"] == len(sample_rows()) == await expert_count(engine)

    listed = await client.get("/api/experts", headers=auth(tokens, "supervisor"))
    assert listed.status_code == 200
    experts = listed.json()
    assert len(experts) == len(sample_rows())
    for expert, original in zip(experts, sample_rows()):
        assert expert["id_number"] == mask_id_number(original["身份证号码"])
        assert expert["phone"] == original["联系电话"][:3] + "****" + original["联系电话"][-4:]
        assert original["身份证号码"] not in listed.text and original["联系电话"] not in listed.text

    building = await client.get("/api/experts", params={"specialty": "A0801"}, headers=auth(tokens, "admin"))
    assert {expert["name"] for expert in building.json()} == {"王建国", "曹阳"}  # A080104/5 and A080109/10
    medical = await client.get("/api/experts", params={"specialty": "B02", "status": "active"},
                               headers=auth(tokens, "admin"))
    assert [expert["name"] for expert in medical.json()] == ["朱红", "胡军", "韩冰"]
    unknown = await client.get("/api/experts", params={"specialty": "Z99"}, headers=auth(tokens, "admin"))
    assert unknown.status_code == 400


async def test_reading_the_pool_needs_a_staff_or_supervisor_login(client, tokens):
    assert (await client.get("/api/experts")).status_code == 401
    assert (await client.get("/api/experts", headers=auth(tokens, "bidder1"))).status_code == 403
    assert (await client.get("/api/experts/review-due", headers=auth(tokens, "bidder1"))).status_code == 403


async def test_the_export_is_full_for_administrators_or_masked_on_request(client, tokens):
    assert (await client.get("/api/experts/export", headers=auth(tokens, "supervisor"))).status_code == 403
    first = sample_rows()[0]
    full = await client.get("/api/experts/export", params={"format": "xlsx"}, headers=auth(tokens, "admin"))
    assert full.status_code == 200
    assert full.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert read_rows("experts.xlsx", full.content, EXPORT_COLUMNS)[0].values["身份证号码"] == first["身份证号码"]
    masked = await client.get("/api/experts/export", params={"format": "csv", "masked": "true"},
                              headers=auth(tokens, "admin"))
    assert masked.status_code == 200 and "attachment" in masked.headers["content-disposition"]
    assert read_rows("experts.csv", masked.content, EXPORT_COLUMNS)[0].values["身份证号码"] == mask_id_number(
        first["身份证号码"])
    assert first["身份证号码"] not in masked.content.decode("utf-8-sig")
    bad = await client.get("/api/experts/export", params={"format": "pdf"}, headers=auth(tokens, "admin"))
    assert bad.status_code == 400


async def test_the_review_list_is_masked(client, tokens):
    answer = await client.get("/api/experts/review-due", params={"date": "2030-01-01"},
                              headers=auth(tokens, "supervisor"))
    assert answer.status_code == 200, answer.text
    due = answer.json()
    assert len(due) == len(sample_rows()) and all(item["overdue"] for item in due)
    ma = next(item for item in due if item["name"] == "马超")
    assert ma["next_review_due"] == "2027-03-31" and ma["days_left"] == -1007
    assert "*" in ma["id_number"] and "phone" not in ma


async def test_an_xlsx_bomb_is_refused_at_the_row_limit_while_the_portal_keeps_answering(client, settings,
                                                                                          database_url, engine):
    """200,000 rows in under 100 KB: read in a worker thread and refused at the 50,000-row cap,
    while /health, asked over and over during the upload, answers within half a second.
    (A real server: the test client runs one request at a time.)"""
    bomb = xlsx_file(text_rows(list(REQUIRED_COLUMNS), *[["张三"]] * 200_000))
    assert len(bomb) < 100_000
    before = await expert_count(engine)
    server = LiveServer(settings, database_url).start()
    try:
        headers = {"Authorization": f"Bearer {server.token('admin', DEMO_PASSWORD)}"}
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            uploading = asyncio.create_task(http.post("/api/experts/import", headers=headers, files={
                "file": ("experts.xlsx", bomb, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}))
            waits = []
            while not uploading.done():  # back to back: a stalled event loop shows in one of them
                started = time.perf_counter()
                assert (await http.get("/health")).status_code == 200
                waits.append(time.perf_counter() - started)
            answer = await uploading
    finally:
        server.stop()
    assert answer.status_code == 400, answer.text
    assert f"一次最多导入 {MAX_ROWS} 行" in answer.json()["error"]["message"]
    assert len(waits) >= 5 and max(waits) < 0.5, waits
    assert await expert_count(engine) == before
