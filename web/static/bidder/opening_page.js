// The opening from the bidder's side: open sealed_bidder here with the key file, hand in
// K_b (only K_b leaves the machine), and follow the own entry and the record live: an
// EventSource on the tender's opening events, re-reading the page's fragment on each one.
import * as sealed from "./sealed_bid.js";
import { readKeyFile } from "./key_file.js";

const $ = (id) => document.getElementById(id);
const page = $("opening-page");
const code = page.dataset.tenderCode;
const base = `/bidder/tenders/${encodeURIComponent(code)}/opening`;
const EVENTS = ["ready", "resync", "opening.started", "opening.signed_in", "opening.handed_in", "opening.bids_opened",
  "opening.not_decrypted", "opening.window_closed", "opening.max_price_announced", "opening.objection_raised",
  "opening.objection_answered", "opening.finished"];
let sodiumReady = false;

function live() {
  return $("opening-live").dataset;
}

function csrfToken() {
  const input = document.querySelector("input[name=_csrf_token]");
  return input ? input.value : "";
}

function say(text, bad = false) {
  $("decrypt-status").textContent = text;
  $("decrypt-status").className = bad ? "field-error" : "ok";
}

function showDecryptPanel() {
  const state = live();
  const needed = sodiumReady && state.windowOpen === "1" && state.entryState === "pending" && state.handedIn !== "1"
    && state.sealedBidder;
  if (needed || !$("decrypt-status").textContent) $("decrypt-panel").hidden = !needed;
}

let refreshing = null;
async function refresh() {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    try {
      const response = await fetch(`${base}/state`, { headers: { Accept: "text/html" } });
      if (response.ok) {
        $("opening-state").innerHTML = await response.text();
        showDecryptPanel();
        document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
      }
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

async function decrypt() {
  try {
    const key = await readKeyFile($("key-file"), $("key-passphrase"), $("key-passphrase-label"), $("key-load"));
    if (!key) return;
    const kB = sealed.openBidderHalf({ sealed_bidder: live().sealedBidder }, key);
    say("已在本机解开投标人密钥份额，正在提交……");
    const response = await fetch(`${base}/hand-in`, {
      method: "POST", body: new URLSearchParams({ k_b: sealed.toHex(kB) }),
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    });
    const answer = await response.json().catch(() => null);
    if (!response.ok) throw new Error(answer && answer.error ? answer.error.message : `提交失败（HTTP ${response.status}）`);
    say("密钥份额已提交，交易中心正在解密……");
    document.body.dataset.handedIn = "1";
    await refresh();
  } catch (err) {
    say(err.message, true);
  }
}

function follow() {
  const source = new EventSource(`/bidder/live/${encodeURIComponent(code)}`);
  for (const kind of EVENTS) source.addEventListener(kind, () => refresh());
  source.addEventListener("end", () => { source.close(); setTimeout(follow, 3000); });
}

async function main() {
  follow();
  // A missed event costs at most this long: the fragment is re-read now and then anyway.
  setInterval(refresh, 30_000);
  await sealed.ready();
  sodiumReady = true;
  $("key-file").addEventListener("change", decrypt);
  $("key-load").addEventListener("click", decrypt);
  showDecryptPanel();
  document.body.dataset.openingReady = "1";
}

main().catch((err) => { $("decrypt-panel").hidden = false; say(`无法在本浏览器中解密：${err.message}`, true); });
