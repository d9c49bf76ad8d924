"""Third-party browser files served by this app (never from a CDN): the ZBar QR decoder, and the
audited @noble libraries the officer page decrypts keystores and signs with.

Why ZBar compiled to WebAssembly (`@undecaf/zbar-wasm`, pinned in package.json): on a dense
version-24 code seen through a camera (scaled by a non-integer factor) it was the only
in-browser decoder measured to read it (TOOLCHAIN.md); jsQR and ZXing found nothing. The files
come from the npm install of the project (`make setup`), so the version served is the one the
lock file pins. Only the named files are served — this is not a window onto node_modules.

@noble/hashes and @noble/curves (pinned exactly in package.json) are ES modules that import
each other by bare name ("@noble/hashes/sha2.js"); the pages' CSP (script-src 'self') refuses an
inline import map, so these modules are served with exactly that one prefix rewritten to this
route. Only top-level module files of the two packages (and curves' abstract/) are served.

`sm-crypto` (pinned exactly in package.json) gives the JavaScript verifier SM3 and SM2 for crypto
suite 2 (国密): no audited 国密 library exists for the browser, and this one is cross-checked
against GmSSL in tests/unit/common/test_gm_primitives.py. Its dist/sm2.js and dist/sm3.js are
UMD bundles; the verifier imports them by their node_modules paths ('sm-crypto/dist/sm3.js', which
Node loads as CommonJS), and this route serves each as an ES module: the unchanged bundle between
a local `module`/`exports` pair (so the UMD header takes its CommonJS branch and sets no global)
and `export default module.exports`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, PlainTextResponse, Response

router = APIRouter(include_in_schema=False)

_FILES: dict[str, tuple[str, str]] = {
    "zbar/index.js": ("@undecaf/zbar-wasm/dist/index.js", "text/javascript; charset=utf-8"),
    "zbar/zbar.wasm": ("@undecaf/zbar-wasm/dist/zbar.wasm", "application/wasm"),
}


_NOBLE = {"noble-hashes": "@noble/hashes", "noble-curves": "@noble/curves"}
_NOBLE_NAME = re.compile(r"^(noble-hashes|noble-curves)/((?:abstract/)?[a-z0-9_-]+\.js)$")
_BARE = re.compile(r"""(from\s*['"])@noble/(hashes|curves)/""")
#: The project's JavaScript verifier (api/pages/static/verifier/*.mjs), for the clerk page's offline
#: mode: the same files, with their bare @noble imports pointed at this route as above.
_VERIFIER_NAME = re.compile(r"^verifier/([a-z0-9-]+\.mjs)$")
_SM_CRYPTO_NAME = re.compile(r"^sm-crypto/(sm2|sm3)\.mjs$")
_SM_CRYPTO_BARE = re.compile(r"""(from\s*['"])sm-crypto/dist/(sm2|sm3)\.js(['"])""")
_VERIFIER_DIR = Path(__file__).resolve().parent / "static" / "verifier"


def node_modules() -> Path:
    """The project's node_modules (HUREN_NODE_MODULES overrides, e.g. for a packaged install)."""
    override = os.environ.get("HUREN_NODE_MODULES")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "node_modules"


@router.get("/pages/vendor/{name:path}")
def vendor_file(name: str) -> Response:
    noble = _NOBLE_NAME.match(name)
    if noble is not None:
        return _noble_module(noble.group(1), noble.group(2))
    verifier = _VERIFIER_NAME.match(name)
    if verifier is not None:
        return _verifier_module(verifier.group(1))
    sm_crypto = _SM_CRYPTO_NAME.match(name)
    if sm_crypto is not None:
        return _sm_crypto_module(sm_crypto.group(1))
    entry = _FILES.get(name)
    if entry is None:
        return PlainTextResponse("没有这个文件", status_code=404)
    path = node_modules() / entry[0]
    if not path.is_file():
        return PlainTextResponse("扫码组件未安装（请运行 make setup）", status_code=404)
    return FileResponse(path, media_type=entry[1], headers={"Cache-Control": "public, max-age=86400"})


def _noble_module(package: str, file: str) -> Response:
    path = node_modules() / _NOBLE[package] / file
    if not path.is_file():
        return PlainTextResponse("签名组件未安装（请运行 make setup）", status_code=404)
    text = _BARE.sub(lambda m: f"{m.group(1)}/pages/vendor/noble-{m.group(2)}/", path.read_text())
    return Response(text, media_type="text/javascript; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=86400"})


def _verifier_module(file: str) -> Response:
    path = _VERIFIER_DIR / file
    if not path.is_file():
        return PlainTextResponse("没有这个文件", status_code=404)
    text = _BARE.sub(lambda m: f"{m.group(1)}/pages/vendor/noble-{m.group(2)}/", path.read_text())
    text = _SM_CRYPTO_BARE.sub(lambda m: f"{m.group(1)}/pages/vendor/sm-crypto/{m.group(2)}.mjs{m.group(3)}", text)
    # no-cache: revalidated on every load, so a verifier update reaches the page (and its offline cache) at once
    return Response(text, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"})


def _sm_crypto_module(file: str) -> Response:
    """sm-crypto's UMD bundle `dist/<file>.js` as an ES module (module docstring)."""
    path = node_modules() / "sm-crypto" / "dist" / f"{file}.js"
    if not path.is_file():
        return PlainTextResponse("国密组件未安装（请运行 make setup）", status_code=404)
    text = ("const module = { exports: {} };\nconst exports = module.exports;\n" + path.read_text()
            + "\nexport default module.exports;\n")
    return Response(text, media_type="text/javascript; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=86400"})
