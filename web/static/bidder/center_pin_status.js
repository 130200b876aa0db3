// The key page's center key section, whether or not the organisation has a key yet: says
// whether this browser has pinned the center verify key shown (center_pin.js says why).
import * as sealed from "./sealed_bid.js";
import { pinnedCenterKey } from "./center_pin.js";

const $ = (id) => document.getElementById(id);

function showPin() {
  const shown = $("center-key").dataset.centerKey;
  const pinned = pinnedCenterKey();
  const box = $("center-pin-status");
  if (!pinned) {
    box.textContent = "本浏览器尚未固定交易中心验签公钥：登记身份公钥时将固定上面这个公钥。";
    box.className = "hint";
  } else if (pinned === shown) {
    box.textContent = `本浏览器已固定此公钥（指纹 ${sealed.keyFingerprint(pinned)}）。`;
    box.className = "ok";
  } else {
    box.textContent = `注意：本浏览器此前固定的交易中心验签公钥（指纹 ${sealed.keyFingerprint(pinned)}）与本页显示的不同。`
      + "如交易中心未公告更换公钥，请勿继续，并与交易中心核实；确已更换的，请在加密递交页填入新公钥。";
    box.className = "field-error";
  }
}

sealed.ready().then(showPin);
