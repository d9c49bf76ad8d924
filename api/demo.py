"""`make demo`: a local chain, the contracts, the 京津冀 demo consortium, the API and pages — one command.

Starts anvil, deploys, seeds regions, officers, departments, types and recognition (api/seed.py),
issues sample certificates through the department API, writes a sample QR code, and serves
the API on 127.0.0.1. Ctrl-C stops everything it started. Every run starts from a fresh chain
in `.huren/demo/` (demo keys and tokens are throw-away and printed on purpose).
"""

from __future__ import annotations

import argparse
import os
import shutil
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from api.app import create_app
from api.seed import DEPARTMENTS, REGION_NAMES, add_holder, demo_documents, seed
from api.settings import Settings
from ledger.anvil import start_anvil

ROOT = Path(__file__).resolve().parent.parent


def _wait_until_presentable(base: str, token: str, cert_id: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        while time.monotonic() < deadline:
            items = c.get("/v1/wallet/certificates").json()
            if any(i["cert_id"] == cert_id and i["status"]["code"] not in ("PENDING", "UNKNOWN") for i in items):
                return
            time.sleep(0.3)
    raise RuntimeError(f"certificate {cert_id} was not anchored within {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the Huren demo (local chain + API + pages).")
    parser.add_argument("--port", type=int, default=int(os.environ.get("HUREN_PORT", "8000")))
    parser.add_argument("--workdir", type=Path, default=ROOT / ".huren" / "demo")
    parser.add_argument("--no-serve", action="store_true", help="seed and issue, then exit (smoke test)")
    parser.add_argument("--kdf-iterations", type=int, default=None,
                        help="scrypt cost of the demo keystores (default: eth-account's production cost)")
    args = parser.parse_args()
    base = f"http://127.0.0.1:{args.port}"
    if args.workdir.exists():
        shutil.rmtree(args.workdir)
    print("启动本地链 (anvil) ...", flush=True)
    node = start_anvil()
    server: uvicorn.Server | None = None
    try:
        print("部署合约并建立京津冀 + 上海演示联盟（每项变更均经双人双锁提案）...", flush=True)
        world = seed(node, args.workdir, kdf_iterations=args.kdf_iterations)
        os.environ.update({**world.env, "HUREN_PUBLIC_BASE_URL": base})
        app = create_app(Settings.from_env())
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            if not thread.is_alive():
                raise SystemExit(f"API server could not start on port {args.port} (in use? set HUREN_PORT)")
            time.sleep(0.05)
        print("签发示例证照 ...", flush=True)
        docs = demo_documents(world, 2)
        sample: tuple[str, str] | None = None
        for d in DEPARTMENTS:
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {world.tokens[d.key]}"},
                              timeout=60) as c:
                for i, doc in enumerate(docs[d.key]):
                    body = {k: v for k, v in doc.items() if k != "issuer"}
                    reply = c.post("/v1/certificates", json={"document": body})
                    reply.raise_for_status()
                    handle = f"holder-{d.key}-{i + 1}"
                    add_holder(world, handle, doc)
                    if sample is None and d.key == "bj-amr":
                        sample = (handle, reply.json()["cert_id"])
        assert sample is not None
        holder, cert_id = sample
        _wait_until_presentable(base, world.tokens[holder], cert_id)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {world.tokens[holder]}"},
                          timeout=30) as c:
            png = c.post(f"/v1/wallet/certificates/{cert_id}/presentation?format=png",
                         json={"purpose": "演示：在河北省办理企业变更登记"})
            png.raise_for_status()
        qr_path = args.workdir / "sample-qr.png"
        qr_path.write_bytes(png.content)
        _print_banner(base, world, qr_path, holder)
        if args.no_serve:
            return
        while thread.is_alive():
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\n正在停止 ...")
    finally:
        if server is not None:
            server.should_exit = True
            time.sleep(0.5)
        node.stop()
        print("已停止：API 服务与本地链。")


def _print_banner(base: str, world, qr_path: Path, sample_holder: str) -> None:  # type: ignore[no-untyped-def]
    lines = [
        "",
        "=" * 72,
        " 互认 Huren 演示已就绪 (demo ready)",
        "=" * 72,
        f" API:            {base}",
        f" 接口文档 docs:   {base}/docs",
        f" 就绪检查:        {base}/readyz      指标: {base}/metrics",
        f" 示例出示码 QR:   {qr_path}  (持证人 {sample_holder}, 5 分钟内有效)",
    ]
    try:
        from api.pages import page_urls  # provided by the pages package

        lines.append(" 页面 pages:")
        lines += [f"   {name:12} {url}" for name, url in page_urls(base).items()]
    except ImportError:
        pass
    lines.append(" 演示凭证 (Authorization: Bearer <token>; 页面登录时粘贴):")
    for handle, token in world.tokens.items():
        label = handle
        if handle.startswith("verifier-"):
            label += f" ({REGION_NAMES[int(handle.split('-')[1])]}核验窗口)"
        elif handle.startswith("officer-"):
            label += f" ({REGION_NAMES[int(handle.split('-')[1])]}地区管理员)"
        lines.append(f"   {label:32} {token}")
    lines += [
        " 试一试: 河北窗口核验北京营业执照 -> 有效; 上海窗口 -> 本地区未认可",
        f"   curl -s -H 'Authorization: Bearer {world.tokens['verifier-130000']}' \\",
        f"        -F image=@{qr_path} {base}/v1/verify/image",
        " 按 Ctrl-C 停止。",
        "=" * 72,
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
