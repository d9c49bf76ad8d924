// 发证部门: follow a bulk issuance's progress (the page reloads itself for the report when done);
// focus the error summary after a refused issuance. (Switching the type is a button, not an
// on-change submit: changing a select must not change the page under a keyboard user.)
"use strict";
(function () {
  const job = document.getElementById("bulk-job");
  if (job && job.dataset.finished === "no") {
    const bar = document.getElementById("bulk-progress");
    const count = document.getElementById("bulk-count");
    const poll = async () => {
      try {
        const r = await fetch("/pages/department/bulk/" + job.dataset.job + "/progress",
          { credentials: "same-origin", headers: { "X-Requested-With": "huren-page" } });
        const p = await r.json();
        bar.value = p.done;
        count.textContent = "已处理 " + p.done + " / " + p.total + " 行" + (p.finished ? "" : "（处理中…）");
        if (p.finished) { window.location.reload(); return; }
      } catch (e) { /* keep polling */ }
      setTimeout(poll, 400);
    };
    setTimeout(poll, 200);
  }
  const errors = document.getElementById("issue-errors");
  if (errors) errors.focus();
})();
