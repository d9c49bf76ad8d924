// Shared by every page: 长辈模式 toggles in place (no reload, so a live QR code stays on screen).
// Without scripts the same form posts and comes back to the page.
"use strict";
// A table too wide for the screen scrolls sideways: make that region reachable by keyboard.
function hurenScrollables() {
  document.querySelectorAll(".table-wrap").forEach((wrap) => {
    if (wrap.scrollWidth > wrap.clientWidth + 1) {
      wrap.tabIndex = 0;
      wrap.setAttribute("role", "region");
      const caption = wrap.querySelector("caption");
      wrap.setAttribute("aria-label", caption ? caption.textContent : "表格（可左右滚动）");
    }
  });
}
hurenScrollables();
window.addEventListener("resize", hurenScrollables);
(function () {
  const form = document.getElementById("elder-form");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    try {
      const r = await fetch(form.action, {
        method: "POST", body: data, credentials: "same-origin",
        headers: { "X-Requested-With": "huren-page" },
      });
      if (r.status !== 204) { form.submit(); return; }
    } catch (e) { form.submit(); return; }
    const on = data.get("on") === "1";
    document.documentElement.classList.toggle("elder", on);
    form.querySelector("input[name=on]").value = on ? "0" : "1";
    const button = form.querySelector("button");
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.querySelector(".elder-state").textContent = on ? "（已开）" : "（已关）";
    hurenScrollables();
  });
})();
