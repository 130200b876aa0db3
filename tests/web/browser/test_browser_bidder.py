"""Browser: the bidder's workspace in real Chromium against `trading serve --demo` — register,
make the identity key in the browser and download its key file, seal and submit a bid with
libsodium's JavaScript build (progress bar, signed receipt), and decrypt it at the opening
with the key file. The page seals only to an opening key whose center-signed record verifies
with the center key pinned in the browser beforehand (at key registration, or typed in). Interoperability with bidding/bids/sealed_bid.py is checked byte for byte:
the JS canon, package and envelope against Python's for the same inputs, and the spec's
test vector opened by the JS."""

from __future__ import annotations

import io
import json
import re
import secrets
import zipfile

import nacl.secret
import nacl.signing
import pytest
from nacl.public import PrivateKey
from sqlalchemy import select

from bidding.bids import packaging as bid_client

from bidding.bids import sealed_bid
from bidding.bids.bidder_keys import BidderKey
from bidding.bids.submission import Bid
from bidding.opening.proceedings import opening_record
from bidding.tender.registrations import register_bidder
from tests.common import factories
from tests.common.bidder_world import LUJIAN, open_now, tender_in_bidding
from tests.common.sealed_bid_vector import VECTOR_CIPHERTEXT, VECTOR_ENVELOPE
from tests.conftest import log_in_page
from trading.canonical import canon
from trading.database import make_sessionmaker, transaction
from trading.keys import CenterKeys, load_center_keys
from trading.organisations import Organisation

TAIHE = "91370802MA3456789Q"  # demo bidder3: no credit records


@pytest.fixture(scope="module")
def keys(portal, settings) -> CenterKeys:
    return load_center_keys(settings)  # the served portal's keys (made at its first start)


async def register_for(engine, code: str, credit_code: str) -> None:
    async with transaction(make_sessionmaker(engine)) as session:
        await register_bidder(session, actor="test", project_code=code, bidder_credit_code=credit_code)


async def register_verify_key(engine, credit_code: str, signing_key: nacl.signing.SigningKey) -> None:
    async with transaction(make_sessionmaker(engine)) as session:
        await factories.bidder_key(session, credit_code, signing_key)


async def pin_center_key(page, key_hex: str) -> None:
    """On the sealing page: the bidder types in the center key the center published."""
    await page.wait_for_selector("body[data-opening-key='refused']")  # nothing pinned in a fresh browser
    assert "尚未固定交易中心验签公钥" in await page.inner_text("#center-pin-status")
    await page.fill("#center-pin", key_hex)
    await page.click("#center-pin-save")
    await page.wait_for_selector("body[data-opening-key='verified']")


async def load_module(page, portal) -> None:
    """Any bidder page carries the import map; the protocol module is then imported by tests."""
    await log_in_page(page, portal.url, "bidder3")
    await page.goto(portal.url + "/bidder/key")
    # The center key's status is written once libsodium is ready, whether or not a key is registered.
    # Selectors, not wait_for_function: its polling evaluates a string, which the pages' CSP forbids.
    await page.wait_for_selector("#center-pin-status:not(:empty)")


# ----------------------------------------------------------------------------- interoperability


