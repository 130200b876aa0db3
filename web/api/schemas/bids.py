"""Bids beside the bidder's wire (web.api.bid_wire holds the upload, receipts, keys, the hand-in):
the tender's opening key record and an opened bid's documents."""

from typing import Annotated, TypedDict

from web.api.bid_wire import HEX32, HEX64, MOMENT, doc


class OpeningKeyRecord(TypedDict):
    protocol: Annotated[str, doc('Exactly "sealed-bid-opening-key/1".')]
    tender_code: str
    public_key: Annotated[str, doc("The tender's opening public key (X25519).", pattern=HEX32)]
    published_at: Annotated[str, doc("RFC 3339 UTC.", pattern=MOMENT)]


class SignedOpeningKey(TypedDict):
    """The center-signed opening key record: check it with the pinned center verify key
    before sealing (sealed-bid.md). The record is canonical JSON as signed."""

    record: OpeningKeyRecord
    signature: Annotated[str, doc("The center's Ed25519 signature over canon(record), hex.", pattern=HEX64)]
    public_key: Annotated[str, doc("The record's public_key again, as clients before revision 2 read it.",
                                   pattern=HEX32)]


class BidDocument(TypedDict):
    name: Annotated[str, doc("The file's path inside the bid package.")]
    size: Annotated[int, doc("Bytes.")]
