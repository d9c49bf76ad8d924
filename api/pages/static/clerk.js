// 窗口核验: camera scanning with ZBar (WebAssembly, served by this app), photo upload and pasted
// text, all answered in place by the server's verdict fragment. The camera keeps scanning after a
// verdict, so the next citizen's code is verified without a click; the same code is not re-sent
// for 15 s (it would only repeat the answer and the log entry).
"use strict";
(function () {
  const result = document.getElementById("result");
  const status = document.getElementById("scan-status");
  const video = document.getElementById("camera");
  const toggle = document.getElementById("camera-toggle");
  const pasteForm = document.getElementById("paste-form");
  const uploadForm = document.getElementById("upload-form");
  const message = document.getElementById("form-message");
  const csrf = pasteForm.querySelector("input[name=csrf]").value;
  const live = document.createElement("p");
  live.className = "visually-hidden";
  live.setAttribute("role", "status");
  document.body.appendChild(live);
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const MAX_IMAGE = 2 * 1000 * 1000;
  let stream = null;
  let running = false;
  let busy = false;
  let last = { text: null, at: 0 };

  function say(text) { status.textContent = text; }
  function problem(text) {
    message.textContent = text;
    message.hidden = !text;
  }

  function wire() {
    const print = result.querySelector(".js-print");
    if (print) print.addEventListener("click", () => {
      // The receipt alone: the verdict headline and the 核验回执 block (see site.css, @media print).
      document.body.classList.add("printing-receipt");
      window.print();
    });
    const clear = result.querySelector(".js-clear");
    if (clear) clear.addEventListener("click", () => {
      result.innerHTML = "";
      last = { text: null, at: 0 };
      document.getElementById("text").focus();
    });
  }
  window.addEventListener("afterprint", () => document.body.classList.remove("printing-receipt"));
  wire();
  const initial = document.getElementById("verdict-headline");
  if (initial) initial.focus();

  // 应急模式 (clerk-offline.js): the node cannot be reached, so the page verifies with its kept snapshot.
  async function offline(body, focusVerdict) {
    const off = window.hurenOffline;
    if (!off) return false;
    const text = body.get("text");
    const image = body.get("image");
    try {
      if (typeof text === "string" && text.trim()) return await off.verifyText(text, focusVerdict);
      if (image && image.size) return await off.verifyImage(image);
    } catch (e) { /* shown as a failed verification below */ }
    return false;
  }

  async function submit(url, body, focusVerdict, decodedAt) {
    busy = true;
    problem("");
    try {
      let r;
      try {
        r = await fetch(url, {
          method: "POST", body, credentials: "same-origin", headers: { "X-Requested-With": "huren-page" },
        });
      } catch (e) {
        if (await offline(body, focusVerdict)) return true;
        throw e;
      }
      let data = null;
      try { data = await r.json(); } catch (e) { data = null; }
      // A proxy's answer for a node it cannot reach (ours are JSON with `html` or `error`).
      if ([502, 503, 504].includes(r.status) && !(data && (data.html !== undefined || data.error))
          && await offline(body, focusVerdict)) return true;
      if (r.ok && data && data.html !== undefined) {
        result.innerHTML = data.html;
        wire();
        const head = document.getElementById("verdict-headline");
        live.textContent = "核验结论：" + (head ? head.textContent : "");
        if (head && focusVerdict) head.focus();
        else result.scrollIntoView({ block: "start" });
        document.dispatchEvent(new CustomEvent("huren:verdict", { detail: { code: data.code, decodedAt } }));
        return true;
      }
      const err = data && data.error;
      problem(err ? [err.title, err.message, err.hint].filter(Boolean).join("：") : "核验请求失败（" + r.status + "），请重试。");
    } catch (e) {
      problem("网络连接失败，未能核验；本页也没有可用的离线名录（请在联网时打开本页）。请检查网络后重试。");
    } finally {
      busy = false;
    }
    return false;
  }

  pasteForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const area = document.getElementById("text");
    if (!area.value.trim()) {
      problem("请先粘贴出示码文本（以 HR2: 开头）或引用码。");
      area.focus();
      return;
    }
    if (await submit(pasteForm.action, new FormData(pasteForm), true)) area.value = "";
  });

  uploadForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = document.getElementById("image");
    const file = input.files && input.files[0];
    if (!file) { problem("请先选择一张含二维码的照片（PNG 或 JPEG）。"); input.focus(); return; }
    if (file.size > MAX_IMAGE) { problem("照片超过 2 MB，请压缩或截取二维码部分后再上传。"); input.focus(); return; }
    if (await submit(uploadForm.action, new FormData(uploadForm), true)) input.value = "";
  });

  // -- camera ------------------------------------------------------------------------------
  function next() {
    if (!running) return;
    if ("requestVideoFrameCallback" in video) video.requestVideoFrameCallback(() => { tick(); });
    else setTimeout(tick, 80);
  }

  async function tick() {
    if (!running) return;
    if (!busy && video.videoWidth > 0) {
      const w = video.videoWidth, h = video.videoHeight;
      if (canvas.width !== w) canvas.width = w;
      if (canvas.height !== h) canvas.height = h;
      ctx.drawImage(video, 0, 0, w, h);
      let symbols = [];
      try { symbols = await zbarWasm.scanImageData(ctx.getImageData(0, 0, w, h)); } catch (e) { symbols = []; }
      for (const s of symbols) {
        const text = s.decode();
        if (!/^(HR2|HR1|HRR1):/.test(text) && !/^https?:\/\//i.test(text)) {
          say("这个二维码不是本系统的出示码：请扫描持证人“我的证照”页面上的出示码。");
          continue;
        }
        const decodedAt = performance.now();
        const now = Date.now();
        if (text === last.text && now - last.at < 15000) continue;
        last = { text, at: now };
        say("已读到出示码，正在核验…");
        const fd = new FormData();
        fd.append("csrf", csrf);
        fd.append("text", text);
        await submit("/pages/clerk/verify", fd, false, decodedAt);
        say("请将下一个出示码对准摄像头");
        break;
      }
    }
    next();
  }

  async function start() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say("此浏览器不能使用摄像头：请上传照片或粘贴文本。");
      return;
    }
    if (!window.zbarWasm) {
      say("扫码组件未能加载：请上传照片或粘贴文本。");
      return;
    }
    say("正在打开摄像头…");
    try {
      zbarWasm.setModuleArgs({ locateFile: (file) => "/pages/vendor/zbar/" + file });
      await zbarWasm.getDefaultScanner();  // load the decoder before the first frame arrives
      stream = await navigator.mediaDevices.getUserMedia({
        audio: false, video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 720 } },
      });
    } catch (e) {
      say("无法打开摄像头（" + (e && e.name ? e.name : "错误") + "）：请检查摄像头和浏览器权限，或上传照片、粘贴文本。");
      return;
    }
    video.srcObject = stream;
    try { await video.play(); } catch (e) { /* muted inline video plays without a gesture */ }
    running = true;
    document.body.classList.add("camera-on");
    toggle.hidden = false;
    toggle.textContent = "暂停摄像头";
    say("请将出示码对准摄像头");
    next();
  }

  function stop() {
    running = false;
    document.body.classList.remove("camera-on");
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    video.srcObject = null;
    toggle.textContent = "开启摄像头";
    say("摄像头已暂停。");
  }

  toggle.addEventListener("click", () => { if (running) stop(); else start(); });
  start();
})();
