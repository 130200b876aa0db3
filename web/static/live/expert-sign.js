// The expert's own Ed25519 key, in the browser (libsodium's JavaScript build, served locally).
// Key file: the 32-byte seed as 64 hex digits and a newline (as bidders' plain key files).
// Signing: an Ed25519 signature of the report's canonical JSON exactly as the server shows it
// (bidding.evaluation.report.sign_report verifies it against the registered verify key).
// An ES module: the page's import map names "libsodium-sumo" (/vendor/libsodium-sumo/).
import sodium from "/vendor/libsodium-wrappers-sumo/libsodium-wrappers.mjs";

(function () {
  "use strict";
  function ready(run) {
    sodium.ready.then(run);
  }

  function say(id, text, bad) {
    var node = document.getElementById(id);
    if (node) { node.textContent = text; node.className = bad ? "field-error" : "hint"; }
  }

  // Make a key: the seed is saved as a file on the expert's computer; the verify key fills the form.
  ready(function () {
    var button = document.getElementById("make-key");
    var input = document.getElementById("f-verify_key");
    if (!button || !input) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var seed = sodium.randombytes_buf(32);
      var pair = sodium.crypto_sign_seed_keypair(seed);
      var blob = new Blob([sodium.to_hex(seed) + "\n"], { type: "text/plain" });
      var link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = "expert-signing.key";
      document.body.appendChild(link);
      link.click();
      link.remove();
      input.value = sodium.to_hex(pair.publicKey);
      say("key-note", "私钥文件已下载（expert-signing.key），请妥善保存；现在点击「登记公钥」。", false);
    });
  });

  // Sign the report with a key file chosen by the expert.
  ready(function () {
    var form = document.getElementById("sign-with-key");
    var file = document.getElementById("key-file");
    var canon = document.getElementById("report-canon");
    if (!form || !file || !canon) { return; }
    var button = document.getElementById("sign-button");
    var signature = document.getElementById("signature");
    file.addEventListener("change", function () {
      signature.value = "";
      button.disabled = true;
      if (!file.files.length) { return; }
      file.files[0].text().then(function (text) {
        var hex = text.trim().toLowerCase();
        if (!/^[0-9a-f]{64}$/.test(hex)) {
          say("sign-note", "密钥文件格式错误：应为 64 位十六进制的私钥种子", true);
          return;
        }
        var pair = sodium.crypto_sign_seed_keypair(sodium.from_hex(hex));
        if (sodium.to_hex(pair.publicKey) !== form.dataset.verifyKey) {
          say("sign-note", "该密钥文件与您登记的签名公钥不符", true);
          return;
        }
        var message = sodium.from_string(canon.value);
        var digest = sodium.to_hex(sodium.crypto_hash_sha256(message));
        var shown = document.getElementById("report-sha256");
        if (shown && shown.textContent.trim() !== digest) {
          say("sign-note", "报告内容与摘要不符，请刷新页面后重试", true);
          return;
        }
        signature.value = sodium.to_hex(sodium.crypto_sign_detached(message, pair.privateKey));
        button.disabled = false;
        say("sign-note", "已在本机用密钥签名（报告摘要 " + digest.slice(0, 16) + "…），请点击「用密钥签署」提交。", false);
      });
    });
  });
})();