async def test_the_js_canon_package_and_envelope_are_byte_for_byte_pythons(portal, page):
    await load_module(page, portal)
    tender_private = PrivateKey(bytes(range(0x20, 0x40)))
    seed = bytes(range(0x40, 0x60))
    k, k_b, nonce = bytes(range(0x60, 0x80)), bytes(range(0x80, 0xA0)), bytes(range(0xA0, 0xB8))
    offer = {"price_fen": 8_560_000_050, "duration_days": 365, "quality": "合格，争创“泰山杯”",
             "key_staff": ["李工", "王\t工"]}
    documents = {"技术标/施工组织设计.txt": "第一章\n".encode() * 50, "商务标.pdf": bytes(range(256)) * 4}
    objects = [offer, {"b": [1, -2, True, False, None], "a": {"z": "\u0001\u001f\"\\/\u2028😀"}},
               [], {}, "中文", 9007199254740991, {"protocol": "sealed-bid/1", "n": 0}]
    result = await page.evaluate("""async (args) => {
        const m = await import("/static/bidder/sealed_bid.js");
        await m.ready();
        const fromHex = m.fromHex;
        const docs = {};
        for (const [name, hex] of Object.entries(args.documents)) docs[name] = fromHex(hex);
        const payload = m.makePackage(args.offer, docs);
        const key = m.keyFromSeed(fromHex(args.seed));
        const { ciphertext, envelope } = m.seal(payload, "JN-2026-GC-0007", "91370800MA1234567Q",
            args.tenderPk, key, { k: fromHex(args.k), kB: fromHex(args.kB), nonce: fromHex(args.nonce) });
        const withdraw = m.withdrawRequest("JN-2026-GC-0007", "91370800MA1234567Q", m.envelopeSha256(envelope), key);
        let floatRefused = false;
        try { m.canon({ price: 1.5 }); } catch (e) { floatRefused = true; }
        return { canon: args.objects.map((o) => m.toHex(m.canon(o))), payload: m.toHex(payload),
                 ciphertext: m.toHex(ciphertext), envelope, envelopeSha256: m.envelopeSha256(envelope),
                 withdraw, verifyKey: key.verifyKeyHex, floatRefused,
                 keyFile: m.plainKeyFileText(key) };
    }""", {"offer": offer, "documents": {name: data.hex() for name, data in documents.items()},
           "seed": seed.hex(), "k": k.hex(), "kB": k_b.hex(), "nonce": nonce.hex(),
           "tenderPk": tender_private.public_key.encode().hex(), "objects": objects})

    assert [bytes.fromhex(h) for h in result["canon"]] == [canon(o) for o in objects]
    assert result["floatRefused"]
    signing_key = nacl.signing.SigningKey(seed)
    assert result["verifyKey"] == signing_key.verify_key.encode().hex()
    assert result["keyFile"] == seed.hex() + "\n"  # the plain key file `trading bid keygen` writes

    # The package reads as Python's: bid.json is canon(offer), every document as given.
    payload = bytes.fromhex(result["payload"])
    assert sealed_bid.read_package(payload) == (offer, documents)
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        assert archive.read("bid.json") == canon(offer)
        assert [info.date_time for info in archive.infolist()] == [(1980, 1, 1, 0, 0, 0)] * 3

    # Same K and nonce: the same ciphertext; the same halves and seed: the very same envelope.
    ciphertext = bytes.fromhex(result["ciphertext"])
    assert ciphertext == bytes(nacl.secret.SecretBox(k).encrypt(payload, nonce))
    envelope = result["envelope"]
    python_envelope = sealed_bid.make_envelope("JN-2026-GC-0007", "91370800MA1234567Q", ciphertext,
                                               bytes.fromhex(envelope["sealed_center"]),
                                               bytes.fromhex(envelope["sealed_bidder"]), signing_key)
    assert envelope == python_envelope
    assert result["envelopeSha256"] == sealed_bid.envelope_sha256(python_envelope)
    sealed_bid.verify_envelope(envelope, ciphertext, signing_key.verify_key)
    k_c = sealed_bid.open_center_half(envelope, tender_private)
    assert sealed_bid.open_bidder_half(envelope, signing_key) == k_b and k_c == sealed_bid.xor(k, k_b)
    assert sealed_bid.open_bid(ciphertext, k_c, k_b) == payload
    withdraw = result["withdraw"]
    assert withdraw["signature"] == signing_key.sign(canon(withdraw["request"])).signature.hex()


async def test_the_specs_test_vector_opens_in_the_browser(portal, page):
    # The spec's vector as tests/common/sealed_bid_vector.py holds it (the spec lies outside the repository).
    ciphertext_hex, envelope = VECTOR_CIPHERTEXT.hex(), dict(VECTOR_ENVELOPE)
    await load_module(page, portal)
    result = await page.evaluate("""async (args) => {
        const m = await import("/static/bidder/sealed_bid.js");
        await m.ready();
        const key = m.keyFromSeed(m.fromHex(args.seed));
        const ciphertext = m.fromHex(args.ciphertext);
        const kC = m.openCenterHalf(args.envelope, m.fromHex(args.tenderSk));
        const kB = m.openBidderHalf(args.envelope, key);
        const payload = m.openBid(ciphertext, kC, kB);
        let wrongKey = null;
        try { m.openBidderHalf(args.envelope, m.makeBidderKey()); } catch (e) { wrongKey = e.message; }
        return { payload: new TextDecoder().decode(payload), offer: m.readPackage(payload).offer,
                 signature: m.verifyEnvelopeSignature(args.envelope, key.verifyKeyHex),
                 sha: m.sha256Hex(ciphertext), size: ciphertext.length, envelopeSha256: m.envelopeSha256(args.envelope),
                 kB: m.toHex(kB), wrongKey };
    }""", {"seed": bytes(range(0x40, 0x60)).hex(), "tenderSk": bytes(range(0x20, 0x40)).hex(),
           "ciphertext": ciphertext_hex, "envelope": envelope})
    assert result["payload"] == '{"price_fen":123456700,"duration_days":180}'
    assert result["offer"] == {"price_fen": 123456700, "duration_days": 180}
    assert result["signature"] is True
    assert (result["sha"], result["size"]) == (envelope["ciphertext_sha256"], envelope["ciphertext_size"])
    assert result["envelopeSha256"] == sealed_bid.envelope_sha256(envelope)
    seed_key = nacl.signing.SigningKey(bytes(range(0x40, 0x60)))
    assert result["kB"] == sealed_bid.open_bidder_half(envelope, seed_key).hex()
    assert "投标人密钥无法解开" in result["wrongKey"]


