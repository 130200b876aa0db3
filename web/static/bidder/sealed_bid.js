// sealed-bid/1 on the bidder's side, in the browser (../shared/specs/sealed-bid.md).
//
// The same steps and names as bidding/bids/sealed_bid.py, on libsodium's JavaScript build:
// canon (sealed-draw.md), the bid package (a ZIP of bid.json and the documents, as
// make_package builds it), seal = encryptPayload + splitContentKey + sealHalves +
// makeEnvelope, openBidderHalf for the opening, the withdrawal request, the check of the
// tender's signed opening key record (revision 2), and the bidder's key file in the formats
// `trading bid keygen` writes. No network here: the pages call it.
import sodiumModule from "/vendor/libsodium-wrappers-sumo/libsodium-wrappers.mjs";
import { zipSync, unzipSync, strToU8, strFromU8 } from "/vendor/fflate/browser.js";

export const PROTOCOL = "sealed-bid/1";
export const WITHDRAW_PROTOCOL = "sealed-bid-withdraw/1";
export const KEY_FILE_FORMAT = "sealed-bid-key/1";
export const OPENING_KEY_PROTOCOL = "sealed-bid-opening-key/1";
export const OPENING_KEY_FIELDS = ["protocol", "tender_code", "public_key", "published_at"];
export const ENVELOPE_FIELDS = ["protocol", "tender_code", "bidder_code", "ciphertext_sha256", "ciphertext_size",
  "sealed_center", "sealed_bidder"];
export const BID_JSON = "bid.json";
export const SEED_SIZE = 32;
export const KEY_SIZE = 32;
export const MIN_PASSPHRASE_LENGTH = 10;
// nacl.pwhash.argon2id OPSLIMIT_MODERATE / MEMLIMIT_MODERATE, as the command line uses.
export const ARGON2ID_OPSLIMIT = 3;
export const ARGON2ID_MEMLIMIT = 268435456;
const MAX_SAFE_INTEGER = Number.MAX_SAFE_INTEGER;
const HASH_CHUNK = 4 * 1024 * 1024;

let sodium = null;

/** libsodium, once initialised (every function below needs it). */
export async function ready() {
  if (sodium === null) {
    await sodiumModule.ready;
    sodium = sodiumModule;
  }
  return sodium;
}

function lib() {
  if (sodium === null) throw new Error("libsodium 尚未初始化：请先调用 ready()");
  return sodium;
}

// ---------------------------------------------------------------- bytes

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(text) {
  if (typeof text !== "string" || text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new Error("十六进制文本格式错误");
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
  return out;
}

export function xor(a, b) {
  if (a.length !== b.length) throw new Error("xor of byte strings of different lengths");
  return a.map((x, i) => x ^ b[i]);
}

export function sha256Hex(bytes) {
  // Chunked: one call on a package of hundreds of MiB would copy it whole into the heap again.
  const s = lib();
  const state = s.crypto_hash_sha256_init();
  for (let at = 0; at < bytes.length; at += HASH_CHUNK) {
    s.crypto_hash_sha256_update(state, bytes.subarray(at, Math.min(at + HASH_CHUNK, bytes.length)));
  }
  return toHex(s.crypto_hash_sha256_final(state));
}

// ---------------------------------------------------------------- canon (sealed-draw.md)

function canonValue(value, path) {
  if (value === null || typeof value === "boolean") return JSON.stringify(value);
  if (typeof value === "string") {
    if (/[\uD800-\uDFFF]/.test(value.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ""))) {
      throw new TypeError(`lone surrogate at ${path || "$"}: not UTF-8`);
    }
    return JSON.stringify(value);
  }
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new TypeError(`float at ${path || "$"}: canonical JSON here takes integers only`);
    if (Math.abs(value) > MAX_SAFE_INTEGER) throw new TypeError(`integer at ${path || "$"} exceeds 2^53-1`);
    return String(value);
  }
  if (Array.isArray(value)) return "[" + value.map((item, i) => canonValue(item, `${path}[${i}]`)).join(",") + "]";
  if (typeof value === "object") {
    const keys = Object.keys(value);
    for (const key of keys) {
      if (!/^[\x00-\x7f]*$/.test(key)) throw new TypeError(`key ${key} at ${path || "$"}: keys must be ASCII`);
    }
    keys.sort();  // ASCII keys: code-unit order is Python's sort order
    return "{" + keys.map((key) => JSON.stringify(key) + ":" + canonValue(value[key], `${path}.${key}`)).join(",") + "}";
  }
  throw new TypeError(`${typeof value} at ${path || "$"} has no canonical JSON form`);
}

