"""The browser can load the JavaScript verifier's whole import graph from this app (api/pages/vendor.py).

The verifier modules (api/pages/static/verifier/*.mjs) import @noble/hashes and @noble/curves by bare
name; the pages' CSP forbids import maps, so every such module — and everything it imports in turn —
must be served under /pages/vendor/ with the bare names rewritten. A new import (such as Ed25519 for the
加注 stamp) that the route does not serve would break offline verification in the browser only.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from api.pages.vendor import vendor_file

VERIFIER = Path(__file__).resolve().parents[3] / "api" / "pages" / "static" / "verifier"
_SPECIFIER = re.compile(r"""(?:\bfrom\s*|\bimport\s*)['"]([^'"]+)['"]""")
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


def _imports(text: str) -> list[str]:
    """Module specifiers of the import/export statements (comments, which show usage examples, left out)."""
    code = "\n".join(line for line in _BLOCK_COMMENT.sub("", text).splitlines()
                     if not line.lstrip().startswith("//"))
    return _SPECIFIER.findall(code)


def _vendor_name(specifier: str) -> str:
    package, _, file = specifier.removeprefix("@noble/").partition("/")
    return f"noble-{package}/{file}"


def test_every_module_the_verifier_reaches_is_served_with_bare_names_rewritten() -> None:
    todo = [_vendor_name(s) for f in sorted(VERIFIER.glob("*.mjs")) for s in _imports(f.read_text())
            if s.startswith("@noble/")]
    assert any(name.endswith("ed25519.js") for name in todo)
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        response = vendor_file(name)
        assert response.status_code == 200, name
        text = bytes(response.body).decode()
        assert "@noble/" not in "".join(_imports(text)), name
        for spec in _imports(text):
            if spec.startswith("/pages/vendor/"):
                todo.append(spec.removeprefix("/pages/vendor/"))
            else:
                assert spec.startswith("."), (name, spec)
                todo.append(posixpath.normpath(posixpath.join(posixpath.dirname(name), spec)))
    assert "noble-curves/abstract/edwards.js" in seen and "noble-hashes/sha2.js" in seen


def test_verifier_modules_import_each_other_only_relatively() -> None:
    for f in VERIFIER.glob("*.mjs"):
        for spec in _imports(f.read_text()):
            assert spec.startswith("./") or spec.startswith("@noble/"), (f.name, spec)
