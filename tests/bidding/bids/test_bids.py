"""Sealed bids end to end with the real sealed-bid/1 protocol: the tender's opening key made
at the announcement, bidder keys, submission with signed receipts after commit, supersede
and withdrawal, every refusal in Chinese, nothing accepted after the deadline by the
database clock (also under concurrency), the opening key sealed until the deadline, and no
route through which anyone can read a bid."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, text

from bidding.bids import sealed_bid
from bidding.bids import key_rotation
from bidding.bids.bidder_keys import BidderKey, register_bidder_key, rotate_bidder_key
from bidding.bids.submission import SUBMITTED, SUPERSEDED, WITHDRAWN, WITHDRAW_PROTOCOL, Bid, withdraw_bid
from bidding.tender.lifecycle import apply_transition
from bidding.bids.opening_keys import TenderOpeningKey, open_opening_key, opening_public_key
from bidding.tender.projects import Project, register_project
from bidding.tender.registrations import Registration, register_bidder
from cli.demo import ACCOUNTS
from tests.common import factories
from tests.common.bids import HONGYUAN, LUJIAN, bidder, deadline_passes, sealed, submit
from tests.common.credit_factories import credit_record
from tests.common.portal import bearer
from tests.common.tenders import tender_project
from trading.audit import AuditEntry
from trading.canonical import canon
from trading.database import database_now, make_sessionmaker, transaction
from trading.errors import Conflict, InvalidInput, RuleViolation
from trading.keys import load_center_keys
from trading.settings import Settings
from web.app import create_app



# ----------------------------------------------------------------------------- the full path


async def test_a_sealed_bid_is_stored_as_ciphertext_receipted_superseded_and_opened_after_the_deadline(
        demo, session, keys):
    tender = await tender_project(session, keys, "bidding")
    opening_key = await session.scalar(select(TenderOpeningKey).where(TenderOpeningKey.project_id == tender.id))
    assert len(bytes.fromhex(opening_key.public_key)) == 32
    assert keys.unseal(opening_key.sealed_private) != bytes.fromhex(opening_key.public_key)  # stored sealed only

    code, signing_key = await bidder(session, tender.code)
    payload, ciphertext, envelope = await sealed(session, tender.code, code, signing_key)
    first = await submit(session, keys, tender.code, code, envelope, ciphertext,
                         bidder_verify_key=signing_key.verify_key)
    sealed_bid.verify_receipt(first.record, first.signature, keys.verify_key_hex, envelope)
    assert first.record["envelope_sha256"] == sealed_bid.envelope_sha256(envelope)
    # Revision 2: the receipt carries no count; the order stays on the server.
    assert first.record["protocol"] == "sealed-bid-receipt/2" and "sequence" not in first.record

    stored = await session.get(Bid, first.bid_id)
    assert stored.sequence == 1
    assert stored.ciphertext == ciphertext and stored.size == len(ciphertext) and stored.status == SUBMITTED
    assert payload not in stored.ciphertext and b"price_fen" not in stored.ciphertext
    assert "price_fen" not in canon(stored.envelope).decode()
    assert stored.received_at < tender.bid_deadline

    # Retrying the same envelope answers the same receipt; a new one supersedes it.
    again = await submit(session, keys, tender.code, code, envelope, ciphertext)
    assert (again.bid_id, again.signature) == (first.bid_id, first.signature)
    _, ciphertext2, envelope2 = await sealed(session, tender.code, code, signing_key, price_fen=120_000_000)
    second = await submit(session, keys, tender.code, code, envelope2, ciphertext2)
    assert "sequence" not in second.record and second.superseded == [first.bid_id]
    assert second.superseded_envelopes == [first.record["envelope_sha256"]]
    assert (await session.get(Bid, second.bid_id)).sequence == 2
    await session.refresh(stored)
    assert stored.status == SUPERSEDED and stored.superseded_at is not None
    with pytest.raises(Conflict) as reused:
        await submit(session, keys, tender.code, code, envelope, ciphertext)
    assert reused.value.message == "该投标文件已被替换，不能再次递交；请重新加密后递交"  # not 「已已被替换」
    actions = (await session.scalars(select(AuditEntry.action).where(
        AuditEntry.subject == f"project:{tender.code}", AuditEntry.action.like("bid.%")))).all()
    assert actions == ["bid.submitted", "bid.submitted"]

    # The opening key stays sealed until the deadline; then the center half of the current bid opens.
    with pytest.raises(RuleViolation, match="投标截止时间.*未到，不能解开"):
        await open_opening_key(session, keys, tender.code)
    await deadline_passes(session, tender.code)
    private = await open_opening_key(session, keys, tender.code, actor="test")
    assert private.public_key.encode().hex() == opening_key.public_key
    current = await session.get(Bid, second.bid_id)
    k_c = sealed_bid.open_center_half(current.envelope, private)
    k_b = sealed_bid.open_bidder_half(current.envelope, signing_key)
    offer, documents = sealed_bid.read_package(sealed_bid.open_bid(current.ciphertext, k_c, k_b))
    assert offer["price_fen"] == 120_000_000 and documents == {"技术标.txt": "施工组织设计".encode()}


async def test_the_opening_key_is_made_once_and_published_only_after_the_announcement(demo, session, keys):
    tender = await tender_project(session, keys, "bidding")
    from bidding.bids.opening_keys import make_opening_key

    with pytest.raises(Conflict, match="已生成开标密钥"):
        await make_opening_key(session, keys, actor="test", project_code=tender.code)
    party = await factories.organisation(session, "tendering_party")
    fresh = await register_project(session, actor="test", code="JN-2026-GC-BX001", title="未公告的项目",
                                   category="construction", method="open_tender", region_code="370800",
                                   tendering_party_id=party.id, estimate_fen=1_000_000_00)
    from trading.errors import NotFound

    with pytest.raises(NotFound, match="尚未发布招标公告"):
        await opening_public_key(session, fresh.code)


# ----------------------------------------------------------------------------- refusals


async def test_a_tampered_envelope_or_ciphertext_and_a_wrong_key_are_refused(demo, session, keys):
    tender = await tender_project(session, keys, "bidding")
    code, signing_key = await bidder(session, tender.code)
    _, ciphertext, envelope = await sealed(session, tender.code, code, signing_key)

    tampered = dict(envelope, sealed_center=envelope["sealed_bidder"])
    with pytest.raises(sealed_bid.EnvelopeRejected, match="签名无效") as refused:
        await submit(session, keys, tender.code, code, tampered, ciphertext)
    assert refused.value.details["check"] == "signature"
    flipped = bytes([ciphertext[0] ^ 1]) + ciphertext[1:]
    with pytest.raises(sealed_bid.EnvelopeRejected, match="SHA-256"):
        await submit(session, keys, tender.code, code, envelope, flipped)
    with pytest.raises(sealed_bid.EnvelopeRejected, match="密文长度"):
        await submit(session, keys, tender.code, code, envelope, ciphertext + b"\0")

    stranger = sealed_bid.make_bidder_key()  # not the bidder's registered key
    _, ciphertext3, envelope3 = await sealed(session, tender.code, code, stranger)
    with pytest.raises(sealed_bid.EnvelopeRejected, match="签名无效"):
        await submit(session, keys, tender.code, code, envelope3, ciphertext3)
    with pytest.raises(InvalidInput, match="不是.*登记的身份公钥"):
        await submit(session, keys, tender.code, code, envelope, ciphertext, bidder_verify_key=stranger.verify_key)
    other_code, _ = await bidder(session, tender.code)
    with pytest.raises(sealed_bid.EnvelopeRejected, match="投标人"):
        await submit(session, keys, tender.code, other_code, envelope, ciphertext)
    assert await session.scalar(select(func.count()).select_from(Bid).where(Bid.project_id == tender.id)) == 0


async def test_only_admitted_bidders_with_a_registered_key_and_any_deposit_paid_may_bid(demo, session, keys):
    tender = await tender_project(session, keys, "bidding")
    unregistered, key = await bidder(session, tender.code, register=False)
    _, ciphertext, envelope = await sealed(session, tender.code, unregistered, key)
    with pytest.raises(RuleViolation, match="未报名项目"):
        await submit(session, keys, tender.code, unregistered, envelope, ciphertext)

    keyless = (await factories.organisation(session, "bidder")).credit_code
    await register_bidder(session, actor="test", project_code=tender.code, bidder_credit_code=keyless)
    with pytest.raises(RuleViolation, match="尚未登记投标人身份公钥"):
        await submit(session, keys, tender.code, keyless, envelope, ciphertext)

    refused = await factories.organisation(session, "bidder", name="济宁黑名单建设有限公司")
    await credit_record(session, credit_code=refused.credit_code, name=refused.name, decision_number="济住建罚〔2026〕41号")
    with pytest.raises(RuleViolation):
        await register_bidder(session, actor="test", project_code=tender.code, bidder_credit_code=refused.credit_code)
    _, refused_key = await bidder(session, tender.code, refused.credit_code, register=False)
    _, ciphertext, envelope = await sealed(session, tender.code, refused.credit_code, refused_key)
    with pytest.raises(RuleViolation, match="未获准予（不予报名）"):
        await submit(session, keys, tender.code, refused.credit_code, envelope, ciphertext)

    code, signing_key = await bidder(session, tender.code, HONGYUAN)
    registration = await session.scalar(select(Registration).where(Registration.project_id == tender.id,
                                                                   Registration.status == "admitted",
                                                                   Registration.deposit_required_fen > 0))
    assert registration is not None
    _, ciphertext, envelope = await sealed(session, tender.code, code, signing_key)
    with pytest.raises(RuleViolation, match="须交纳投标保证金 800,000.00 元，保证金尚未到账") as unpaid:
        await submit(session, keys, tender.code, code, envelope, ciphertext)
    assert unpaid.value.code == "deposit_unpaid"
    registration.deposit_paid_at = await database_now(session)  # what the ledger will do
    await session.flush()
    receipt = await submit(session, keys, tender.code, code, envelope, ciphertext)
    assert (await session.get(Bid, receipt.bid_id)).sequence == 1


async def test_nothing_is_accepted_before_bidding_opens_or_after_the_deadline(demo, session, keys):
    tender = await tender_project(session, keys, "announced")
    code, signing_key = await bidder(session, tender.code)
    _, ciphertext, envelope = await sealed(session, tender.code, code, signing_key)
    with pytest.raises(Conflict, match="已发布招标公告.*不接受投标"):
        await submit(session, keys, tender.code, code, envelope, ciphertext)
    await apply_transition(session, actor="test", project_code=tender.code, action="open_bidding")
    await deadline_passes(session, tender.code)
    with pytest.raises(RuleViolation, match="投标截止时间.*已过，不再接受投标") as late:
        await submit(session, keys, tender.code, code, envelope, ciphertext)
    assert late.value.code == "after_bid_deadline"
    assert await session.scalar(select(func.count()).select_from(Bid).where(Bid.project_id == tender.id)) == 0


# ----------------------------------------------------------------------------- withdrawal


async def test_a_signed_withdrawal_before_the_deadline_withdraws_the_current_bid(demo, session, keys):
    tender = await tender_project(session, keys, "bidding")
    code, signing_key = await bidder(session, tender.code)
    _, ciphertext, envelope = await sealed(session, tender.code, code, signing_key)
    receipt = await submit(session, keys, tender.code, code, envelope, ciphertext)
    request = {"protocol": WITHDRAW_PROTOCOL, "tender_code": tender.code, "bidder_code": code,
               "envelope_sha256": receipt.record["envelope_sha256"]}
    forged = sealed_bid.make_bidder_key().sign(canon(request)).signature.hex()
    with pytest.raises(InvalidInput, match="撤回请求签名无效"):
        await withdraw_bid(session, keys, actor="test", project_code=tender.code, bidder_credit_code=code,
                           request=request, signature=forged)
    signature = signing_key.sign(canon(request)).signature.hex()
    answer = await withdraw_bid(session, keys, actor="test", project_code=tender.code, bidder_credit_code=code,
                                request=request, signature=signature)
    from trading.keys import verify_signature

    assert verify_signature(answer.record, answer.signature, keys.verify_key_hex)
    assert answer.record["protocol"] == "sealed-bid-withdraw-receipt/1"
    bid = await session.get(Bid, receipt.bid_id)
    assert bid.status == WITHDRAWN and bid.withdrawal["signature"] == signature
    with pytest.raises(Conflict, match="已撤回"):
        await withdraw_bid(session, keys, actor="test", project_code=tender.code, bidder_credit_code=code,
                           request=request, signature=signature)
    with pytest.raises(Conflict) as reused:
        await submit(session, keys, tender.code, code, envelope, ciphertext)
    assert reused.value.message == "该投标文件已撤回，不能再次递交；请重新加密后递交"

    _, ciphertext2, envelope2 = await sealed(session, tender.code, code, signing_key)
    receipt2 = await submit(session, keys, tender.code, code, envelope2, ciphertext2)  # may bid again
    await deadline_passes(session, tender.code)
    request2 = dict(request, envelope_sha256=receipt2.record["envelope_sha256"])
    with pytest.raises(RuleViolation, match="已过，不再接受撤回投标"):
        await withdraw_bid(session, keys, actor="test", project_code=tender.code, bidder_credit_code=code,
                           request=request2, signature=signing_key.sign(canon(request2)).signature.hex())


async def test_a_second_key_does_not_replace_the_first_only_a_rotation_signed_by_it_does(demo, session):
    # Revision 2 of sealed-bid.md: the account alone no longer replaces an organisation's key.
    code = (await factories.organisation(session, "bidder")).credit_code
    first, second = sealed_bid.make_bidder_key(), sealed_bid.make_bidder_key()
    await register_bidder_key(session, actor="test", bidder_credit_code=code, verify_key=first.verify_key.encode().hex())
    again = await register_bidder_key(session, actor="test", bidder_credit_code=code,
                                      verify_key=first.verify_key.encode().hex())
    with pytest.raises(Conflict, match="更换须提交用现有身份密钥签名的轮换请求") as refused:
        await register_bidder_key(session, actor="test", bidder_credit_code=code,
                                  verify_key=second.verify_key.encode().hex())
    assert refused.value.code == "bidder_key_exists"
    request = key_rotation.rotation_request(code, first.verify_key, second.verify_key, await database_now(session))
    await rotate_bidder_key(session, actor="test", bidder_credit_code=code, request=request,
                            signature=key_rotation.sign_rotation(request, first))
    keys_ = (await session.scalars(select(BidderKey).join_from(BidderKey, factories.Organisation,
                                                               BidderKey.organisation_id == factories.Organisation.id)
                                   .where(factories.Organisation.credit_code == code).order_by(BidderKey.id))).all()
    assert [(k.how, k.revoked_at is not None) for k in keys_] == [("registered", True), ("rotated", False)]
    assert keys_[1].replaces_key_id == again.id == keys_[0].id
    with pytest.raises(InvalidInput, match="身份公钥长度"):
        await register_bidder_key(session, actor="test", bidder_credit_code=code, verify_key="ab" * 31)


# ----------------------------------------------------------------------------- the deadline race


async def test_concurrent_submissions_around_the_deadline_none_is_accepted_after_it(demo, engine, keys):
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as session:
        tender = await tender_project(session, keys, "bidding")
        bidders = [await bidder(session, tender.code) for _ in range(12)]
        bids = [await sealed(session, tender.code, code, key) for code, key in bidders]

    outcomes: list[str] = []

    async def one(index: int) -> None:
        await asyncio.sleep(0.004 * index)  # spread around the moment the deadline comes
        code = bidders[index][0]
        _, ciphertext, envelope = bids[index]
        try:
            async with transaction(sessions) as session:
                await submit(session, keys, tender.code, code, envelope, ciphertext)
            outcomes.append("accepted")
        except RuleViolation as refused:
            assert refused.code == "after_bid_deadline"
            outcomes.append("refused")

    async def the_deadline_comes() -> None:
        await asyncio.sleep(0.02)
        async with transaction(sessions) as session:
            # As any change of a tender does, take the row lock first: the new deadline is the
            # clock once the submissions that hold the lock are done, and later ones see it.
            await session.execute(select(Project.id).where(Project.id == tender.id).with_for_update())
            await deadline_passes(session, tender.code, ago=timedelta(0))  # the deadline is now

    await asyncio.gather(*(one(i) for i in range(len(bidders))), the_deadline_comes())
    assert len(outcomes) == len(bidders)
    async with sessions() as session:
        deadline = await session.scalar(select(Project.bid_deadline).where(Project.id == tender.id))
        received = (await session.scalars(select(Bid.received_at).where(Bid.project_id == tender.id))).all()
        sequences = sorted((await session.scalars(select(Bid.sequence).where(Bid.project_id == tender.id))).all())
    assert len(received) == outcomes.count("accepted")
    assert all(moment < deadline for moment in received)
    assert sequences == list(range(1, len(received) + 1))
    # And afterwards, every submission is refused.
    assert "refused" in outcomes or len(received) == len(bidders)
    outcomes.clear()
    await one(len(bidders) - 1)
    assert outcomes == ["refused"]  # stored or not, after the deadline it is refused
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Bid).where(Bid.project_id == tender.id)) \
            == len(received)


# ----------------------------------------------------------------------------- the API


@pytest.fixture(scope="module")
async def client(demo, settings: Settings, database_url: str) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


async def test_the_api_takes_a_sealed_bid_and_answers_the_receipt_after_commit(client, settings, engine):
    keys = load_center_keys(settings)  # the app's own keys
    async with transaction(make_sessionmaker(engine)) as session:
        tender = await tender_project(session, keys, "bidding")
    code = tender.code
    assert (await client.get("/api/projects/NOPE/opening-key")).status_code == 404
    published = await client.get(f"/api/projects/{code}/opening-key")  # public
    assert published.status_code == 200 and published.json()["record"]["protocol"] == "sealed-bid-opening-key/1"

    signing_key = sealed_bid.make_bidder_key()
    body = {"verify_key": signing_key.verify_key.encode().hex()}
    path = f"/api/projects/{code}/bidder-key"
    assert (await client.post(path, json=body)).status_code == 401
    assert (await client.post(path, json=body, headers=await bearer(client, "tenderer"))).status_code == 403
    headers = await bearer(client, "bidder1")
    assert (await client.post(path, json=body, headers=headers)).status_code == 201
    assert (await client.post(f"/api/projects/{code}/registrations", headers=headers)).status_code == 201

    payload = sealed_bid.make_package({"price_fen": 99_000_000}, {})
    ciphertext, envelope = sealed_bid.seal(payload, code, LUJIAN, published.json()["public_key"], signing_key)
    files = {"ciphertext": ("bid.sealed", ciphertext, "application/octet-stream")}
    form = {"envelope": canon(envelope).decode()}
    bids_path = f"/api/projects/{code}/bids"
    assert (await client.post(bids_path, data=form, files=files,
                              headers=await bearer(client, "supervisor"))).status_code == 403
    answer = await client.post(bids_path, data=form, files=files, headers=headers)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["center_verify_key"] == keys.verify_key_hex
    sealed_bid.verify_receipt(body["receipt"], body["signature"], keys.verify_key_hex, envelope)
    # Nothing in the answer tells how many bids came before (招标投标法 第二十二条).
    assert set(body) == {"receipt", "signature", "key_id", "center_verify_key", "superseded"}
    assert body["receipt"]["protocol"] == "sealed-bid-receipt/2" and "sequence" not in body["receipt"]
    assert body["superseded"] == []
    ciphertext_again, envelope_again = sealed_bid.seal(payload, code, LUJIAN, published.json()["public_key"],
                                                       signing_key)
    replaced = await client.post(bids_path, data={"envelope": canon(envelope_again).decode()},
                                 files={"ciphertext": ("bid.sealed", ciphertext_again, "application/octet-stream")},
                                 headers=headers)
    assert replaced.status_code == 201 and replaced.json()["superseded"] == [body["receipt"]["envelope_sha256"]]
    async with engine.connect() as conn:  # committed before the answer
        stored = await conn.scalar(select(Bid.ciphertext).where(Bid.envelope_sha256 == body["receipt"]["envelope_sha256"]))
    assert stored == ciphertext

    bad = await client.post(bids_path, data={"envelope": "{"}, files=files, headers=headers)
    assert bad.status_code == 400
    async with transaction(make_sessionmaker(engine)) as session:
        await deadline_passes(session, code)
    ciphertext2, envelope2 = sealed_bid.seal(payload, code, LUJIAN, published.json()["public_key"], signing_key)
    late = await client.post(bids_path, data={"envelope": canon(envelope2).decode()},
                             files={"ciphertext": ("bid.sealed", ciphertext2, "application/octet-stream")},
                             headers=headers)
    assert late.status_code == 422
    error = late.json()["error"]
    assert error["code"] == "after_bid_deadline" and "已过，不再接受投标" in error["message"]


async def test_no_route_returns_a_bid_and_the_table_holds_only_ciphertext(client, engine):
    # The only GET under /bids is an opened bid's documents (tests/bidding/evaluation/test_bid_documents.py):
    # before the opening every account gets 404 from it.
    documents_route = "/api/projects/{code:str}/bids/{bid_id:int}/documents"
    for route in client.app.routes:
        methods = getattr(route, "methods", set())
        if "GET" in methods and not route.path.startswith(documents_route):
            assert "/bids" not in route.path, route.path
            assert "ciphertext" not in route.path and "envelope" not in route.path, route.path
    async with engine.connect() as conn:
        code, bid_id = (await conn.execute(select(Project.code, Bid.id).join(Bid, Bid.project_id == Project.id)
                                           .limit(1))).one()
        columns = (await conn.execute(text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'bids'"))).scalars().all()
    assert code is not None
    assert not {"payload", "content_key", "price_fen", "plaintext"} & set(columns)
    for account in ACCOUNTS:
        headers = await bearer(client, account.username)
        for path in (f"/api/projects/{code}/bids", f"/api/projects/{code}/bids/1"):
            answer = await client.get(path, headers=headers)
            assert answer.status_code in (404, 405), (account.username, path, answer.status_code)
        for path in (f"/api/projects/{code}/bids/{bid_id}/documents",
                     f"/api/projects/{code}/bids/{bid_id}/documents/技术标.txt"):
            answer = await client.get(path, headers=headers)
            assert answer.status_code == 404 and "未在开标时解密" in answer.text, (account.username, path)
