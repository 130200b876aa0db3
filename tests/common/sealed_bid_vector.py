"""The test vector of the sealed-bid/1 spec (specs/sealed-bid.md): the keys it is made with,
the ciphertext, the envelope and the payload."""

import nacl.signing
from nacl.public import PrivateKey

from trading.keys import CenterKeys

TENDER_KEY = PrivateKey(bytes(range(0x20, 0x40)))
BIDDER_KEY = nacl.signing.SigningKey(bytes(range(0x40, 0x60)))
CENTER = CenterKeys(signing_key=nacl.signing.SigningKey(bytes(range(32))), kek=bytes(32))
VECTOR_CIPHERTEXT = bytes.fromhex(
    "d0234994285739b7dac90b5981790d27d33b0d64be354e9321653f907b83fb806973f9f7d4a76f1dcb97cceb7a3be6ab17142a"
    "0837df448d3251cbf3081be8f3b0a89d3c506809bfaf78a1f7f1a41a5be4a477"
)
VECTOR_ENVELOPE = {
    "protocol": "sealed-bid/1",
    "tender_code": "JN-2026-GC-0007",
    "bidder_code": "91370800MA3C5K8E74",
    "ciphertext_sha256": "bf4c84f930042ba880c9e1c1969fab54a807b4c64b95d100b0d0f95d8dc7d919",
    "ciphertext_size": 83,
    "sealed_center": "cfde4d04af3fff45fedd9b66d1144ccb0dfe95355b63fba86808cbde64d9ab27822276599d9096d5dc1c37d2"
                     "c923ebc4e930f658d31cc0eaf2779b934d70f093b14ae695b9f50ca3f16bbfb70074688b",
    "sealed_bidder": "47b783156b18acf46f7640ab1ed33229a962e15bbb8bd51a6854d170e2b71a4bc3566af4e80294157b61059d"
                     "adf4b24a7644370b954c7bb6af1e53d1e60f1cfbd0657c3f797ccc0740f71b85c34503f3",
    "signature": "5c9797cfebdafad9012f7809637374aef2ac5344db7dd847c11208300c9bf583a068abb5723a2913e1e61fe3abaf93de"
                 "c10544a88df420497613e46a96796a06",
}
VECTOR_PAYLOAD = b'{"price_fen":123456700,"duration_days":180}'
