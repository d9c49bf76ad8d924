// 公开目录: live counts every 15 s, with a pause (适老化: what updates by itself can be stopped).
"use strict";
(function () {
  const pause = document.getElementById("counts-pause");
  if (!pause) return;
  let paused = false;
  const set = (id, v) => { const el = document.getElementById(id); if (el) el.textContent = v; };
  async function update() {
    if (paused) return;
    try {
      const r = await fetch("/pages/registry/counts.json", { credentials: "same-origin" });
      const c = await r.json();
      ["certificates", "batches", "verifications", "issuers"].forEach((k) => set("c-" + k, c[k]));
      set("c-asof", c.as_of);
      set("c-height", c.height);
      const list = document.getElementById("c-verdicts");
      list.textContent = "";
      (c.verdicts.length ? c.verdicts : [{ label: "暂无核验", count: null }]).forEach((v) => {
        const li = document.createElement("li");
        li.textContent = v.count === null ? v.label : v.label + "：" + v.count + " 次";
        list.appendChild(li);
      });
    } catch (e) { /* next round */ }
  }
  pause.hidden = false;
  document.getElementById("counts-auto").hidden = false;
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.setAttribute("aria-pressed", paused ? "true" : "false");
    pause.textContent = paused ? "继续自动更新" : "暂停自动更新";
  });
  setInterval(update, 15000);
})();
