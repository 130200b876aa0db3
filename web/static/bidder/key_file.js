// Key files in the page: read one from a file input (asking for the passphrase when the
// file is passphrase-derived) and save text as a download. Shared by the bidder's pages.
import * as sealed from "./sealed_bid.js";

/** The key in the chosen file, or null while its passphrase is still to be typed. */
export async function readKeyFile(fileInput, passphraseInput, passphraseLabel, passphraseButton) {
  const file = fileInput.files && fileInput.files[0];
  if (!file) throw new Error("请选择密钥文件");
  if (file.size > 4096) throw new Error("这不是投标人密钥文件（文件过大）");
  const text = await file.text();
  if (sealed.keyFileNeedsPassphrase(text)) {
    passphraseLabel.hidden = false;
    if (passphraseButton) passphraseButton.hidden = false;
    if (!passphraseInput.value) {
      passphraseInput.focus();
      return null;
    }
    return sealed.loadKeyFile(text, passphraseInput.value);
  }
  return sealed.loadKeyFile(text);
}

/** Offer ``text`` (or bytes) as a file download named ``name``. */
/** A new key and its file's text: plain, or derived from the page's passphrase fields
 *  (#use-passphrase, #passphrase, #passphrase2) when that box is ticked; argon2id takes seconds,
 *  so ``onSlow`` shows a message first. */
export async function makeKeyFile(onSlow) {
  const $ = (id) => document.getElementById(id);
  if (!$("use-passphrase").checked) {
    const key = sealed.makeBidderKey();
    return { key, text: sealed.plainKeyFileText(key) };
  }
  const pass = $("passphrase").value;
  if (pass !== $("passphrase2").value) throw new Error("两次输入的口令不一致");
  onSlow();
  await new Promise((resolve) => setTimeout(resolve, 30));  // let the message show first
  return sealed.passphraseKeyFile(pass);
}

export function saveText(name, content, type = "text/plain") {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