# ----------------------------------------------------------------------------- the bidder's way through


async def test_a_bidder_registers_and_makes_its_key_in_the_browser(portal, page, engine, keys, tmp_path):
    code = await tender_in_bidding(engine, keys, prefix="BR")
    await log_in_page(page, portal.url, "bidder1")
    await page.goto(portal.url + "/workspace")
    await page.wait_for_selector("text=可报名项目（")  # the workspace's bidder section, loaded by htmx
    await page.goto(portal.url + "/bidder/")
    row = page.locator("tr", has_text=code)
    async with page.expect_navigation():
        await row.get_by_role("button", name="报名").click()
    main = await page.locator("main").inner_text()
    assert "准予报名" in main and "无需交纳" in main
    await page.shot("bidder-registered")

    await page.goto(portal.url + "/bidder/key")
    await page.wait_for_selector("#key-tools:not([hidden])")
    async with page.expect_download() as download_info:
        await page.click("#generate")
    download = await download_info.value
    assert download.suggested_filename == "bidder.key"
    key_file = tmp_path / "bidder.key"
    await download.save_as(key_file)
    text = key_file.read_text(encoding="utf-8")
    assert re.fullmatch(r"[0-9a-f]{64}\n", text)  # exactly what `trading bid keygen` writes
    key_file.chmod(0o600)
    signing_key = sealed_bid.load_key_file(key_file)
    verify_hex = signing_key.verify_key.encode().hex()
    assert await page.input_value("#f-verify_key") == verify_hex
    await page.shot("bidder-key-generated")
    # The center key shown for comparison is pinned in the browser as the key is registered.
    assert keys.key_id in await page.inner_text("#center-key-id")
    assert await page.evaluate("localStorage.getItem('sealed-bid.center-verify-key')") is None
    async with page.expect_navigation():
        await page.click("#register-key")
    assert verify_hex in await page.locator("#registered-key").inner_text()
    pinned = await page.evaluate("JSON.parse(localStorage.getItem('sealed-bid.center-verify-key'))")
    assert pinned["verify_key"] == keys.verify_key_hex
    await page.wait_for_selector("#center-pin-status.ok")
    assert keys.key_id in await page.inner_text("#center-pin-status")
    async with transaction(make_sessionmaker(engine)) as session:
        stored = await session.scalar(select(BidderKey.verify_key).join(
            Organisation, Organisation.id == BidderKey.organisation_id).where(
            Organisation.credit_code == LUJIAN, BidderKey.revoked_at.is_(None)))
    assert stored == verify_hex


async def test_the_key_is_rotated_in_the_browser_by_a_request_signed_with_the_current_key_file(
        portal, page, engine, tmp_path):
    current_file, stranger_file = tmp_path / "current.key", tmp_path / "stranger.key"
    current = bid_client.create_key_file(current_file)
    bid_client.create_key_file(stranger_file)
    await register_verify_key(engine, TAIHE, current)
    await log_in_page(page, portal.url, "bidder3")
    await page.goto(portal.url + "/bidder/key")
    await page.wait_for_selector("#rotation-tools:not([hidden])")
    assert await page.locator("#key-form").count() == 0  # no second registration once a key is current
    await page.set_input_files("#old-key-file", str(stranger_file))
    await page.wait_for_selector("#key-status.field-error")
    assert "不是本单位现用的身份密钥" in await page.inner_text("#key-status")
    await page.set_input_files("#old-key-file", str(current_file))
    await page.wait_for_selector("body[data-old-key-ready='1']", state="attached")
    async with page.expect_download() as download_info:
        await page.click("#generate")
    new_file = tmp_path / "new.key"
    await (await download_info.value).save_as(new_file)
    new_file.chmod(0o600)
    new_hex = sealed_bid.load_key_file(new_file).verify_key.encode().hex()
    assert await page.input_value("#f-new_verify_key") == new_hex  # the reset form is offered the same new key
    await page.shot("bidder-key-rotation")
    async with page.expect_navigation():
        await page.click("#rotate")
    assert new_hex in await page.locator("#registered-key").inner_text()
    assert "以旧密钥签名轮换" in await page.locator("#key-history").inner_text()
    async with transaction(make_sessionmaker(engine)) as session:
        stored = await session.scalar(select(BidderKey).join(Organisation, Organisation.id == BidderKey.organisation_id)
                                      .where(Organisation.credit_code == TAIHE, BidderKey.revoked_at.is_(None)))
    assert (stored.verify_key, stored.how) == (new_hex, "rotated")
    request, signature = stored.rotation["request"], stored.rotation["signature"]
    current.verify_key.verify(canon(request), bytes.fromhex(signature))  # signed by the old key, in the page


