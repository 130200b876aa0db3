// The key page once a key is registered: replace it by a rotation signed here with the current
// key file (the new key made here, downloaded, or loaded), or fill the reset form with a new
// key's verify key when the current key file is lost. Private keys stay in this page.
import * as sealed from "./sealed_bid.js";
import { makeKeyFile, readKeyFile, saveText } from "./key_file.js";
import { rotationRequest } from "./key_rotation.js";

const $ = (id) => document.getElementById(id);
const page = $("key-page");
const status = (text, bad = false) => { $("key-status").textContent = text; $("key-status").className = bad ? "field-error" : "ok"; };
let oldKey = null;
let newKey = null;

function csrfToken() {
  const input = document.querySelector("input[name=_csrf_token]");
  return input ? input.value : "";
}

function ready() {
  $("rotate").disabled = !(oldKey && newKey);
}

function offerNew(key, how) {
  newKey = key;
  if ($("f-new_verify_key")) $("f-new_verify_key").value = key.verifyKeyHex;
  status(`${how}新验签公钥：${key.verifyKeyHex}。`);
  document.body.dataset.newKeyReady = "1";
  ready();
}

async function loadOld() {
  try {
    const key = await readKeyFile($("old-key-file"), $("old-passphrase"), $("old-passphrase-label"), $("old-load"));
    if (!key) return;
    if (key.verifyKeyHex !== page.dataset.currentKey) {
      throw new Error("载入的不是本单位现用的身份密钥文件（公钥不符）");
    }
    oldKey = key;
    status("已载入现用密钥文件。");
    document.body.dataset.oldKeyReady = "1";
    ready();
  } catch (err) {
    oldKey = null;
    ready();
    status(err.message, true);
  }
}

async function generate() {
  try {
    const { key, text } = await makeKeyFile(() => status("正在由口令派生密钥（约需数秒）……"));
    saveText("bidder-new.key", text);
    $("download-again").hidden = false;
    $("download-again").onclick = () => saveText("bidder-new.key", text);
    offerNew(key, "已生成并下载新密钥文件 bidder-new.key（请妥善保管并备份）。");
  } catch (err) {
    status(err.message, true);
  }
}

async function loadNew() {
  try {
    const key = await readKeyFile($("new-key-file"), $("new-passphrase"), $("new-passphrase-label"), $("new-load"));
    if (key) offerNew(key, "已载入新密钥文件。");
  } catch (err) {
    status(err.message, true);
  }
}

async function rotate() {
  if (!oldKey || !newKey) return;
  $("rotate").disabled = true;
  try {
    const signed = rotationRequest(page.dataset.bidderCode, oldKey, newKey);
    const response = await fetch("/bidder/key/rotation", {
      method: "POST", body: JSON.stringify(signed),
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
    });
    const answer = await response.json().catch(() => null);
    if (response.status !== 201 || !answer || answer.verify_key !== newKey.verifyKeyHex) {
      throw new Error(answer && answer.error ? answer.error.message : `更换失败（HTTP ${response.status}）`);
    }
    window.location.assign("/bidder/key?done=rotated");
  } catch (err) {
    status(err.message, true);
    ready();
  }
}

async function main() {
  await sealed.ready();
  $("rotation-tools").hidden = false;
  $("use-passphrase").addEventListener("change", (e) => { $("passphrase-fields").hidden = !e.target.checked; });
  $("old-key-file").addEventListener("change", loadOld);
  $("old-load").addEventListener("click", loadOld);
  $("generate").addEventListener("click", generate);
  $("new-key-file").addEventListener("change", loadNew);
  $("new-load").addEventListener("click", loadNew);
  $("rotate").addEventListener("click", rotate);
}

main().catch((err) => status(`无法在本浏览器中使用密钥：${err.message}`, true));
