"""The tender's opening key in its center-signed record (sealed-bid-opening-key/1, revision 2),
as an outsider's client reads it: on the API and the tender's public page, the same record
every time, signed when the key was made — so a substituted key in the database no longer
verifies — and keys made before revision 2 published with their creation time."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from nacl.public import PrivateKey
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update

from bidding.bids import sealed_bid
from bidding.bids.opening_keys import TenderOpeningKey
from tests.common.tenders import tender_project
from trading.database import make_sessionmaker, transaction
from trading.keys import CenterKeys, load_center_keys
from trading.settings import Settings
from trading.timefmt import local_time, rfc3339
from web.app import create_app



@pytest.fixture(scope="module")
async def client(demo, settings: Settings, database_url: str) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def center(settings: Settings, client) -> CenterKeys:
    return load_center_keys(settings)  # the app's own keys


async def announced(engine, center: CenterKeys) -> tuple[str, TenderOpeningKey]:
    async with transaction(make_sessionmaker(engine)) as session:
        tender = await tender_project(session, center, "bidding")
        row = await session.scalar(select(TenderOpeningKey).where(TenderOpeningKey.project_id == tender.id))
    return tender.code, row


async def test_the_api_publishes_the_opening_key_in_a_record_the_center_signed(client, center, engine):
    code, row = await announced(engine, center)
    first = await client.get(f"/api/projects/{code}/opening-key")  # public: no account
    assert first.status_code == 200
    body = first.json()
    assert set(body) == {"record", "signature", "public_key"}
    assert body["record"] == {"protocol": "sealed-bid-opening-key/1", "tender_code": code,
                              "public_key": row.public_key, "published_at": rfc3339(row.published_at)}
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z", body["record"]["published_at"])
    assert body["public_key"] == row.public_key  # kept at the top for clients before revision 2
    assert body["signature"] == row.record_signature  # signed when the key was made
    assert sealed_bid.verify_opening_key_record(body["record"], body["signature"], center.verify_key_hex,
                                                tender_code=code) == row.public_key
    again = await client.get(f"/api/projects/{code}/opening-key")
    assert again.json() == body  # stable: the same record and signature every time

    other_code, _ = await announced(engine, center)
    other = (await client.get(f"/api/projects/{other_code}/opening-key")).json()
    with pytest.raises(sealed_bid.OpeningKeyRejected, match="不是本项目"):  # another tender's genuine record
        sealed_bid.verify_opening_key_record(other["record"], other["signature"], center.verify_key_hex,
                                             tender_code=code)
    missing = await client.get("/api/projects/JN-2026-GC-NONE/opening-key")
    assert missing.status_code == 404 and "未找到项目" in missing.json()["error"]["message"]


async def test_a_key_substituted_in_the_database_no_longer_verifies(client, center, engine):
    code, row = await announced(engine, center)
    substitute = PrivateKey.generate().public_key.encode().hex()
    async with transaction(make_sessionmaker(engine)) as session:
        await session.execute(update(TenderOpeningKey).where(TenderOpeningKey.id == row.id)
                              .values(public_key=substitute))
    body = (await client.get(f"/api/projects/{code}/opening-key")).json()
    assert body["record"]["public_key"] == substitute  # served as stored, with the signature made for the real one
    with pytest.raises(sealed_bid.OpeningKeyRejected) as refused:
        sealed_bid.verify_opening_key_record(body["record"], body["signature"], center.verify_key_hex,
                                             tender_code=code)
    assert refused.value.details["check"] == "signature"


async def test_a_key_made_before_revision_2_is_published_with_its_creation_time(client, center, engine):
    code, row = await announced(engine, center)
    async with transaction(make_sessionmaker(engine)) as session:  # as the migration leaves an older key
        await session.execute(update(TenderOpeningKey).where(TenderOpeningKey.id == row.id)
                              .values(record_signature=None, published_at=TenderOpeningKey.created_at))
    first = (await client.get(f"/api/projects/{code}/opening-key")).json()
    assert first["record"]["published_at"] == rfc3339(row.created_at)
    sealed_bid.verify_opening_key_record(first["record"], first["signature"], center.verify_key_hex, tender_code=code)
    assert (await client.get(f"/api/projects/{code}/opening-key")).json() == first


async def test_the_tenders_public_page_shows_the_signed_record_in_chinese(client, center, engine):
    code, row = await announced(engine, center)
    body = (await client.get(f"/api/projects/{code}/opening-key")).json()
    page = await client.get(f"/tenders/{code}")
    assert page.status_code == 200
    section = page.text.split('id="opening-key"', 1)[1].split("</section>", 1)[0]
    assert "开标公钥（交易中心签名发布）" in section and row.public_key in section and body["signature"] in section
    assert center.key_id in section
    published = datetime.fromisoformat(body["record"]["published_at"])
    assert local_time(published, "%Y-%m-%d %H:%M:%S") in section
    text = re.sub(r"<[^>]+>", " ", section)
    text = text.replace(row.public_key, "").replace(body["signature"], "").replace(center.key_id, "").replace(code, "")
    assert not re.search(r"[A-Za-z]{2,}", text), text  # labels in Chinese only; hex is data
