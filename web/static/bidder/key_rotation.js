// sealed-bid-key-rotation/1 in the browser, as bidding/bids/key_rotation.py: the request to replace
// the organisation's current key, signed with that (old) key over canon(request).
import * as sealed from "./sealed_bid.js";

export const ROTATION_PROTOCOL = "sealed-bid-key-rotation/1";

/** RFC 3339 UTC ending in Z, as the server writes moments (microseconds). */
export function formatMoment(date) {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** {request, signature}: the rotation from oldKey to newKey, signed now by oldKey. */
export function rotationRequest(bidderCode, oldKey, newKey, at = new Date()) {
  if (oldKey.verifyKeyHex === newKey.verifyKeyHex) throw new Error("新密钥与现用密钥相同，请生成新的密钥");
  const request = { protocol: ROTATION_PROTOCOL, bidder_code: bidderCode, old_verify_key: oldKey.verifyKeyHex,
    new_verify_key: newKey.verifyKeyHex, at: formatMoment(at) };
  return { request, signature: sealed.signRecord(request, oldKey) };
}
