// Live views: listen to a session's server-sent events and re-read its state fragment on each.
// The container carries data-live-stream (the SSE path), data-live-state (the fragment path)
// and data-live-kinds (the event kinds to re-read on; "ready" and "resync" always re-read).
// Events only say that something changed; the state is always read again from the server.
(function () {
  "use strict";
  var box = document.querySelector("[data-live-stream]");
  if (!box || typeof EventSource === "undefined") { return; }
  var status = document.querySelector("[data-live-status]");
  var reading = false, again = false;

  function say(text, state) {
    if (status) { status.textContent = text; status.dataset.state = state; }
  }

  function reread() {
    if (reading) { again = true; return; }
    reading = true;
    fetch(box.dataset.liveState, { credentials: "same-origin", headers: { "X-Requested-With": "live" } })
      .then(function (answer) {
        if (!answer.ok) { throw new Error("HTTP " + answer.status); }
        return answer.text();
      })
      .then(function (html) {
        box.innerHTML = html;
        box.dataset.updatedAt = String(Date.now());
        say("实时更新中 · 最近更新 " + new Date().toLocaleTimeString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }), "live");
      })
      .catch(function () { say("读取最新情况失败，将在下一事件时重试", "error"); })
      .finally(function () {
        reading = false;
        if (again) { again = false; reread(); }
      });
  }

  var source = new EventSource(box.dataset.liveStream);
  var kinds = ["ready", "resync"].concat((box.dataset.liveKinds || "").split(/\s+/).filter(Boolean));
  kinds.forEach(function (kind) { source.addEventListener(kind, reread); });
  source.addEventListener("end", function () { source.close(); say("实时连接已结束，请刷新本页", "ended"); });
  source.onerror = function () { say("实时连接中断，正在重新连接…", "reconnecting"); };
})();