async def test_a_bid_sealed_in_the_browser_is_accepted_and_opens_at_the_opening_with_the_key_file(
        portal, page, engine, keys, tmp_path):
    code = await tender_in_bidding(engine, keys, prefix="BS")
    await register_for(engine, code, TAIHE)
    key_file = tmp_path / "bidder.key"
    signing_key = bid_client.create_key_file(key_file)  # made on the command line, used in the browser
    await register_verify_key(engine, TAIHE, signing_key)
    big = tmp_path / "技术标.bin"
    big.write_bytes(secrets.token_bytes(24 * 1024 * 1024))  # incompressible: the upload is large
    small = tmp_path / "商务标.txt"
    small.write_text("投标函\n", encoding="utf-8")

    await log_in_page(page, portal.url, "bidder3")
    await page.goto(f"{portal.url}/bidder/tenders/{code}/bid")
    await page.wait_for_selector("#sealing:not([hidden])")
    await pin_center_key(page, keys.verify_key_hex)
    assert "开标公钥记录已核验" in await page.inner_text("#opening-key-status")
    await page.set_input_files("#key-file", str(key_file))
    await page.wait_for_selector("#key-status.ok")
    assert "与登记一致" in await page.inner_text("#key-status")
    # A price that is not an amount is refused beside its field, nothing is sealed.
    await page.fill("#f-price_yuan", "八千万")
    await page.click("#seal-submit")
    assert "以元为单位" in await page.inner_text("#e-price_yuan")
    await page.fill("#f-price_yuan", "85,600,000.50")
    await page.fill("#f-duration_days", "365")
    await page.fill("#f-key_staff", "李工、王工")
    await page.set_input_files("#f-documents", [str(big), str(small)])
    await page.evaluate("""() => {
        window.__progress = [];
        new MutationObserver(() => window.__progress.push(document.getElementById("upload-progress").value))
            .observe(document.getElementById("progress-text"), { childList: true, characterData: true, subtree: true });
    }""")
    await page.click("#seal-submit")
    await page.wait_for_selector("#receipt-digest", timeout=120_000)
    await page.shot("bidder-bid-submitted")
    result = await page.inner_text("#result")
    assert "投标文件已递交" in result and "85,600,000.50 元" in result and "核验通过" in result
    assert "序号" not in result  # nothing tells the bidder how many came before it
    assert await page.evaluate("document.getElementById('upload-progress').value") == 100
    assert len(await page.evaluate("window.__progress")) >= 1
    assert "MiB" in await page.inner_text("#progress-text")
    digest = await page.inner_text("#receipt-digest")

    async with transaction(make_sessionmaker(engine)) as session:
        bid = await session.scalar(select(Bid).where(Bid.envelope_sha256 == digest))
        assert bid is not None and bid.status == "submitted" and bid.size > 24 * 1024 * 1024
        assert b"price_fen" not in bid.ciphertext[:4096]
        sealed_bid.verify_receipt(bid.receipt, bid.receipt_signature, keys.verify_key_hex, bid.envelope)

    # The opening: the window opens; the bidder decrypts here with its key file.
    await open_now(engine, keys, code)
    await page.goto(f"{portal.url}/bidder/tenders/{code}/opening")
    await page.wait_for_selector("#decrypt-panel:not([hidden])")
    await page.shot("bidder-opening-window")
    await page.set_input_files("#key-file", str(key_file))
    await page.wait_for_selector("#own-price", timeout=20_000)  # the batch opener's event, live
    await page.shot("bidder-opening-decrypted")
    assert "已解密" in await page.inner_text("#own-state")
    assert "85,600,000.50 元" in await page.inner_text("#own-price")
    async with transaction(make_sessionmaker(engine)) as session:
        record = await opening_record(session, code)
    entry = next(e for e in record["entries"] if e["bidder_credit_code"] == TAIHE)
    assert (entry["state"], entry["price_fen"], entry["duration_days"]) == ("decrypted", 8_560_000_050, 365)


