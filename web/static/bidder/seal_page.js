// The sealing page: the bid package is built and sealed here (sealed-bid/1), then only the
// ciphertext and the signed envelope are uploaded, with a progress bar; the center's
// signed receipt is checked against its verify key and shown. Also: signed withdrawal.
// Nothing is sealed before the tender's opening key record verifies with the center key
// pinned in this browser (center_pin.js); receipts are checked with that key too.
import * as sealed from "./sealed_bid.js";
import { readKeyFile, saveText } from "./key_file.js";
import { pinCenterKey, pinnedCenterKey } from "./center_pin.js";

const $ = (id) => document.getElementById(id);
const page = $("bid-page");
const tenderCode = page.dataset.tenderCode;
const bidderCode = page.dataset.bidderCode;
let key = null;
let tenderKey = null;  // the opening public key, once its record verified with the pinned center key

function csrfToken() {
  const input = document.querySelector("input[name=_csrf_token]");
  return input ? input.value : "";
}

function fieldError(name, message) {
  const box = $(`e-${name}`);
  const input = $(`f-${name}`);
  if (!box) return;
  box.hidden = !message;
  box.textContent = message || "";
  input.closest(".field").classList.toggle("has-error", Boolean(message));
  if (message) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
}

/** 元 as typed ("85,600,000.5") to integer fen, exactly (no floating point). */
export function yuanToFen(text) {
  const clean = String(text).trim().replace(/[,，\s]/g, "");
  const match = /^(\d{1,14})(?:\.(\d{1,2}))?$/.exec(clean);
  if (!match) throw new Error("请填写以元为单位的金额，最多两位小数，如 85600000.00");
  const fen = Number(match[1]) * 100 + Number((match[2] || "").padEnd(2, "0"));
  if (!Number.isSafeInteger(fen)) throw new Error("金额过大");
  return fen;
}

