"""Third-party browser files served by this app (never from a CDN): the ZBar QR decoder.

Why ZBar compiled to WebAssembly (`@undecaf/zbar-wasm`, pinned in package.json): on a dense
version-24 code seen through a camera (scaled by a non-integer factor) it was the only
in-browser decoder measured to read it (TOOLCHAIN.md); jsQR and ZXing found nothing. The files
come from the npm install of the project (`make setup`), so the version served is the one the
lock file pins. Only the named files are served — this is not a window onto node_modules.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, PlainTextResponse, Response

router = APIRouter(include_in_schema=False)

_FILES: dict[str, tuple[str, str]] = {
    "zbar/index.js": ("@undecaf/zbar-wasm/dist/index.js", "text/javascript; charset=utf-8"),
    "zbar/zbar.wasm": ("@undecaf/zbar-wasm/dist/zbar.wasm", "application/wasm"),
}


def node_modules() -> Path:
    """The project's node_modules (HUREN_NODE_MODULES overrides, e.g. for a packaged install)."""
    override = os.environ.get("HUREN_NODE_MODULES")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "node_modules"


@router.get("/pages/vendor/{name:path}")
def vendor_file(name: str) -> Response:
    entry = _FILES.get(name)
    if entry is None:
        return PlainTextResponse("没有这个文件", status_code=404)
    path = node_modules() / entry[0]
    if not path.is_file():
        return PlainTextResponse("扫码组件未安装（请运行 make setup）", status_code=404)
    return FileResponse(path, media_type=entry[1], headers={"Cache-Control": "public, max-age=86400"})