async def test_a_bid_is_superseded_and_withdrawn_with_a_signed_request(portal, page, engine, keys, tmp_path):
    code = await tender_in_bidding(engine, keys, prefix="BX")
    await register_for(engine, code, TAIHE)
    key_file = tmp_path / "bidder.key"
    # A passphrase-derived key file from the command line (cheap argon2id parameters for the test).
    passphrase = "济宁投标口令2026"
    signing_key = sealed_bid.save_passphrase_key_file(key_file, passphrase, opslimit=1, memlimit=8192)
    await register_verify_key(engine, TAIHE, signing_key)
    await log_in_page(page, portal.url, "bidder3")

    async def seal_with(price: str) -> str:
        await page.goto(f"{portal.url}/bidder/tenders/{code}/bid")
        await page.wait_for_selector("#sealing:not([hidden])")
        await page.wait_for_selector("body[data-sealing-ready='1']")
        if await page.get_attribute("body", "data-opening-key") != "verified":
            await pin_center_key(page, keys.verify_key_hex)  # once: the browser keeps it
        await page.set_input_files("#key-file", str(key_file))
        await page.wait_for_selector("#key-passphrase-label:not([hidden])")
        await page.fill("#key-passphrase", passphrase)
        await page.click("#key-load")
        await page.wait_for_selector("#key-status.ok")
        await page.fill("#f-price_yuan", price)
        await page.click("#seal-submit")
        await page.wait_for_selector("#receipt-digest")
        return await page.inner_text("#receipt-digest")

    first = await seal_with("1000000")
    second = await seal_with("990000.99")
    assert "已被本次递交替换" in await page.inner_text("#result")
    await page.goto(f"{portal.url}/bidder/tenders/{code}")
    table = await page.locator("table.bids").inner_text()
    assert first in table and second in table and "已被替换" in table

    await page.goto(f"{portal.url}/bidder/tenders/{code}/bid")
    await page.wait_for_selector("#sealing:not([hidden])")
    await page.set_input_files("#key-file", str(key_file))
    await page.fill("#key-passphrase", passphrase)
    await page.click("#key-load")
    await page.wait_for_selector("#withdraw:not([disabled])")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.click("#withdraw")
    await page.wait_for_selector("body[data-withdrawn='1']")
    assert "已撤回" in await page.inner_text("#result") and "核验通过" in await page.inner_text("#result")
    await page.shot("bidder-bid-withdrawn")
    async with transaction(make_sessionmaker(engine)) as session:
        statuses = dict((await session.execute(select(Bid.envelope_sha256, Bid.status).where(
            Bid.envelope_sha256.in_([first, second])))).all())
    assert statuses == {first: "superseded", second: "withdrawn"}


async def test_a_passphrase_key_file_made_in_the_browser_loads_on_the_command_line(portal, page, tmp_path):
    await load_module(page, portal)
    passphrase = "济宁投标口令 2026"
    made = await page.evaluate("""async (pass) => {
        const m = await import("/static/bidder/sealed_bid.js");
        await m.ready();
        const { key, text } = m.passphraseKeyFile(pass);  // argon2id with the command line's parameters
        let wrong = null;
        try { m.loadKeyFile(text, pass + "x"); } catch (e) { wrong = e.message; }
        return { text, verifyKey: key.verifyKeyHex, wrong };
    }""", passphrase)
    record = json.loads(made["text"])
    assert made["text"] == canon(record).decode() + "\n"
    assert (record["format"], record["kdf"], record["opslimit"], record["memlimit"]) == (
        "sealed-bid-key/1", "argon2id", sealed_bid.ARGON2ID_OPSLIMIT, sealed_bid.ARGON2ID_MEMLIMIT)
    key_file = tmp_path / "bidder.key"
    key_file.write_text(made["text"], encoding="utf-8")
    key_file.chmod(0o600)
    assert sealed_bid.load_key_file(key_file, passphrase).verify_key.encode().hex() == made["verifyKey"]
    assert "口令错误" in made["wrong"]