/** Integer fen shown as 元 with thousands separators (integer arithmetic only). */
export function fenToYuan(fen) {
  const whole = Math.floor(fen / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${whole}.${String(fen % 100).padStart(2, "0")}`;
}

/** The structured offer from the form, as bid.json holds it; errors go beside their fields. */
function readOffer() {
  let ok = true;
  const offer = {};
  try {
    const value = $("f-price_yuan").value;
    if (!value.trim()) throw new Error("请填写投标报价");
    offer.price_fen = yuanToFen(value);
    fieldError("price_yuan", "");
  } catch (err) {
    fieldError("price_yuan", err.message);
    ok = false;
  }
  const days = $("f-duration_days").value.trim();
  if (days) {
    if (/^\d{1,6}$/.test(days) && Number(days) > 0) {
      offer.duration_days = Number(days);
      fieldError("duration_days", "");
    } else {
      fieldError("duration_days", "工期应为正整数（天）");
      ok = false;
    }
  } else fieldError("duration_days", "");
  const quality = $("f-quality").value.trim();
  if (quality) offer.quality = quality;
  const staff = $("f-key_staff").value.split(/[、,，;；\n]+/).map((s) => s.trim()).filter(Boolean);
  if (staff.length) offer.key_staff = staff;
  return ok ? offer : null;
}

async function readDocuments() {
  const documents = {};
  for (const file of $("f-documents").files) {
    const name = sealed.checkDocumentName(file.name);
    if (name in documents) throw new Error(`文件名重复：${name}`);
    documents[name] = new Uint8Array(await file.arrayBuffer());
  }
  return documents;
}

function mib(bytes) {
  return (bytes / 1048576).toFixed(1);
}

function stage(text) {
  $("progress-box").hidden = false;
  $("progress-stage").textContent = text;
}

/** POST with upload progress (XMLHttpRequest: fetch has no upload progress). */
function upload(url, body, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded, e.total); };
    xhr.upload.onload = () => stage("上传完成，交易中心正在校验签名、摘要并保存……");
    xhr.onload = () => {
      let answer = null;
      try { answer = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      resolve({ status: xhr.status, answer });
    };
    xhr.onerror = () => reject(new Error("网络中断，投标文件未递交成功；请检查网络后重新递交（重复递交同一信封是安全的）"));
    xhr.send(body);
  });
}

function say(id, text, ok) {
  $(id).textContent = text;
  $(id).className = ok ? "ok" : "field-error";
}

function updateSubmit() {
  $("seal-submit").disabled = !(key && tenderKey);
}

/** Fetch the tender's signed opening key record and check it with the pinned center key. */
async function checkOpeningKey() {
  tenderKey = null;
  updateSubmit();
  const pinned = pinnedCenterKey();
  if (!pinned) {
    say("center-pin-status", "本浏览器尚未固定交易中心验签公钥，不能核验开标公钥，暂不能加密。请在下方填入交易中心公布的验签公钥"
      + "（或在「身份密钥」页登记身份公钥时固定）。", false);
    $("center-pin-change").open = true;
    say("opening-key-status", "", false);
    document.body.dataset.openingKey = "refused";
    return null;
  }
  say("center-pin-status", `已固定的交易中心验签公钥指纹：${sealed.keyFingerprint(pinned)}（请与交易中心公布的指纹核对）。`, true);
  try {
    const response = await fetch(`/api/projects/${encodeURIComponent(tenderCode)}/opening-key`,
      { headers: { Accept: "application/json" } });
    const answer = await response.json().catch(() => null);
    if (!response.ok) throw new Error(answer && answer.error ? answer.error.message : `无法获取开标公钥记录（HTTP ${response.status}）`);
    tenderKey = sealed.verifyOpeningKeyRecord(answer, pinned, tenderCode);
    say("opening-key-status", `开标公钥记录已核验：交易中心签名有效，属于本项目（开标公钥 ${tenderKey.slice(0, 16)}…）。`, true);
  } catch (err) {
    tenderKey = null;
    say("opening-key-status", `${err.message}。未加密。`, false);
  }
  document.body.dataset.openingKey = tenderKey ? "verified" : "refused";
  updateSubmit();
  return tenderKey;
}

async function savePin() {
  try {
    const fingerprint = pinCenterKey($("center-pin").value);
    $("center-pin").value = "";
    $("center-pin-change").open = false;
    say("center-pin-status", `已固定交易中心验签公钥（指纹 ${fingerprint}）。`, true);
  } catch (err) {
    say("center-pin-status", err.message, false);
    return;
  }
  await checkOpeningKey();
}

function showResult(html, ok) {
  const box = $("result");
  box.className = ok ? "verdict ok" : "form-errors";
  box.innerHTML = html;
}

function localTime(iso) {
  return new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

async function sealAndSubmit(event) {
  event.preventDefault();
  if (!key) return;
  const offer = readOffer();
  if (!offer) return;
  let documents;
  try {
    documents = await readDocuments();
    fieldError("documents", "");
  } catch (err) {
    fieldError("documents", err.message);
    return;
  }
  $("seal-submit").disabled = true;
  try {
    stage("正在打包并在本机加密……");
    await new Promise((r) => setTimeout(r, 20));  // let the page paint the stage first
    // Checked again now: the key sealed to is the one whose record verified just before.
    const verified = await checkOpeningKey();
    if (!verified) throw new Error($("opening-key-status").textContent || "开标公钥记录未通过核验，未加密");
    $("seal-submit").disabled = true;
    const payload = sealed.makePackage(offer, documents);
    const { ciphertext, envelope } = sealed.seal(payload, tenderCode, bidderCode, verified, key);
    // Check our own output before relying on it, as the command line does.
    if (!sealed.verifyEnvelopeSignature(envelope, key.verifyKeyHex)) throw new Error("信封签名自检失败");
    sealed.openBidderHalf(envelope, key);
    const digest = sealed.envelopeSha256(envelope);
    const body = new FormData();
    body.append("envelope", JSON.stringify(envelope));
    body.append("ciphertext", new Blob([ciphertext], { type: "application/octet-stream" }), `${tenderCode}.sealed`);
    stage(`正在上传密文（${mib(ciphertext.length)} MiB）……`);
    const { status, answer } = await upload(`/bidder/tenders/${encodeURIComponent(tenderCode)}/bids`, body,
      (loaded, total) => {
        $("upload-progress").value = Math.round((100 * loaded) / total);
        $("progress-text").textContent = `${mib(loaded)} / ${mib(total)} MiB`;
      });
    if (status !== 201 || !answer || !answer.receipt) {
      const message = answer && answer.error ? answer.error.message : `递交失败（HTTP ${status}）`;
      throw new Error(message);
    }
    $("upload-progress").value = 100;
    const receipt = answer.receipt;
    const centerKey = pinnedCenterKey();
    const signed = Boolean(centerKey) && sealed.verifyCenterSignature(receipt, answer.signature, centerKey);
    if (!signed || receipt.envelope_sha256 !== digest || receipt.ciphertext_sha256 !== envelope.ciphertext_sha256) {
      throw new Error("回执校验未通过：回执签名或摘要与本机加密的信封不符，请联系交易中心");
    }
    page.dataset.lastEnvelope = JSON.stringify(envelope);
    page.dataset.lastReceipt = JSON.stringify(answer);
    stage("已递交。");
    showResult(`<p><strong>投标文件已递交</strong>：报价 ${escapeHtml(fenToYuan(offer.price_fen))} 元，`
      + `接收时间 ${escapeHtml(localTime(receipt.received_at))}。</p>`
      + `<p>回执已用交易中心公钥核验通过。信封摘要：<span class="mono" id="receipt-digest">${escapeHtml(receipt.envelope_sha256)}</span></p>`
      + (answer.superseded && answer.superseded.length ? "<p>此前递交的投标文件已被本次递交替换。</p>" : "")
      + `<p><button type="button" id="save-envelope">下载信封（.envelope.json）</button> `
      + `<button type="button" id="save-receipt">下载签名回执</button> <a href="/bidder/tenders/${encodeURIComponent(tenderCode)}">返回项目</a></p>`, true);
    $("save-envelope").addEventListener("click", () => saveText(`${tenderCode}.envelope.json`,
      JSON.stringify(envelope, null, 1) + "\n", "application/json"));
    $("save-receipt").addEventListener("click", () => saveText(`${tenderCode}.receipt.json`,
      JSON.stringify(answer, null, 1) + "\n", "application/json"));
    document.body.dataset.submitted = receipt.envelope_sha256;
  } catch (err) {
    stage("");
    showResult(`<p>${escapeHtml(err.message)}</p>`, false);
  } finally {
    updateSubmit();
  }
}

async function withdraw() {
  const current = page.dataset.currentEnvelope;
  if (!key || !current) return;
  if (!window.confirm("撤回后该投标文件不再有效（可在截止前重新递交）。确定撤回？")) return;
  const signed = sealed.withdrawRequest(tenderCode, bidderCode, current, key);
  const response = await fetch(`/bidder/tenders/${encodeURIComponent(tenderCode)}/withdrawal`, {
    method: "POST", body: JSON.stringify(signed),
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
  });
  const answer = await response.json().catch(() => null);
  if (response.status !== 201 || !answer || !answer.receipt) {
    showResult(`<p>${escapeHtml(answer && answer.error ? answer.error.message : `撤回失败（HTTP ${response.status}）`)}</p>`, false);
    return;
  }
  const centerKey = pinnedCenterKey();
  const ok = Boolean(centerKey) && sealed.verifyCenterSignature(answer.receipt, answer.signature, centerKey);
  showResult(`<p><strong>投标文件已撤回</strong>（${escapeHtml(localTime(answer.receipt.withdrawn_at))}）；撤回回执${ok ? "已用交易中心公钥核验通过" : "签名核验未通过"}。</p>`
    + `<p><a href="/bidder/tenders/${encodeURIComponent(tenderCode)}">返回项目</a></p>`, ok);
  document.body.dataset.withdrawn = "1";
}

async function loadKey() {
  try {
    const loaded = await readKeyFile($("key-file"), $("key-passphrase"), $("key-passphrase-label"), $("key-load"));
    if (!loaded) return;
    if (loaded.verifyKeyHex !== page.dataset.registeredKey) {
      throw new Error("此密钥不是本单位登记的身份密钥：请载入登记时生成的密钥文件，或先在「身份密钥」页登记它");
    }
    key = loaded;
    $("key-status").textContent = `已载入身份密钥（验签公钥 ${key.verifyKeyHex.slice(0, 16)}…，与登记一致）。`;
    $("key-status").className = "ok";
    updateSubmit();
    if ($("withdraw")) $("withdraw").disabled = false;
  } catch (err) {
    key = null;
    updateSubmit();
    $("key-status").textContent = err.message;
    $("key-status").className = "field-error";
  }
}

async function main() {
  if (!$("sealing")) return;
  await sealed.ready();
  $("sealing").hidden = false;
  $("key-file").addEventListener("change", loadKey);
  $("key-load").addEventListener("click", loadKey);
  $("bid-form").addEventListener("submit", sealAndSubmit);
  if ($("withdraw")) $("withdraw").addEventListener("click", withdraw);
  $("center-pin-save").addEventListener("click", savePin);
  await checkOpeningKey();
  document.body.dataset.sealingReady = "1";
}

main().catch((err) => showResult(`<p>无法在本浏览器中加密：${escapeHtml(err.message)}</p>`, false));
