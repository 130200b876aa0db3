// The center's verify key pinned in this browser, to check a tender's signed opening key
// record before sealing (sealed-bid.md, revision 2: "pinned beforehand").
//
// Why this pin: a center key read from the sealing page, or fetched from the server while
// sealing, is no check at all — whoever could substitute the opening key could substitute
// that key too. So the key is kept in this browser's storage (per platform address) from the
// moment the bidder registers its identity key (trust on first use: the key page shows the
// key's fingerprint for the bidder to compare with the one the center publishes), or typed
// in by the bidder from the center's published notice. Later pages never replace it on the
// server's word: only the bidder does, by typing a key in. What it guards against: a
// substituted opening key or record (a changed database row, another tender's record, a
// record signed by another key) and a center key changed after the bidder pinned it. What
// no page can guard against: a server that serves altered scripts — for that the command
// line (`trading bid seal --center-key`) is the tool.
import { keyFingerprint } from "./sealed_bid.js";

const STORAGE_KEY = "sealed-bid.center-verify-key";

/** A center verify key as typed: 64 hex digits, lowercased; throws a Chinese message otherwise. */
export function normaliseCenterKey(text) {
  const clean = String(text || "").trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(clean)) throw new Error("交易中心验签公钥格式错误：应为 64 位十六进制");
  return clean;
}

/** The pinned center verify key (hex), or null when this browser has none. */
export function pinnedCenterKey() {
  try {
    const stored = JSON.parse(window.localStorage.getItem(STORAGE_KEY) || "null");
    return stored && typeof stored.verify_key === "string" ? normaliseCenterKey(stored.verify_key) : null;
  } catch {
    return null;
  }
}

/** Pin ``text`` as the center verify key of this platform; returns its fingerprint. */
export function pinCenterKey(text) {
  const key = normaliseCenterKey(text);
  window.localStorage.setItem(STORAGE_KEY, JSON.stringify({ verify_key: key, pinned_at: new Date().toISOString() }));
  return keyFingerprint(key);
}