/** UTF-8 bytes of canonical JSON: sorted keys, no whitespace, non-ASCII as itself. */
export function canon(obj) {
  return new TextEncoder().encode(canonValue(obj, ""));
}

// ---------------------------------------------------------------- keys

/** A bidder key from its 32-byte Ed25519 seed: {seed, publicKey, privateKey (64 bytes), verifyKeyHex}. */
export function keyFromSeed(seed) {
  if (seed.length !== SEED_SIZE) throw new Error(`身份密钥长度错误：应为 ${SEED_SIZE} 字节`);
  const pair = lib().crypto_sign_seed_keypair(seed);
  return { seed: Uint8Array.from(seed), publicKey: pair.publicKey, privateKey: pair.privateKey,
    verifyKeyHex: toHex(pair.publicKey) };
}

export function makeBidderKey() {
  return keyFromSeed(lib().randombytes_buf(SEED_SIZE));
}

/** The X25519 form of a verify key, which receives the bidder's half K_b. */
export function bidderX25519Pk(verifyKey) {
  return lib().crypto_sign_ed25519_pk_to_curve25519(verifyKey);
}

/** Plain key file text, as `trading bid keygen` writes it: the seed in hex and a newline. */
export function plainKeyFileText(key) {
  return toHex(key.seed) + "\n";
}

function normalisedPassphrase(passphrase) {
  return new TextEncoder().encode(passphrase.normalize("NFC"));
}

export function deriveBidderKey(passphrase, salt, opslimit = ARGON2ID_OPSLIMIT, memlimit = ARGON2ID_MEMLIMIT) {
  const s = lib();
  if (salt.length !== s.crypto_pwhash_SALTBYTES) throw new Error(`口令派生的盐长度应为 ${s.crypto_pwhash_SALTBYTES} 字节`);
  const seed = s.crypto_pwhash(SEED_SIZE, normalisedPassphrase(passphrase), salt, opslimit, memlimit,
    s.crypto_pwhash_ALG_ARGON2ID13);
  return keyFromSeed(seed);
}

/** A passphrase-derived key and its file text (one line of canonical JSON; no seed inside). */
export function passphraseKeyFile(passphrase, opslimit = ARGON2ID_OPSLIMIT, memlimit = ARGON2ID_MEMLIMIT) {
  if (passphrase.length < MIN_PASSPHRASE_LENGTH) throw new Error(`口令至少 ${MIN_PASSPHRASE_LENGTH} 个字符`);
  const salt = lib().randombytes_buf(lib().crypto_pwhash_SALTBYTES);
  const key = deriveBidderKey(passphrase, salt, opslimit, memlimit);
  const record = { format: KEY_FILE_FORMAT, kdf: "argon2id", opslimit, memlimit, salt: toHex(salt),
    verify_key: key.verifyKeyHex };
  return { key, text: new TextDecoder().decode(canon(record)) + "\n" };
}

/** True when the key file text is the passphrase-derived form. */
export function keyFileNeedsPassphrase(text) {
  return text.trim().startsWith("{");
}