# ----------------------------------------------------------------------------- the opening key record


async def test_the_page_refuses_to_seal_to_an_opening_key_record_that_does_not_verify(
        portal, page, engine, keys, tmp_path):
    code = await tender_in_bidding(engine, keys, prefix="BK")
    other = await tender_in_bidding(engine, keys, prefix="BK")
    await register_for(engine, code, TAIHE)
    key_file = tmp_path / "bidder.key"
    await register_verify_key(engine, TAIHE, bid_client.create_key_file(key_file))
    await log_in_page(page, portal.url, "bidder3")
    await page.goto(f"{portal.url}/bidder/tenders/{code}/bid")  # the same origin: fetch the genuine records
    genuine = await page.evaluate("async (c) => (await fetch(`/api/projects/${c}/opening-key`)).json()", code)
    elsewhere = await page.evaluate("async (c) => (await fetch(`/api/projects/${c}/opening-key`)).json()", other)
    substitute = PrivateKey.generate().public_key.encode().hex()
    impostor = CenterKeys(signing_key=nacl.signing.SigningKey.generate(), kek=bytes(32))
    signed_by_impostor = {**genuine, "signature": impostor.sign(genuine["record"])}
    served = {"answer": genuine}

    async def answer(route) -> None:
        await route.fulfill(status=200, content_type="application/json", body=json.dumps(served["answer"]))

    await page.route(f"**/api/projects/{code}/opening-key", answer)

    async def refused(answer_given: dict, expected: str) -> None:
        served["answer"] = answer_given
        await page.goto(f"{portal.url}/bidder/tenders/{code}/bid")
        await page.wait_for_selector("body[data-sealing-ready='1']")
        await page.set_input_files("#key-file", str(key_file))
        await page.wait_for_selector("#key-status.ok")
        assert await page.get_attribute("body", "data-opening-key") == "refused"
        assert expected in await page.inner_text("#opening-key-status")
        assert await page.is_disabled("#seal-submit")  # no way to seal to it

    # A fresh browser has no pinned key: even the genuine record is not trusted on the server's word.
    served["answer"] = genuine
    await page.goto(f"{portal.url}/bidder/tenders/{code}/bid")
    await pin_center_key(page, keys.verify_key_hex)

    tampered = {**genuine, "record": {**genuine["record"], "public_key": substitute}, "public_key": substitute}
    await refused(tampered, "签名无法用已固定的交易中心验签公钥核验")
    await page.shot("bidder-opening-key-refused")
    await refused(signed_by_impostor, "签名无法用已固定的交易中心验签公钥核验")
    await refused(elsewhere, f"属于项目「{other}」，不是本项目「{code}」")
    # A pinned key that is not the center's refuses even the genuine record.
    await page.evaluate("(k) => localStorage.setItem('sealed-bid.center-verify-key', JSON.stringify({verify_key: k}))",
                        impostor.verify_key_hex)
    await refused(genuine, "签名无法用已固定的交易中心验签公钥核验")

    # The genuine record with the center's key pinned: the bid seals and is receipted.
    await page.evaluate("(k) => localStorage.setItem('sealed-bid.center-verify-key', JSON.stringify({verify_key: k}))",
                        keys.verify_key_hex)
    served["answer"] = genuine
    await page.goto(f"{portal.url}/bidder/tenders/{code}/bid")
    await page.wait_for_selector("body[data-opening-key='verified']")
    await page.set_input_files("#key-file", str(key_file))
    await page.wait_for_selector("#key-status.ok")
    await page.fill("#f-price_yuan", "1234567.00")
    await page.click("#seal-submit")
    await page.wait_for_selector("#receipt-digest", timeout=60_000)
    digest = await page.inner_text("#receipt-digest")
    async with transaction(make_sessionmaker(engine)) as session:
        bid = await session.scalar(select(Bid).where(Bid.envelope_sha256 == digest))
    assert bid is not None and bid.envelope["tender_code"] == code
    assert sealed_bid.open_center_half(bid.envelope, PrivateKey(keys.unseal(await _sealed_private(engine, code))))


async def _sealed_private(engine, code: str) -> bytes:
    from bidding.bids.opening_keys import TenderOpeningKey
    from bidding.tender.projects import Project

    async with transaction(make_sessionmaker(engine)) as session:
        return await session.scalar(select(TenderOpeningKey.sealed_private).join(
            Project, Project.id == TenderOpeningKey.project_id).where(Project.code == code))
