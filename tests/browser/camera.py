"""The fake-camera path: a QR screenshot -> a 1280x720 frame -> a Y4M clip -> Chromium's camera.

Why a blank lead-in: the clip starts with one second of empty white frames, then shows the code.
A small script injected before the page loads (not part of the page) watches the `<video>` the
clerk page plays and notes the moment the first frame with the code in it is presented; the
page's own `huren:verdict` event marks the verdict on screen. Their difference is the time a
clerk waits from code-on-camera to verdict: decode in the browser, verification over HTTP,
the log entry, and rendering.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

from PIL import Image

LEAD_IN_S = 1
CODE_S = 3

#: Runs before any page script; measures only, changes nothing on the page.
TIMING_HOOK = """
(() => {
  const cam = window.__cam = {appear: null, frames: 0, verdicts: []};
  document.addEventListener("huren:verdict",
    (e) => cam.verdicts.push({code: e.detail.code, at: performance.now(), decodedAt: e.detail.decodedAt}));
  const c = document.createElement("canvas"); c.width = 64; c.height = 36;
  const g = c.getContext("2d", {willReadFrequently: true});
  function watch(v) {
    const cb = (now) => {
      cam.frames++;
      if (cam.appear === null && v.videoWidth) {
        g.drawImage(v, 0, 0, 64, 36);
        const d = g.getImageData(0, 0, 64, 36).data;
        let dark = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] < 100) dark++;
        if (dark > 20) cam.appear = now;
      }
      v.requestVideoFrameCallback(cb);
    };
    v.requestVideoFrameCallback(cb);
  }
  const t = setInterval(() => {
    const v = document.getElementById("camera");
    if (v) { clearInterval(t); watch(v); }
  }, 5);
})();
"""


def camera_clip(qr_png: bytes, out_dir: Path, name: str = "wallet-qr", side: int = 600) -> Path:
    """A Y4M clip (10 fps): 1 s of white, then 3 s of the QR centred on a 1280x720 white frame.

    The QR is rescaled by a non-integer factor (as every camera does) with bilinear filtering.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    qr = Image.open(io.BytesIO(qr_png)).convert("RGB").resize((side, side), Image.Resampling.BILINEAR)
    frame = Image.new("RGB", (1280, 720), "white")
    frame.paste(qr, ((1280 - side) // 2, (720 - side) // 2))
    frame_path = out_dir / f"{name}-frame.png"
    blank_path = out_dir / "blank-frame.png"
    frame.save(frame_path)
    Image.new("RGB", (1280, 720), "white").save(blank_path)
    clip = out_dir / f"{name}.y4m"
    subprocess.run(
        ["ffmpeg", "-y", "-loglevel", "error",
         "-loop", "1", "-framerate", "10", "-t", str(LEAD_IN_S), "-i", str(blank_path),
         "-loop", "1", "-framerate", "10", "-t", str(CODE_S), "-i", str(frame_path),
         "-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]", "-pix_fmt", "yuv420p", str(clip)],
        check=True, timeout=120,
    )
    return clip


def camera_args(clip: Path) -> list[str]:
    return ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={clip}"]