/** Load a key file of either form (the passphrase is needed for the derived form). */
export function loadKeyFile(text, passphrase = null) {
  const body = text.trim();
  if (!body.startsWith("{")) {
    if (!/^[0-9a-fA-F]*$/.test(body)) throw new Error("密钥文件格式错误：应为十六进制文本");
    if (body.length !== 2 * SEED_SIZE) {
      throw new Error(`密钥文件长度错误：应为 ${SEED_SIZE} 字节，实为 ${Math.floor(body.length / 2)} 字节`);
    }
    return keyFromSeed(fromHex(body));
  }
  let record;
  try {
    record = JSON.parse(body);
  } catch {
    throw new Error(`密钥文件格式错误：不是 ${KEY_FILE_FORMAT} 口令密钥文件`);
  }
  if (!record || record.format !== KEY_FILE_FORMAT || record.kdf !== "argon2id" || !Number.isInteger(record.opslimit)
      || !Number.isInteger(record.memlimit) || typeof record.salt !== "string" || typeof record.verify_key !== "string") {
    throw new Error(`密钥文件格式错误：不是 ${KEY_FILE_FORMAT} 口令密钥文件`);
  }
  if (passphrase === null || passphrase === undefined) throw new Error("密钥文件由口令派生：请提供口令");
  const key = deriveBidderKey(passphrase, fromHex(record.salt), record.opslimit, record.memlimit);
  if (key.verifyKeyHex !== record.verify_key) throw new Error("口令错误：派生出的密钥与密钥文件记载的公钥不符");
  return key;
}

// ---------------------------------------------------------------- the bid package (step 1)

/** The structured offer: price_fen a non-negative integer, duration_days (if any) a positive integer. */
export function checkOffer(offer) {
  if (offer === null || typeof offer !== "object" || Array.isArray(offer)) throw new Error("报价应为 JSON 对象");
  const price = offer.price_fen;
  if (!Number.isInteger(price)) throw new Error("投标报价 price_fen 必须是以分为单位的整数");
  if (price < 0 || price > MAX_SAFE_INTEGER) throw new Error("投标报价 price_fen 超出范围：应为不超过 2^53-1 的非负整数");
  if ("duration_days" in offer) {
    const days = offer.duration_days;
    if (!Number.isInteger(days) || days <= 0 || days > MAX_SAFE_INTEGER) throw new Error("工期 duration_days 必须是正整数（天）");
  }
  canon(offer);
}

export function checkDocumentName(name) {
  if (typeof name !== "string" || !name || name.length > 255) throw new Error("投标文件中的文件名不能为空，且不超过 255 个字符");
  const parts = name.split("/");
  if (name === BID_JSON || name.includes("\\") || name.includes(":") || parts.some((p) => p === "" || p === "." || p === "..")
      || /[\x00-\x1f\x7f]/.test(name)) {
    throw new Error(`投标文件中的文件名「${name}」不合规：应为相对路径，不含 ..、反斜杠、冒号或控制字符，且不能是 ${BID_JSON}`);
  }
  return name;
}

// 1980-01-01 00:00 local time: ZIP's (DOS) epoch, as bidding/bids/sealed_bid.py fixes it.
const ZIP_TIME = () => new Date(1980, 0, 1, 0, 0, 0);

/** The bid package: a ZIP of bid.json (canonical JSON of the offer) and the documents, sorted. */
export function makePackage(offer, documents = {}) {
  checkOffer(offer);
  const entries = { [BID_JSON]: [canon(offer), { level: 6, mtime: ZIP_TIME() }] };
  for (const name of Object.keys(documents).sort()) {
    checkDocumentName(name);
    entries[name] = [documents[name], { level: 6, mtime: ZIP_TIME() }];
  }
  return zipSync(entries);
}

/** Read a payload: a ZIP package or a bare JSON offer; returns {offer, documents}. */
export function readPackage(payload) {
  if (!(payload[0] === 0x50 && payload[1] === 0x4b)) {
    const offer = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
    checkOffer(offer);
    return { offer, documents: {} };
  }
  const files = unzipSync(payload);
  if (!(BID_JSON in files)) throw new Error(`投标文件包中缺少 ${BID_JSON}（结构化报价）`);
  const offer = JSON.parse(strFromU8(files[BID_JSON]));
  checkOffer(offer);
  const documents = {};
  for (const [name, content] of Object.entries(files)) if (name !== BID_JSON) documents[name] = content;
  return { offer, documents };
}

// ---------------------------------------------------------------- sealing (steps 2-5)

