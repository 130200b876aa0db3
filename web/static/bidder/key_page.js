// The key page: make the bidder's identity key in the browser and download its key file
// (the format `trading bid keygen` writes), or load an existing key file; either way the
// verify key goes into the registration form. The private key stays in this page.
// Registering the key also pins the center's verify key shown here in this browser, once
// (trust on first use; center_pin.js says why): a key pinned before is never replaced here.
import * as sealed from "./sealed_bid.js";
import { makeKeyFile, readKeyFile, saveText } from "./key_file.js";
import { pinCenterKey, pinnedCenterKey } from "./center_pin.js";

const $ = (id) => document.getElementById(id);
const status = (text, bad = false) => { $("key-status").textContent = text; $("key-status").className = bad ? "field-error" : "ok"; };

function offer(key, how) {
  $("f-verify_key").value = key.verifyKeyHex;
  status(`${how}验签公钥：${key.verifyKeyHex}。请点击「登记此公钥」。`);
  document.body.dataset.keyReady = "1";
}

async function main() {
  await sealed.ready();
  $("key-form").addEventListener("submit", () => {
    if (!pinnedCenterKey()) pinCenterKey($("center-key").dataset.centerKey);
  });
  $("key-tools").hidden = false;
  $("use-passphrase").addEventListener("change", (e) => { $("passphrase-fields").hidden = !e.target.checked; });
  $("generate").addEventListener("click", async () => {
    try {
      const { key, text } = await makeKeyFile(() => status("正在由口令派生密钥（约需数秒）……"));
      saveText("bidder.key", text);
      // The browser may hold back a download that comes seconds after the click (argon2id): offer it again.
      $("download-again").hidden = false;
      $("download-again").onclick = () => saveText("bidder.key", text);
      offer(key, "已生成并下载密钥文件 bidder.key（请妥善保管并备份，丢失后无法解密已投的标）。");
    } catch (err) {
      status(err.message, true);
    }
  });
  const load = async () => {
    try {
      const key = await readKeyFile($("key-file"), $("load-passphrase"), $("load-passphrase-label"), $("load"));
      if (key) offer(key, "已载入密钥文件。");
    } catch (err) {
      status(err.message, true);
    }
  };
  $("key-file").addEventListener("change", load);
  $("load").addEventListener("click", load);
}

main().catch((err) => status(`无法在本浏览器中使用密钥：${err.message}`, true));
