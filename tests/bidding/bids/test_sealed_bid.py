"""sealed-bid/1: the spec's test vector, sealing and opening, receipts (/2, and /1 issued
before revision 2), the signed opening key record, the bid package, bidder key files, and
the bidder's command line (which seals only to a record verified with the pinned center key)."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import stat
import zipfile
from datetime import UTC, datetime, timedelta, timezone

import nacl.pwhash
import nacl.secret
import nacl.signing
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.public import PrivateKey

from bidding.bids import packaging as bid_client
from bidding.bids import sealed_bid as sb
from cli.main import main
from trading.errors import DomainError, InvalidInput
from tests.common.sealed_bid_vector import (
    BIDDER_KEY,
    CENTER,
    TENDER_KEY,
    VECTOR_CIPHERTEXT,
    VECTOR_ENVELOPE,
    VECTOR_PAYLOAD,
)
from trading.keys import CenterKeys

FAST_ARGON2 = {"opslimit": nacl.pwhash.argon2id.OPSLIMIT_MIN, "memlimit": nacl.pwhash.argon2id.MEMLIMIT_MIN}


def vector_envelope() -> dict:
    return copy.deepcopy(VECTOR_ENVELOPE)


def sealed(payload: bytes = VECTOR_PAYLOAD) -> tuple[bytes, dict]:
    return sb.seal(payload, "JN-2026-GC-0007", "91370800MA3C5K8E74", TENDER_KEY.public_key, BIDDER_KEY)


# --------------------------------------------------------------------------- the spec's test vector


def test_the_vector_envelope_is_signed_by_the_bidder_and_matches_its_ciphertext():
    envelope = vector_envelope()
    sb.verify_envelope(envelope, VECTOR_CIPHERTEXT, BIDDER_KEY.verify_key,
                       tender_code="JN-2026-GC-0007", bidder_code="91370800MA3C5K8E74")
    body = {name: envelope[name] for name in sb.ENVELOPE_FIELDS}
    BIDDER_KEY.verify_key.verify(sb.canon(body), bytes.fromhex(envelope["signature"]))
    assert len(VECTOR_CIPHERTEXT) == envelope["ciphertext_size"] == 83
    assert hashlib.sha256(VECTOR_CIPHERTEXT).hexdigest() == envelope["ciphertext_sha256"]


def test_the_vector_opens_with_both_halves_into_the_offer():
    envelope = vector_envelope()
    k_c = sb.open_center_half(envelope, TENDER_KEY)
    k_b = sb.open_bidder_half(envelope, BIDDER_KEY)
    k = sb.xor(k_c, k_b)
    assert nacl.secret.SecretBox(k).decrypt(VECTOR_CIPHERTEXT) == VECTOR_PAYLOAD
    payload = sb.open_bid(VECTOR_CIPHERTEXT, k_c, k_b)
    assert payload == VECTOR_PAYLOAD
    assert sb.read_package(payload) == ({"price_fen": 123456700, "duration_days": 180}, {})


def test_the_vector_envelope_names_its_tender_and_bidder():
    with pytest.raises(sb.EnvelopeRejected) as wrong_tender:
        sb.verify_envelope(vector_envelope(), VECTOR_CIPHERTEXT, BIDDER_KEY.verify_key, tender_code="JN-2026-GC-0008")
    assert wrong_tender.value.details["check"] == "tender_code"
    with pytest.raises(sb.EnvelopeRejected) as wrong_bidder:
        sb.verify_envelope(vector_envelope(), VECTOR_CIPHERTEXT, BIDDER_KEY.verify_key, bidder_code="91370800MA3C5K8E7X")
    assert wrong_bidder.value.details["check"] == "bidder_code"


def test_another_bidders_key_neither_verifies_nor_opens_the_vector():
    other = nacl.signing.SigningKey(bytes(range(0x60, 0x80)))
    with pytest.raises(sb.EnvelopeRejected) as rejected:
        sb.verify_envelope(vector_envelope(), VECTOR_CIPHERTEXT, other.verify_key.encode().hex())
    assert rejected.value.details["check"] == "signature"
    with pytest.raises(sb.BidNotDecrypted) as not_opened:
        sb.open_bidder_half(vector_envelope(), other)
    assert not_opened.value.details["reason"] == "bidder_half"
    with pytest.raises(sb.BidNotDecrypted) as wrong_tender:
        sb.open_center_half(vector_envelope(), PrivateKey(bytes(32)))
    assert wrong_tender.value.details["reason"] == "center_half"


def test_a_receipt_names_the_envelope_is_signed_by_the_center_and_carries_no_count():
    # Revision 2 (招标投标法 第二十二条): sealed-bid-receipt/2, no sequence.
    center = CENTER
    envelope = vector_envelope()
    received = datetime(2026, 11, 22, 17, 0, tzinfo=timezone(timedelta(hours=8)))
    record = sb.receipt_record(envelope, received)
    assert list(record) == ["protocol", "tender_code", "bidder_code", "ciphertext_sha256", "envelope_sha256",
                            "received_at"]
    assert record["protocol"] == "sealed-bid-receipt/2" and "sequence" not in record
    assert record["received_at"] == "2026-11-22T09:00:00.000000Z"
    assert record["envelope_sha256"] == hashlib.sha256(sb.canon(envelope)).hexdigest() == sb.envelope_sha256(envelope)
    assert record["ciphertext_sha256"] == envelope["ciphertext_sha256"]
    signature = center.sign(record)
    sb.verify_receipt(record, signature, center.verify_key_hex, envelope)
    with pytest.raises(sb.EnvelopeRejected):  # a count added to a /2 receipt: not the format, not the signed record
        sb.verify_receipt(record | {"sequence": 8}, signature, center.verify_key_hex, envelope)
    other_envelope = vector_envelope() | {"ciphertext_size": 84}
    with pytest.raises(sb.EnvelopeRejected):
        sb.verify_receipt(record, signature, center.verify_key_hex, other_envelope)
    with pytest.raises(InvalidInput):
        sb.receipt_record(envelope, datetime(2026, 11, 22, 9, 0))


def test_a_receipt_issued_as_sealed_bid_receipt_1_still_verifies():
    envelope = vector_envelope()
    old = {"protocol": "sealed-bid-receipt/1", "tender_code": envelope["tender_code"],
           "bidder_code": envelope["bidder_code"], "ciphertext_sha256": envelope["ciphertext_sha256"],
           "envelope_sha256": sb.envelope_sha256(envelope), "received_at": "2026-11-22T09:00:00.000000Z",
           "sequence": 7}
    signature = CENTER.sign(old)
    sb.verify_receipt(old, signature, CENTER.verify_key_hex, envelope)
    without_count = {name: value for name, value in old.items() if name != "sequence"}
    with pytest.raises(sb.EnvelopeRejected, match="回执格式"):  # a /1 receipt always carried its sequence
        sb.verify_receipt(without_count, signature, CENTER.verify_key_hex, envelope)
    with pytest.raises(sb.EnvelopeRejected, match="回执签名无效"):
        sb.verify_receipt(old | {"sequence": 1}, signature, CENTER.verify_key_hex, envelope)
    with pytest.raises(sb.EnvelopeRejected, match="回执签名无效"):  # relabelled /2: the signature no longer holds
        sb.verify_receipt(without_count | {"protocol": "sealed-bid-receipt/2"}, signature, CENTER.verify_key_hex,
                          envelope)


# --------------------------------------------------------------------------- the opening key record


def opening_key_answer(tender_code: str = "JN-2026-GC-0007", center: CenterKeys = CENTER,
                       public_key: str | None = None) -> dict:
    """What GET /api/projects/{code}/opening-key answers, signed by ``center``."""
    record = sb.opening_key_record(tender_code, public_key or TENDER_KEY.public_key.encode().hex(),
                                   datetime(2026, 11, 1, 1, 2, 3, tzinfo=UTC))
    return {"record": record, "signature": center.sign(record), "public_key": record["public_key"]}


def test_the_opening_key_record_verifies_only_for_its_tender_and_the_pinned_center_key():
    answer = opening_key_answer()
    assert answer["record"] == {"protocol": "sealed-bid-opening-key/1", "tender_code": "JN-2026-GC-0007",
                                "public_key": TENDER_KEY.public_key.encode().hex(),
                                "published_at": "2026-11-01T01:02:03.000000Z"}
    public = sb.verify_opening_key_record(answer["record"], answer["signature"], CENTER.verify_key_hex,
                                          tender_code="JN-2026-GC-0007")
    assert public == TENDER_KEY.public_key.encode().hex()

    def refused(record, signature, center_key=CENTER.verify_key_hex, tender="JN-2026-GC-0007") -> str:
        with pytest.raises(sb.OpeningKeyRejected) as refusal:
            sb.verify_opening_key_record(record, signature, center_key, tender_code=tender)
        return refusal.value.details["check"]

    substituted = answer["record"] | {"public_key": PrivateKey(bytes(32)).public_key.encode().hex()}
    assert refused(substituted, answer["signature"]) == "signature"
    assert refused(answer["record"] | {"published_at": "2026-11-01T01:02:04.000000Z"}, answer["signature"]) == \
        "signature"
    other_center = CenterKeys(signing_key=nacl.signing.SigningKey(bytes(range(1, 33))), kek=bytes(32))
    assert refused(answer["record"], answer["signature"], other_center.verify_key_hex) == "signature"
    forged = opening_key_answer(center=other_center)
    assert refused(forged["record"], forged["signature"]) == "signature"
    elsewhere = opening_key_answer("JN-2026-GC-0008")  # genuine, but another tender's
    assert refused(elsewhere["record"], elsewhere["signature"]) == "tender_code"
    assert refused(answer["record"] | {"extra": 1}, answer["signature"]) == "format"
    assert refused(answer["record"] | {"protocol": "sealed-bid/1"}, answer["signature"]) == "format"
    assert refused(None, answer["signature"]) == "format"
    assert refused(answer["record"], None) == "signature"


# --------------------------------------------------------------------------- sealing and opening


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=4096))
def test_any_payload_seals_verifies_and_opens_again(payload):
    ciphertext, envelope = sealed(payload)
    sb.verify_envelope(envelope, ciphertext, BIDDER_KEY.verify_key)
    assert envelope["ciphertext_size"] == len(payload) + sb.MIN_CIPHERTEXT_SIZE
    assert set(envelope) == {*sb.ENVELOPE_FIELDS, "signature"}
    assert json.loads(json.dumps(envelope)) == envelope
    k_c, k_b = sb.open_center_half(envelope, TENDER_KEY), sb.open_bidder_half(envelope, BIDDER_KEY)
    assert sb.open_bid(ciphertext, k_c, k_b) == payload


def _tampered(value):
    if isinstance(value, int):
        return value + 1
    # Keep hex valid where it is hex, so the change reaches the signature check.
    last = value[-1]
    return value[:-1] + ("0" if last != "0" else "1")


@settings(max_examples=60, deadline=None)
@given(field=st.sampled_from([*sb.ENVELOPE_FIELDS, "signature"]), payload=st.binary(max_size=256))
def test_tampering_with_any_envelope_field_is_detected(field, payload):
    ciphertext, envelope = sealed(payload)
    envelope[field] = _tampered(envelope[field])
    with pytest.raises(sb.EnvelopeRejected):
        sb.verify_envelope(envelope, ciphertext, BIDDER_KEY.verify_key)


@settings(max_examples=60, deadline=None)
@given(payload=st.binary(max_size=256), data=st.data())
def test_tampering_with_any_ciphertext_byte_is_detected(payload, data):
    ciphertext, envelope = sealed(payload)
    index = data.draw(st.integers(0, len(ciphertext) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = bytearray(ciphertext)
    tampered[index] ^= flip
    with pytest.raises(sb.EnvelopeRejected) as rejected:
        sb.verify_envelope(envelope, bytes(tampered), BIDDER_KEY.verify_key)
    assert rejected.value.details["check"] == "sha256"
    # Even past the hash check, the MAC refuses it.
    k_c, k_b = sb.open_center_half(envelope, TENDER_KEY), sb.open_bidder_half(envelope, BIDDER_KEY)
    with pytest.raises(sb.BidNotDecrypted):
        sb.open_bid(bytes(tampered), k_c, k_b)


def test_a_truncated_or_extended_ciphertext_fails_on_size():
    ciphertext, envelope = sealed()
    for wrong in (ciphertext[:-1], ciphertext + b"\0"):
        with pytest.raises(sb.EnvelopeRejected) as rejected:
            sb.verify_envelope(envelope, wrong, BIDDER_KEY.verify_key)
        assert rejected.value.details["check"] == "size"


@settings(max_examples=40, deadline=None)
@given(payload=st.binary(max_size=256), wrong_k_b=st.binary(min_size=32, max_size=32))
def test_a_wrong_bidder_half_means_not_decrypted(payload, wrong_k_b):
    ciphertext, envelope = sealed(payload)
    k_c, k_b = sb.open_center_half(envelope, TENDER_KEY), sb.open_bidder_half(envelope, BIDDER_KEY)
    if wrong_k_b == k_b:
        return
    with pytest.raises(sb.BidNotDecrypted) as failed:
        sb.open_bid(ciphertext, k_c, wrong_k_b)
    assert failed.value.details["reason"] == "content_key"
    assert "未解密" in failed.value.message and k_c.hex() not in failed.value.message


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=1, max_size=256))
def test_neither_half_alone_reveals_the_payload(payload):
    ciphertext, envelope = sealed(payload)
    k_c, k_b = sb.open_center_half(envelope, TENDER_KEY), sb.open_bidder_half(envelope, BIDDER_KEY)
    assert k_c != k_b
    for half in (k_c, k_b):
        with pytest.raises(sb.BidNotDecrypted):
            sb.open_bid(ciphertext, half, bytes(32))  # the half used as if it were K
        with pytest.raises(sb.BidNotDecrypted):
            sb.open_bid(ciphertext, half, half)
    assert len(payload) < 8 or payload not in ciphertext


def test_malformed_key_halves_are_not_keys():
    ciphertext, envelope = sealed()
    with pytest.raises(sb.BidNotDecrypted):
        sb.open_bid(ciphertext, bytes(31), bytes(32))
    with pytest.raises(InvalidInput):
        sb.key_half_from_hex("xyz")
    with pytest.raises(InvalidInput):
        sb.key_half_from_hex("00" * 31)
    k_b = sb.open_bidder_half(envelope, BIDDER_KEY)
    assert sb.key_half_from_hex(f" {k_b.hex()}\n") == k_b


@pytest.mark.parametrize("change", [
    lambda e: e.pop("sealed_bidder"),
    lambda e: e.update(extra="x"),
    lambda e: e.update(protocol="sealed-bid/2"),
    lambda e: e.update(ciphertext_size="83"),
    lambda e: e.update(ciphertext_size=True),
    lambda e: e.update(ciphertext_sha256=e["ciphertext_sha256"].upper()),
    lambda e: e.update(sealed_center=e["sealed_center"][:-2]),
    lambda e: e.update(tender_code=""),
], ids=["missing", "extra", "protocol", "size-string", "size-bool", "uppercase-hex", "short-half", "empty-code"])
def test_an_envelope_not_in_the_format_is_refused_before_any_crypto(change):
    envelope = vector_envelope()
    change(envelope)
    with pytest.raises(sb.EnvelopeRejected) as rejected:
        sb.verify_envelope(envelope, VECTOR_CIPHERTEXT, BIDDER_KEY.verify_key)
    assert rejected.value.details["check"] == "format"
    assert rejected.value.message.startswith("投标信封")


def test_sealing_refuses_a_bad_tender_key_or_empty_codes():
    with pytest.raises(InvalidInput):
        sb.seal(b"x", "JN-2026-GC-0007", "91370800MA3C5K8E74", "abcd", BIDDER_KEY)
    with pytest.raises(InvalidInput):
        sb.seal(b"x", " ", "91370800MA3C5K8E74", TENDER_KEY.public_key, BIDDER_KEY)
    _, envelope = sb.seal(b"x", "JN-2026-GC-0007", "91370800MA3C5K8E74", TENDER_KEY.public_key.encode().hex(),
                          BIDDER_KEY)
    sb.open_center_half(envelope, TENDER_KEY)


def test_every_seal_uses_fresh_keys():
    (c1, e1), (c2, e2) = sealed(), sealed()
    assert c1 != c2 and e1["sealed_center"] != e2["sealed_center"] and e1["sealed_bidder"] != e2["sealed_bidder"]
    assert sb.open_center_half(e1, TENDER_KEY) != sb.open_center_half(e2, TENDER_KEY)


# --------------------------------------------------------------------------- the bid package

_name_part = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="/\\:"),
                     min_size=1, max_size=12).filter(lambda part: part not in (".", ".."))
_document_name = st.lists(_name_part, min_size=1, max_size=3).map("/".join).filter(lambda n: n != sb.BID_JSON)
_offer = st.fixed_dictionaries(
    {"price_fen": st.integers(0, sb.MAX_SAFE_INTEGER), "duration_days": st.integers(1, 3650)},
    optional={"quality": st.text(max_size=20), "key_staff": st.lists(st.text(max_size=8), max_size=3)},
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(offer=_offer, documents=st.dictionaries(_document_name, st.binary(max_size=512), max_size=4))
def test_a_package_reads_back_as_made_and_seals_through(offer, documents):
    package = sb.make_package(offer, documents)
    assert sb.make_package(offer, documents) == package  # the same bid, the same bytes
    assert sb.read_package(package) == (offer, documents)
    ciphertext, envelope = sealed(package)
    payload = sb.open_bid(ciphertext, sb.open_center_half(envelope, TENDER_KEY), sb.open_bidder_half(envelope, BIDDER_KEY))
    assert sb.read_package(payload) == (offer, documents)


@pytest.mark.parametrize("offer", [
    {"price_fen": 12345.67}, {"price_fen": "123"}, {"price_fen": True}, {"price_fen": -1}, {"price_fen": 2**53},
    {"duration_days": 30}, {"price_fen": 1, "duration_days": 0}, {"price_fen": 1, "rate": 0.5}, [1, 2],
], ids=["float", "string", "bool", "negative", "too-big", "no-price", "zero-days", "float-elsewhere", "not-object"])
def test_an_offer_must_be_in_integer_fen(offer):
    with pytest.raises(InvalidInput):
        sb.make_package(offer, {})  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        sb.read_package(json.dumps(offer).encode())


def test_a_bare_json_offer_is_strict():
    assert sb.read_package('\ufeff{"price_fen": 5}'.encode()) == ({"price_fen": 5}, {})
    for bad in (b'{"price_fen": 1, "price_fen": 2}', b'{"price_fen": 1e3}', b'{"price_fen": NaN}', b"\xff\xfe",
                b"not json", b""):
        with pytest.raises(InvalidInput):
            sb.read_package(bad)


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("name", ["../evil.pdf", "/etc/passwd", "a//b", "a\\b.pdf", "C:/x", "./a", "a/../b",
                                  "bid.json", "x\x00y", ""])
def test_unsafe_document_names_are_refused(name):
    with pytest.raises(InvalidInput):
        sb.make_package({"price_fen": 1}, {name: b"x"})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bid.json", '{"price_fen":1}')
        if name and name != "bid.json" and "\x00" not in name:
            archive.writestr(name, b"x")
        else:
            archive.writestr("bid.json", '{"price_fen":2}')  # a second bid.json is refused too
    with pytest.raises(InvalidInput):
        sb.read_package(buffer.getvalue())


def test_a_package_needs_bid_json_and_a_sound_zip():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("报价.pdf", b"x")
    with pytest.raises(InvalidInput, match="缺少 bid.json"):
        sb.read_package(buffer.getvalue())
    package = bytearray(sb.make_package({"price_fen": 1}, {"a.pdf": b"hello" * 100}))
    document = zipfile.ZipFile(io.BytesIO(bytes(package))).getinfo("a.pdf")
    package[document.header_offset + 30 + len("a.pdf") + document.compress_size // 2] ^= 0xFF  # its data
    with pytest.raises(InvalidInput):
        sb.read_package(bytes(package))
    with pytest.raises(InvalidInput, match="解压后超过"):
        sb.read_package(sb.make_package({"price_fen": 1}, {"a.pdf": bytes(2048)}), max_content=1024)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_damaged_payload_is_refused_with_a_clear_error_never_a_crash(data):
    package = sb.make_package({"price_fen": 1, "duration_days": 2}, {"a.pdf": b"hello " * 50, "b/c.txt": b"x"})
    damaged = bytearray(package)
    for index in data.draw(st.lists(st.integers(0, len(package) - 1), min_size=1, max_size=4)):
        damaged[index] ^= data.draw(st.integers(1, 255))
    payload = data.draw(st.sampled_from([bytes(damaged), bytes(damaged[:data.draw(st.integers(0, len(package)))])]))
    try:
        offer, documents = sb.read_package(payload)
    except InvalidInput as refused:
        assert refused.message
    else:
        sb.check_offer(offer)
        assert all(sb.check_document_name(name) for name in documents)


def test_chinese_names_written_without_the_utf8_flag_are_read_as_gbk():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bid.json", '{"price_fen":1}')
        info = zipfile.ZipInfo("x" * len("资质/营业执照.pdf".encode("gbk")))
        archive.writestr(info, b"pdf")
    raw = buffer.getvalue().replace(b"x" * len("资质/营业执照.pdf".encode("gbk")), "资质/营业执照.pdf".encode("gbk"))
    assert sb.read_package(raw) == ({"price_fen": 1}, {"资质/营业执照.pdf": b"pdf"})


# --------------------------------------------------------------------------- bidder key files


def test_a_key_file_is_private_reloads_and_is_never_overwritten(tmp_path):
    key = sb.make_bidder_key()
    path = tmp_path / "bidder.key"
    sb.save_key_file(path, key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sb.load_key_file(path).encode() == key.encode()
    assert not sb.key_file_needs_passphrase(path)
    with pytest.raises(InvalidInput, match="已存在"):
        sb.save_key_file(path, sb.make_bidder_key())
    assert sb.load_key_file(path).encode() == key.encode()
    assert sb.make_bidder_key().encode() != key.encode()


def test_a_broken_or_missing_key_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.key"
    bad.write_text("not hex")
    with pytest.raises(InvalidInput, match="十六进制"):
        sb.load_key_file(bad)
    short = tmp_path / "short.key"
    short.write_text("00" * 31)
    with pytest.raises(InvalidInput, match="长度错误"):
        sb.load_key_file(short)
    with pytest.raises(InvalidInput, match="找不到"):
        sb.load_key_file(tmp_path / "absent.key")


def test_a_passphrase_key_is_reproducible_and_its_file_holds_no_seed(tmp_path):
    path = tmp_path / "bidder.key"
    key = sb.save_passphrase_key_file(path, "投标口令 correct horse", **FAST_ARGON2)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sb.key_file_needs_passphrase(path)
    assert key.encode().hex() not in path.read_text()
    assert sb.load_key_file(path, "投标口令 correct horse").encode() == key.encode()
    # The same passphrase and salt give the same key anywhere (here: with the salt from the file).
    record = json.loads(path.read_text())
    again = sb.derive_bidder_key("投标口令 correct horse", bytes.fromhex(record["salt"]), record["opslimit"],
                                 record["memlimit"])
    assert again.encode() == key.encode()
    # A passphrase typed in another Unicode normal form is the same passphrase.
    decomposed = sb.save_passphrase_key_file(tmp_path / "nfd.key", "cafe\u0301 passphrase", **FAST_ARGON2)
    assert sb.load_key_file(tmp_path / "nfd.key", "caf\u00e9 passphrase").encode() == decomposed.encode()
    with pytest.raises(InvalidInput, match="口令错误"):
        sb.load_key_file(path, "wrong passphrase")
    with pytest.raises(InvalidInput, match="请提供口令"):
        sb.load_key_file(path)
    with pytest.raises(InvalidInput, match="至少"):
        sb.save_passphrase_key_file(tmp_path / "weak.key", "short", **FAST_ARGON2)


def test_a_new_passphrase_file_gets_a_new_salt(tmp_path):
    first = sb.save_passphrase_key_file(tmp_path / "a.key", "the same passphrase", **FAST_ARGON2)
    second = sb.save_passphrase_key_file(tmp_path / "b.key", "the same passphrase", **FAST_ARGON2)
    assert first.encode() != second.encode()


# --------------------------------------------------------------------------- the bidder's client and CLI


def test_the_client_seals_a_directory_and_rehearses_the_opening(tmp_path):
    source = tmp_path / "mybid"
    (source / "资质").mkdir(parents=True)
    (source / "bid.json").write_text('{"price_fen": 98765400, "duration_days": 90, "key_staff": ["李工"]}',
                                     encoding="utf-8")
    (source / "资质" / "营业执照.pdf").write_bytes(b"%PDF-1.7 licence")
    (source / "技术标.docx").write_bytes(b"technical")
    result = bid_client.seal_bid(source, tender_code="JN-2026-GC-0007", bidder_code="91370800MA3C5K8E74",
                                 tender_public_key=TENDER_KEY.public_key, signing_key=BIDDER_KEY)
    assert result.ciphertext_path == tmp_path / "mybid.sealed"
    assert result.envelope_path == tmp_path / "mybid.envelope.json"
    assert result.documents == ("技术标.docx", "资质/营业执照.pdf")
    envelope = bid_client.read_envelope(result.envelope_path)
    assert envelope == result.envelope
    k_b_hex = bid_client.decrypt_bidder_half(result.envelope_path, BIDDER_KEY)
    assert bytes.fromhex(k_b_hex) == sb.open_bidder_half(envelope, BIDDER_KEY)
    opened = bid_client.open_sealed_bid(result.envelope_path, result.ciphertext_path, TENDER_KEY, BIDDER_KEY)
    assert opened.offer == {"price_fen": 98765400, "duration_days": 90, "key_staff": ["李工"]}
    assert opened.documents == {"技术标.docx": b"technical", "资质/营业执照.pdf": b"%PDF-1.7 licence"}


def test_the_client_refuses_a_directory_without_bid_json(tmp_path):
    (tmp_path / "bid").mkdir()
    with pytest.raises(InvalidInput, match="缺少 bid.json"):
        bid_client.seal_bid(tmp_path / "bid", tender_code="T", bidder_code="B",
                            tender_public_key=TENDER_KEY.public_key, signing_key=BIDDER_KEY)


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, ["bid", *args], input=input, catch_exceptions=False)


def write_opening_key(path, answer: dict | None = None) -> None:
    path.write_text(json.dumps(answer or opening_key_answer(), ensure_ascii=False), encoding="utf-8")


def test_bid_keygen_seal_decrypt_open_from_the_command_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tender.key").write_text(TENDER_KEY.encode().hex() + "\n")
    (tmp_path / "offer.json").write_text('{"price_fen":123456700,"duration_days":180}')
    write_opening_key(tmp_path / "opening-key.json")

    made = run("keygen", "--center-key", CENTER.verify_key_hex)  # the center key pinned with the new key
    assert made.exit_code == 0, made.output
    assert stat.S_IMODE((tmp_path / "bidder.key").stat().st_mode) == 0o600
    verify_key = sb.load_key_file(tmp_path / "bidder.key").verify_key.encode().hex()
    assert verify_key in made.output
    assert (tmp_path / "bidder.key.center-key").read_text() == CENTER.verify_key_hex + "\n"
    assert CENTER.key_id in made.output

    sealed_run = run("seal", "offer.json", "--tender", "JN-2026-GC-0007", "--bidder", "91370800MA3C5K8E74",
                     "--opening-key", "opening-key.json", "--key", "bidder.key", "--out", "out/bid")
    assert sealed_run.exit_code == 1 and sealed_run.output.startswith("错误：")  # out/ does not exist yet
    (tmp_path / "out").mkdir()
    sealed_run = run("seal", "offer.json", "--tender", "JN-2026-GC-0007", "--bidder", "91370800MA3C5K8E74",
                     "--opening-key", "opening-key.json", "--key", "bidder.key", "--out", "out/bid")
    assert sealed_run.exit_code == 0, sealed_run.output
    assert "开标公钥记录已用交易中心验签公钥" in sealed_run.output and CENTER.key_id in sealed_run.output
    envelope = json.loads((tmp_path / "out" / "bid.envelope.json").read_text())
    ciphertext = (tmp_path / "out" / "bid.sealed").read_bytes()
    sb.verify_envelope(envelope, ciphertext, verify_key, tender_code="JN-2026-GC-0007",
                       bidder_code="91370800MA3C5K8E74")
    assert sb.envelope_sha256(envelope) in sealed_run.output

    decrypted = run("decrypt", "out/bid.envelope.json", "--key", "bidder.key")
    assert decrypted.exit_code == 0, decrypted.output
    k_b = bytes.fromhex(decrypted.output.strip())
    assert sb.open_bid(ciphertext, sb.open_center_half(envelope, TENDER_KEY), k_b) == VECTOR_PAYLOAD

    opened = run("open", "out/bid.envelope.json", "out/bid.sealed", "--tender-private-key", "tender.key",
                 "--key", "bidder.key")
    assert opened.exit_code == 0, opened.output
    assert '"price_fen": 123456700' in opened.output

    # The pinned key may also be given on the command line (or in TRADING_CENTER_KEY).
    (tmp_path / "bidder.key.center-key").unlink()
    again = run("seal", "offer.json", "--tender", "JN-2026-GC-0007", "--bidder", "91370800MA3C5K8E74",
                "--opening-key", "opening-key.json", "--center-key", CENTER.verify_key_hex, "--key", "bidder.key")
    assert again.exit_code == 0, again.output
    assert (tmp_path / "offer.sealed").exists() and (tmp_path / "offer.envelope.json").exists()


def test_bid_commands_with_a_passphrase_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "offer.json").write_text('{"price_fen":100}')
    passphrase = "招标口令 long enough"
    made = run("keygen", "--out", "p.key", "--passphrase", input=f"{passphrase}\n{passphrase}\n")
    assert made.exit_code == 0, made.output
    key = sb.load_key_file(tmp_path / "p.key", passphrase)
    assert key.verify_key.encode().hex() in made.output
    write_opening_key(tmp_path / "t1.json", opening_key_answer("T-1"))
    sealed_run = run("seal", "offer.json", "--tender", "T-1", "--bidder", "91370800MA3C5K8E74", "--opening-key",
                     "t1.json", "--center-key", CENTER.verify_key_hex, "--key", "p.key", input=f"{passphrase}\n")
    assert sealed_run.exit_code == 0, sealed_run.output
    wrong = run("decrypt", "offer.envelope.json", "--key", "p.key", input="not the passphrase\n")
    assert wrong.exit_code == 1 and "口令错误" in wrong.output


@pytest.mark.parametrize("args, expected", [
    (["keygen", "--out", "bidder.key"], "已存在"),
    (["seal", "offer.json", "--tender", "T", "--bidder", "91370800MA3C5K8E75", "--opening-key", "t.json",
      "--key", "bidder.key"], "校验位"),
    (["seal", "offer.json", "--tender", "T", "--bidder", "91370800MA3C5K8E74", "--opening-key", "offer.json",
      "--key", "bidder.key"], "开标公钥记录格式"),
    (["seal", "float.json", "--tender", "T", "--bidder", "91370800MA3C5K8E74", "--opening-key", "t.json",
      "--key", "bidder.key"], "小数"),
    (["seal", "offer.json", "--tender", "T", "--bidder", "91370800MA3C5K8E74", "--tender-key", "00" * 32,
      "--key", "bidder.key"], "不再接受 --tender-key"),
    (["seal", "offer.json", "--tender", "T", "--bidder", "91370800MA3C5K8E74", "--opening-key", "t.json",
      "--key", "bidder.key", "--center-key", "nonsense"], "中心验签公钥格式错误"),
    (["pin-center-key", "00" * 32, "--key", "bidder.key"], "已固定另一个交易中心验签公钥"),
    (["decrypt", "envelope.json", "--key", "other.key"], "投标人密钥无法解开"),
    (["open", "envelope.json", "vector.sealed", "--tender-private-key", "other.key", "--key", "bidder.key"],
     "开标私钥无法解开"),
    (["open", "envelope.json", "offer.json", "--tender-private-key", "tender.key", "--key", "bidder.key"],
     "密文长度"),
])
def test_bid_command_errors_are_one_line_and_a_non_zero_exit(tmp_path, monkeypatch, args, expected):
    monkeypatch.chdir(tmp_path)
    sb.save_key_file(tmp_path / "bidder.key", BIDDER_KEY)
    sb.save_key_file(tmp_path / "other.key", nacl.signing.SigningKey(bytes(range(0x60, 0x80))))
    (tmp_path / "tender.key").write_text(TENDER_KEY.encode().hex())
    (tmp_path / "offer.json").write_text('{"price_fen":1}')
    (tmp_path / "float.json").write_text('{"price_fen":1.5}')
    write_opening_key(tmp_path / "t.json", opening_key_answer("T"))
    bid_client.pin_center_key(tmp_path / "bidder.key", CENTER.verify_key_hex)
    (tmp_path / "envelope.json").write_text(json.dumps(VECTOR_ENVELOPE))
    (tmp_path / "vector.sealed").write_bytes(VECTOR_CIPHERTEXT)
    result = run(*args)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误：") and expected in lines[0], result.output
    assert BIDDER_KEY.encode().hex() not in result.output


def test_domain_errors_of_the_protocol_carry_codes():
    assert issubclass(sb.EnvelopeRejected, DomainError) and sb.EnvelopeRejected.code == "envelope_rejected"
    assert issubclass(sb.BidNotDecrypted, DomainError) and sb.BidNotDecrypted.code == "bid_not_decrypted"
    assert issubclass(sb.OpeningKeyRejected, DomainError) and sb.OpeningKeyRejected.code == "opening_key_rejected"


@pytest.mark.parametrize("answer, expected", [
    ({**opening_key_answer(), "record": opening_key_answer()["record"]
      | {"public_key": PrivateKey(bytes(32)).public_key.encode().hex()}}, "签名无法用已固定的交易中心验签公钥核验"),
    (opening_key_answer(center=CenterKeys(signing_key=nacl.signing.SigningKey(bytes(range(1, 33))), kek=bytes(32))),
     "签名无法用已固定的交易中心验签公钥核验"),
    (opening_key_answer("JN-2026-GC-0008"), "属于项目「JN-2026-GC-0008」，不是本项目「JN-2026-GC-0007」"),
], ids=["tampered", "signed-by-another-key", "another-tender"])
def test_the_command_line_refuses_to_seal_to_a_record_that_does_not_verify(tmp_path, monkeypatch, answer, expected):
    monkeypatch.chdir(tmp_path)
    sb.save_key_file(tmp_path / "bidder.key", BIDDER_KEY)
    assert run("pin-center-key", CENTER.verify_key_hex).exit_code == 0
    (tmp_path / "offer.json").write_text('{"price_fen":1}')
    write_opening_key(tmp_path / "opening-key.json", answer)
    result = run("seal", "offer.json", "--tender", "JN-2026-GC-0007", "--bidder", "91370800MA3C5K8E74",
                 "--opening-key", "opening-key.json", "--key", "bidder.key")
    assert result.exit_code == 1 and result.output.startswith("错误：") and expected in result.output, result.output
    assert not (tmp_path / "offer.sealed").exists() and not (tmp_path / "offer.envelope.json").exists()


def test_the_command_line_seals_nothing_without_a_pinned_center_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRADING_CENTER_KEY", raising=False)
    sb.save_key_file(tmp_path / "bidder.key", BIDDER_KEY)
    (tmp_path / "offer.json").write_text('{"price_fen":1}')
    write_opening_key(tmp_path / "opening-key.json")
    args = ("seal", "offer.json", "--tender", "JN-2026-GC-0007", "--bidder", "91370800MA3C5K8E74",
            "--opening-key", "opening-key.json", "--key", "bidder.key")
    refused = run(*args)
    assert refused.exit_code == 1 and "没有可信的交易中心验签公钥" in refused.output
    assert "pin-center-key" in refused.output and not (tmp_path / "offer.sealed").exists()
    pinned = run("pin-center-key", CENTER.verify_key_hex, "--key", "bidder.key")
    assert pinned.exit_code == 0 and CENTER.key_id in pinned.output
    assert run(*args).exit_code == 0 and (tmp_path / "offer.sealed").exists()
    # A different key is pinned over the first only when asked.
    other = CenterKeys(signing_key=nacl.signing.SigningKey(bytes(range(1, 33))), kek=bytes(32))
    assert run("pin-center-key", other.verify_key_hex, "--key", "bidder.key").exit_code == 1
    assert run("pin-center-key", other.verify_key_hex, "--key", "bidder.key", "--replace").exit_code == 0
    again = run(*args)
    assert again.exit_code == 1 and "签名无法用已固定的交易中心验签公钥核验" in again.output