/** Step 2: SecretBox(K).encrypt(payload), combined format: nonce, MAC, encrypted payload. */
export function encryptPayload(payload, k, nonce = null) {
  const s = lib();
  nonce = nonce || s.randombytes_buf(s.crypto_secretbox_NONCEBYTES);
  const boxed = s.crypto_secretbox_easy(payload, nonce, k);
  const out = new Uint8Array(nonce.length + boxed.length);
  out.set(nonce, 0);
  out.set(boxed, nonce.length);
  return out;
}

/** Step 3: K_b = 32 random bytes, K_c = K XOR K_b; returns [K_c, K_b]. */
export function splitContentKey(k, kB = null) {
  kB = kB || lib().randombytes_buf(KEY_SIZE);
  return [xor(k, kB), kB];
}

/** Step 4: [sealed_center, sealed_bidder]: K_c to the tender key, K_b to the bidder's X25519 key. */
export function sealHalves(kC, kB, tenderPk, bidderPk) {
  const s = lib();
  return [s.crypto_box_seal(kC, tenderPk), s.crypto_box_seal(kB, bidderPk)];
}

/** Step 5: the envelope without its signature (binary fields in hex). */
export function envelopeBody(tenderCode, bidderCode, ciphertext, sealedCenter, sealedBidder) {
  return { protocol: PROTOCOL, tender_code: tenderCode, bidder_code: bidderCode,
    ciphertext_sha256: sha256Hex(ciphertext), ciphertext_size: ciphertext.length,
    sealed_center: toHex(sealedCenter), sealed_bidder: toHex(sealedBidder) };
}

/** Sign canon(record) with the bidder's key: Ed25519, hex. */
export function signRecord(record, key) {
  return toHex(lib().crypto_sign_detached(canon(record), key.privateKey));
}

/** Step 5: the envelope plus the bidder's signature over canon(envelope without "signature"). */
export function makeEnvelope(tenderCode, bidderCode, ciphertext, sealedCenter, sealedBidder, key) {
  const body = envelopeBody(tenderCode, bidderCode, ciphertext, sealedCenter, sealedBidder);
  return { ...body, signature: signRecord(body, key) };
}

function checkCode(value, what) {
  if (typeof value !== "string" || !value || value !== value.trim()) throw new Error(`${what}不能为空，且前后不能有空白`);
  return value;
}

/** Seal a bid package (steps 2-5); returns {ciphertext, envelope}. ``fixed`` (tests only) gives K and K_b. */
export function seal(payload, tenderCode, bidderCode, tenderPublicKeyHex, key, fixed = {}) {
  checkCode(tenderCode, "项目编号");
  checkCode(bidderCode, "投标人代码");
  const tenderPk = fromHex(tenderPublicKeyHex);
  if (tenderPk.length !== 32) throw new Error("招标项目开标公钥格式错误：应为 32 字节的十六进制公钥");
  const k = fixed.k || lib().randombytes_buf(KEY_SIZE);
  const ciphertext = encryptPayload(payload, k, fixed.nonce || null);
  const [kC, kB] = splitContentKey(k, fixed.kB || null);
  const [sealedCenter, sealedBidder] = sealHalves(kC, kB, tenderPk, bidderX25519Pk(key.publicKey));
  const envelope = makeEnvelope(tenderCode, bidderCode, ciphertext, sealedCenter, sealedBidder, key);
  return { ciphertext, envelope };
}

/** hex(H(canon(envelope with signature))), as the receipt names it. */
export function envelopeSha256(envelope) {
  return sha256Hex(canon(envelope));
}

/** The bidder's signature over canon(envelope without "signature") is valid for verifyKeyHex. */
export function verifyEnvelopeSignature(envelope, verifyKeyHex) {
  const body = {};
  for (const name of ENVELOPE_FIELDS) body[name] = envelope[name];
  return lib().crypto_sign_verify_detached(fromHex(envelope.signature), canon(body), fromHex(verifyKeyHex));
}

/** A center-signed record (receipt) is valid for the center's verify key. */
export function verifyCenterSignature(record, signatureHex, centerVerifyKeyHex) {
  return lib().crypto_sign_verify_detached(fromHex(signatureHex), canon(record), fromHex(centerVerifyKeyHex));
}

