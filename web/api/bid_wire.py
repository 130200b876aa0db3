"""The bidder's wire as typed bodies (sealed-bid.md; docs/bidder-api.md): what the bid API
takes and answers, so that the OpenAPI document (/api/docs/openapi.json) shows each request
and answer as it really is. Requests are checked again by the services; the descriptions
here are for client writers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, TypedDict

from litestar.datastructures import UploadFile
from litestar.params import KwargDefinition

HEX32 = "^[0-9a-f]{64}$"  # 32 bytes as lowercase hex (keys, SHA-256 digests)
HEX64 = "^[0-9a-f]{128}$"  # 64 bytes as lowercase hex (Ed25519 signatures)
MOMENT = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$"  # RFC 3339 UTC ending in Z


def doc(description: str, **more: Any) -> KwargDefinition:
    return KwargDefinition(description=description, **more)


# ---------------------------------------------------------------------------- the bid upload


@dataclass
class BidUpload:
    """``multipart/form-data`` with exactly these two parts."""

    envelope: Annotated[str, doc(
        "The signed envelope (sealed-bid/1) as UTF-8 JSON text, sent as a plain form field, not as a file: "
        '{"protocol", "tender_code", "bidder_code", "ciphertext_sha256", "ciphertext_size", "sealed_center", '
        '"sealed_bidder", "signature"}.')]
    ciphertext: Annotated[UploadFile, doc(
        "The ciphertext bytes (SecretBox combined format: nonce, MAC, data), sent as a file part; its length and "
        "SHA-256 must be the envelope's ciphertext_size and ciphertext_sha256.")]


class ReceiptAnswer(TypedDict):
    receipt: Annotated[dict[str, Any], doc(
        "The center-signed receipt: sealed-bid-receipt/2 {protocol, tender_code, bidder_code, ciphertext_sha256, "
        "envelope_sha256, received_at}; receipts issued before revision 2 are sealed-bid-receipt/1 and also carry "
        "sequence.")]
    signature: Annotated[str, doc("The center's Ed25519 signature over canon(receipt), hex.", pattern=HEX64)]
    key_id: Annotated[str, doc("First 16 hex digits of SHA-256 of the center's verify key.")]
    center_verify_key: Annotated[str, doc("The center's verify key (check it against the key you pinned).",
                                          pattern=HEX32)]
    superseded: Annotated[list[str], doc("The envelope_sha256 of each earlier bid of this bidder that this one "
                                         "superseded (never a row id: ids would tell how many bids came between).")]


# ---------------------------------------------------------------------------- withdrawal


class WithdrawRecord(TypedDict):
    protocol: Annotated[str, doc('Exactly "sealed-bid-withdraw/1".')]
    tender_code: str
    bidder_code: str
    envelope_sha256: Annotated[str, doc("The receipt's envelope_sha256 of the bid to withdraw.", pattern=HEX32)]


@dataclass
class Withdrawal:
    request: WithdrawRecord
    signature: Annotated[str, doc(
        "Ed25519 signature over canon(request) by the key the bid was submitted under (not a key registered "
        "later), hex.", pattern=HEX64)]


class WithdrawalAnswer(TypedDict):
    receipt: Annotated[dict[str, Any], doc(
        "The center-signed sealed-bid-withdraw-receipt/1 {protocol, tender_code, bidder_code, envelope_sha256, "
        "withdrawn_at}.")]
    signature: Annotated[str, doc("The center's Ed25519 signature over canon(receipt), hex.", pattern=HEX64)]
    key_id: str
    center_verify_key: Annotated[str, doc("The center's verify key.", pattern=HEX32)]


# ---------------------------------------------------------------------------- identity keys


@dataclass
class KeyRegistration:
    verify_key: Annotated[str, doc("The organisation's first identity verify key (Ed25519), 64 hex digits.",
                                   pattern=HEX32)]


class RotationRecord(TypedDict):
    protocol: Annotated[str, doc('Exactly "sealed-bid-key-rotation/1".')]
    bidder_code: Annotated[str, doc("The organisation's unified social credit code.")]
    old_verify_key: Annotated[str, doc("The current key (the one that signs).", pattern=HEX32)]
    new_verify_key: Annotated[str, doc("The key to make current; never one the organisation had before.",
                                       pattern=HEX32)]
    at: Annotated[str, doc("When it was signed, RFC 3339 UTC ending in Z; accepted within 10 minutes of the "
                           "server's clock either way.", pattern=MOMENT)]


@dataclass
class KeyRotation:
    request: RotationRecord
    signature: Annotated[str, doc("Ed25519 signature over canon(request) by the OLD (current) key, hex.",
                                  pattern=HEX64)]


class BidderKeyView(TypedDict):
    id: int
    verify_key: Annotated[str, doc("The identity verify key.", pattern=HEX32)]
    key_id: Annotated[str, doc("First 16 hex digits of SHA-256 of the verify key.")]
    how: Annotated[str, doc("registered (the first key), rotated (signed by the key it replaced) or reset "
                            "(approved by center staff).")]
    how_name: Annotated[str, doc("The same in Chinese, for people.")]
    registered_by: str
    registered_at: Annotated[str | None, doc("ISO 8601 with offset.")]
    revoked_at: Annotated[str | None, doc("When it stopped being current (null while current).")]
    replaces_key_id: int | None
    current: bool


class KeyAnswer(BidderKeyView):
    bidder_credit_code: str


@dataclass
class ResetRequest:
    new_verify_key: Annotated[str, doc("The new key to make current once staff approve.", pattern=HEX32)]
    reason: Annotated[str, doc("Why the current key cannot be used (lost, destroyed...); at most 2000 characters.")]


@dataclass
class ResetApproval:
    identity_check: Annotated[str, doc("How staff checked the organisation's identity (documents seen, who came).")]


@dataclass
class ResetRefusal:
    reason: Annotated[str, doc("Why the reset is refused; shown to the organisation.")]


class ResetView(TypedDict):
    id: int
    status: Annotated[str, doc("pending, approved, refused or cancelled.")]
    status_name: str
    new_verify_key: Annotated[str, doc("The key asked for.", pattern=HEX32)]
    new_key_id: str
    reason: str
    requested_by: str
    requested_at: str | None
    decided_by: Annotated[str | None, doc("The member of staff who approved or refused (null while pending).")]
    decided_at: str | None
    decision_note: Annotated[str | None, doc("Approval: how the identity was checked; refusal: why.")]


class StaffResetView(ResetView):
    bidder_credit_code: str
    bidder_name: str


class MyKeys(TypedDict):
    bidder_credit_code: str
    current: BidderKeyView | None
    history: Annotated[list[BidderKeyView], doc("Every key the organisation has had, newest first.")]
    resets: Annotated[list[ResetView], doc("The organisation's reset requests and their outcome, newest first.")]


# ---------------------------------------------------------------------------- the opening


@dataclass
class HandIn:
    k_b: Annotated[str, doc("The bidder's half K_b, opened from the envelope's sealed_bidder with the key the bid "
                            "was sealed to: 32 bytes, 64 hex digits.", pattern=HEX32)]


class SignInAnswer(TypedDict):
    bidder_credit_code: str
    signed_in_at: str


class HandInAnswer(TypedDict):
    bidder_credit_code: str
    state: Annotated[str, doc("pending: K_b is stored and the bid is being opened (within about a second; its "
                              "outcome, decrypted or not_decrypted, in GET .../opening/mine).")]
    state_name: str
    signed_in_at: str
    handed_in_at: str
