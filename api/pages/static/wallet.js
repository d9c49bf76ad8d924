// 我的证照. On the choice page: presets tick the boxes, ticking a box switches to "自选".
// On the code page: a visible countdown, a fresh code fetched before expiry (30 s ahead, or a
// tenth of the lifetime), "立即刷新" by hand and a pause (适老化: anything that refreshes can be
// paused). Without scripts both pages still work through their forms.
"use strict";
(function () {
  const preset = document.getElementById("preset");
  if (preset) {
    const boxes = Array.from(document.querySelectorAll("input[name=fields]"));
    preset.addEventListener("change", () => {
      const opt = preset.selectedOptions[0];
      if (!opt || opt.value === "custom") return;
      const chosen = new Set((opt.dataset.fields || "").split(" ").filter(Boolean));
      boxes.forEach((b) => { b.checked = chosen.has(b.value); });
    });
    boxes.forEach((b) => b.addEventListener("change", () => { preset.value = "custom"; }));
  }

  const panel = document.getElementById("qr-panel");
  if (!panel) return;
  const form = document.getElementById("present-form");
  const img = document.getElementById("qr");
  const countdown = document.getElementById("countdown");
  const note = document.getElementById("refresh-note");
  const live = document.getElementById("qr-live");
  const pause = document.getElementById("pause");
  let expires = Number(panel.dataset.expires);
  let ttl = Number(panel.dataset.ttl) || 300;
  let paused = false;
  let refreshing = false;
  let failures = 0;
  // Correct for a wrong phone clock: each code was made "now" by the server, so the difference
  // between the phone's clock and a code's creation time, taken when it arrives, is the skew.
  let skew = Date.now() / 1000 - Number(panel.dataset.created);
  const now = () => Date.now() / 1000 - (Math.abs(skew) > 5 ? skew : 0);
  const lead = () => Math.max(30, Math.round(ttl / 10));

  function show(data) {
    img.src = data.qr;
    img.classList.remove("stale");
    expires = data.expires_at;
    skew = Date.now() / 1000 - data.created_at;
    ttl = data.expires_at - data.created_at;
    document.getElementById("created-text").textContent = data.created_text;
    document.getElementById("expires-text").textContent = data.expires_text;
    const text = document.getElementById("presentation-text");
    if (text) text.value = data.text;
    const ref = document.getElementById("ref-qr");
    if (ref && data.reference_qr) ref.src = data.reference_qr;
    const url = document.getElementById("ref-url");
    if (url && data.reference) url.textContent = data.reference;
    live.textContent = "出示码已刷新，有效至 " + data.expires_text;
  }

  async function refresh() {
    if (refreshing) return;
    refreshing = true;
    try {
      if (form.dataset.bound === "1" && window.hurenHolder) { // signed on this device (wallet-holder.js)
        show(await window.hurenHolder.refresh(form));
        failures = 0;
        return;
      }
      const r = await fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "X-Requested-With": "huren-page" },
      });
      const data = await r.json();
      if (r.ok) { show(data); failures = 0; }
      else {
        failures += 1;
        note.textContent = "刷新失败：" + (data.error ? data.error.message : r.status) + "。可点“立即刷新”重试。";
      }
    } catch (e) {
      failures += 1;
      note.textContent = (form.dataset.bound === "1" ? "未能刷新：" + e.message : "网络连接失败，未能刷新")
        + "。可点“立即刷新”重试。";
    } finally {
      refreshing = false;
    }
  }

  function tick() {
    const left = Math.floor(expires - now());
    if (left <= 0) {
      countdown.textContent = "出示码已过期";
      countdown.classList.add("low");
      img.classList.add("stale");
      note.textContent = paused ? "已暂停自动刷新。出示码已过期，请点“立即刷新”。" : note.textContent;
    } else {
      const m = Math.floor(left / 60), s = left % 60;
      countdown.textContent = "剩余 " + m + " 分 " + String(s).padStart(2, "0") + " 秒";
      countdown.classList.toggle("low", left <= lead());
    }
    if (!paused && left <= lead() && failures < 3) refresh();
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); failures = 0; refresh(); });
  pause.hidden = false;
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.setAttribute("aria-pressed", paused ? "true" : "false");
    pause.textContent = paused ? "继续自动刷新" : "暂停自动刷新";
    note.textContent = paused ? "已暂停自动刷新：到期后请点“立即刷新”。" : "到期前会自动刷新出示码。";
  });
  tick();
  setInterval(tick, 1000);
})();