/** The short name of a verify key, as the center publishes it: the first 16 hex of its SHA-256. */
export function keyFingerprint(verifyKeyHex) {
  return sha256Hex(fromHex(verifyKeyHex)).slice(0, 16);
}

/**
 * The check before sealing (bidding/bids/sealed_bid.py verify_opening_key_record): the answer of
 * GET /api/projects/{code}/opening-key holds this tender's record, signed by the center key
 * the bidder pinned beforehand. Returns the opening public key (hex); throws otherwise.
 */
export function verifyOpeningKeyRecord(answer, centerVerifyKeyHex, tenderCode) {
  const record = answer && answer.record;
  const keys = record && typeof record === "object" ? Object.keys(record).sort() : [];
  if (keys.join(",") !== [...OPENING_KEY_FIELDS].sort().join(",") || record.protocol !== OPENING_KEY_PROTOCOL
      || typeof record.public_key !== "string" || !/^[0-9a-f]{64}$/.test(record.public_key)
      || typeof record.tender_code !== "string" || typeof record.published_at !== "string"
      || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/.test(record.published_at)) {
    throw new Error(`开标公钥记录格式不符合 ${OPENING_KEY_PROTOCOL}，不能用它加密`);
  }
  if (record.tender_code !== tenderCode) {
    throw new Error(`开标公钥记录属于项目「${record.tender_code}」，不是本项目「${tenderCode}」，不能用它加密`);
  }
  let valid = false;
  try {
    valid = typeof answer.signature === "string" && verifyCenterSignature(record, answer.signature, centerVerifyKeyHex);
  } catch {
    valid = false;
  }
  if (!valid) {
    throw new Error("开标公钥记录的签名无法用已固定的交易中心验签公钥核验：记录被改动，或不是交易中心所签；请勿加密递交，并与交易中心核实");
  }
  return record.public_key;
}

// ---------------------------------------------------------------- withdrawal and opening

/** The signed withdrawal request of a current bid (bidding/bids/submission.py): {request, signature}. */
export function withdrawRequest(tenderCode, bidderCode, envelopeSha256Hex, key) {
  const request = { protocol: WITHDRAW_PROTOCOL, tender_code: tenderCode, bidder_code: bidderCode,
    envelope_sha256: envelopeSha256Hex };
  return { request, signature: signRecord(request, key) };
}

function openHalf(sealedHex, publicKey, privateKey, message) {
  let half;
  try {
    half = lib().crypto_box_seal_open(fromHex(sealedHex), publicKey, privateKey);
  } catch {
    throw new Error(message);
  }
  if (half.length !== KEY_SIZE) throw new Error(message);
  return half;
}

/** At the opening, on the bidder's side: open sealed_bidder with the X25519 form of the key: K_b. */
export function openBidderHalf(envelope, key) {
  const s = lib();
  const xPk = s.crypto_sign_ed25519_pk_to_curve25519(key.publicKey);
  const xSk = s.crypto_sign_ed25519_sk_to_curve25519(key.privateKey);
  return openHalf(envelope.sealed_bidder, xPk, xSk,
    "投标人密钥无法解开本投标文件的投标人密钥份额：不是加密时所用的身份密钥，或信封被改动");
}

/** The center's side (for checks and the spec's test vector): open sealed_center with the tender key. */
export function openCenterHalf(envelope, tenderPrivateKey) {
  const tenderPk = lib().crypto_scalarmult_base(tenderPrivateKey);
  return openHalf(envelope.sealed_center, tenderPk, tenderPrivateKey,
    "开标私钥无法解开本投标文件的中心密钥份额");
}

/** K = K_c XOR K_b must open the SecretBox (its MAC is the proof); returns the payload. */
export function openBid(ciphertext, kC, kB) {
  const s = lib();
  const k = xor(kC, kB);
  const nonce = ciphertext.subarray(0, s.crypto_secretbox_NONCEBYTES);
  try {
    return s.crypto_secretbox_open_easy(ciphertext.subarray(s.crypto_secretbox_NONCEBYTES), nonce, k);
  } catch {
    throw new Error("投标文件未能解密：合成的内容密钥打不开密文（MAC 校验未通过）");
  }
}

export { strToU8, strFromU8 };
