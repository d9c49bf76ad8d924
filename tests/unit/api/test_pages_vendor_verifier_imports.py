"""The browser can load the JavaScript verifier's whole import graph from this app (api/pages/vendor.py).

The verifier modules (api/pages/static/verifier/*.mjs) import @noble/hashes and @noble/curves by bare
name; the pages' CSP forbids import maps, so every such module — and everything it imports in turn —
must be served under /pages/vendor/ with the bare names rewritten. A new import (such as Ed25519 for the
加注 stamp) that the route does not serve would break offline verification in the browser only. The same
holds for sm-crypto (SM3 / SM2, crypto suite 2), whose UMD bundles are served as ES modules.
"""

from __future__ import annotations

import json
import posixpath
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from api.pages.vendor import vendor_file

VERIFIER = Path(__file__).resolve().parents[3] / "api" / "pages" / "static" / "verifier"
_SPECIFIER = re.compile(r"""(?:\bfrom\s*|\bimport\s*)['"]([^'"]+)['"]""")
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


def _imports(text: str) -> list[str]:
    """Module specifiers of the import/export statements (comments, which show usage examples, left out)."""
    code = "\n".join(line for line in _BLOCK_COMMENT.sub("", text).splitlines()
                     if not line.lstrip().startswith("//"))
    return _SPECIFIER.findall(code)


VECTORS = Path(__file__).resolve().parents[2] / "vectors"
_SM_CRYPTO = re.compile(r"^sm-crypto/dist/(sm2|sm3)\.js$")


def _vendor_name(specifier: str) -> str:
    sm = _SM_CRYPTO.match(specifier)
    if sm is not None:
        return f"sm-crypto/{sm.group(1)}.mjs"
    package, _, file = specifier.removeprefix("@noble/").partition("/")
    return f"noble-{package}/{file}"


def _served_graph() -> dict[str, str]:
    """Every module the browser loads for the verifier, by its /pages/vendor/ name, as served."""
    todo = [f"verifier/{f.name}" for f in sorted(VERIFIER.glob("*.mjs"))]
    served: dict[str, str] = {}
    while todo:
        name = todo.pop()
        if name in served:
            continue
        response = vendor_file(name)
        assert response.status_code == 200, name
        text = bytes(response.body).decode()
        served[name] = text
        specs = _imports(text)
        assert not any(s.startswith("@noble/") or s.startswith("sm-crypto/") for s in specs), name
        for spec in specs:
            if spec.startswith("/pages/vendor/"):
                todo.append(spec.removeprefix("/pages/vendor/"))
            else:
                assert spec.startswith("."), (name, spec)
                todo.append(posixpath.normpath(posixpath.join(posixpath.dirname(name), spec)))
    return served


def test_every_module_the_verifier_reaches_is_served_with_bare_names_rewritten() -> None:
    bare = [_vendor_name(s) for f in sorted(VERIFIER.glob("*.mjs")) for s in _imports(f.read_text())
            if s.startswith("@noble/") or s.startswith("sm-crypto/")]
    assert any(name.endswith("ed25519.js") for name in bare)
    assert {"sm-crypto/sm2.mjs", "sm-crypto/sm3.mjs"} <= set(bare)
    seen = set(_served_graph())
    assert set(bare) <= seen
    assert "noble-curves/abstract/edwards.js" in seen and "noble-hashes/sha2.js" in seen


def test_verifier_modules_import_each_other_only_relatively() -> None:
    for f in VERIFIER.glob("*.mjs"):
        for spec in _imports(f.read_text()):
            assert spec.startswith("./") or spec.startswith("@noble/") or _SM_CRYPTO.match(spec), (f.name, spec)


def test_an_unknown_sm_crypto_file_is_not_served() -> None:
    assert vendor_file("sm-crypto/sm4.mjs").status_code == 404
    assert vendor_file("sm-crypto/../package.json").status_code == 404


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_the_served_modules_verify_a_suite_two_vector_as_the_browser_loads_them(tmp_path: Path) -> None:
    """The graph exactly as served (sm-crypto as ES modules, strict mode, no node_modules) gives a
    suite-2 conformance vector its verdict, and a changed stamp byte turns it TAMPERED."""
    root = tmp_path / "pages" / "vendor"
    absolute = re.compile(r"""(['"])/pages/vendor/""")
    for name, text in _served_graph().items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(absolute.sub(lambda m: f"{m.group(1)}{root.as_uri()}/", text))
    vector = json.loads((VECTORS / "hr2" / "suite2--valid.json").read_text(encoding="utf-8"))
    (tmp_path / "vector.json").write_text(json.dumps(vector))
    script = (f"import {{ verifyText }} from '{(root / 'verifier' / 'huren-verify.mjs').as_uri()}';\n"
              "import { readFileSync } from 'node:fs';\n"
              f"const v = JSON.parse(readFileSync('{tmp_path / 'vector.json'}', 'utf8'));\n"
              "const r = verifyText(v.code, v.facts, v.policy, v.now);\n"
              "const keys = v.facts.stampKeys.map((k) => ({ ...k, publicKey: k.publicKey.replace(/.$/, (c) => "
              "(c === '0' ? '1' : '0')) }));\n"
              "const t = verifyText(v.code, { ...v.facts, stampKeys: keys }, v.policy, v.now);\n"
              "console.log(JSON.stringify([r.verdict, t.verdict, r.checks.map((c) => c.name)]));\n")
    done = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, text=True,
                          timeout=60, check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    valid, tampered, names = json.loads(done.stdout)
    assert (valid, tampered) == ("VALID", "TAMPERED")
    assert names[0] == "crypto_suite" and "sm2_issuer_signature" in names
