"""`make demo`: a local chain and the 京津冀 + 上海 federation — four nodes, one command.

Starts anvil, deploys, seeds regions, officers, departments, types, recognition and each region's
node entry (api/seed.py `seed_federation`), then starts one `huren serve` process per region
(北京 110000, 天津 120000, 河北 130000, 上海 310000; ports HUREN_PORT .. +3), each with its own
directory under `.huren/demo/<region>/`: env file, SQLite database, index, keystores of its own
departments and officers, node key and credentials. The nodes share only the chain. Sample
certificates are issued at each node through its department API and a sample QR code is written.
Ctrl-C or SIGTERM stops every node and anvil. Every run starts from a fresh chain (demo keys and
tokens are throw-away and printed on purpose).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import time
from pathlib import Path

import httpx

from api.node_processes import NodeDidNotStart, NodeProcess, start_all, stop_all
from api.seed import HE, REGION_NAMES, SH, add_holder, demo_documents, seed_federation
from ledger.anvil import IDLE_BLOCK_TIME_S, start_anvil

ROOT = Path(__file__).resolve().parent.parent


def _wait_until_presentable(base: str, token: str, cert_id: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        while time.monotonic() < deadline:
            reply = c.get("/v1/wallet/certificates")
            if reply.status_code == 429:  # the holder's rate limit (one window's): wait as told
                time.sleep(float(reply.headers.get("Retry-After", "1")))
                continue
            reply.raise_for_status()
            if any(i["cert_id"] == cert_id and i["status"]["code"] not in ("PENDING", "UNKNOWN")
                   for i in reply.json()):
                return
            time.sleep(1.0)  # within a credential's default rate (2/s)
    raise RuntimeError(f"certificate {cert_id} was not anchored within {timeout:.0f} s")


def _stop_on_termination() -> None:
    """SIGTERM and SIGHUP stop the demo like Ctrl-C: the `finally` below then stops the API and anvil.

    Why: anvil runs in a session of its own (so tests can kill it alone), out of reach of a signal
    to the demo's process group; Python's default SIGTERM action ends the interpreter without
    running `finally`, which left anvil running after a service manager or a terminal stopped the demo.
    """
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the Huren demo federation (local chain + four region nodes).")
    parser.add_argument("--port", type=int, default=int(os.environ.get("HUREN_PORT", "8000")),
                        help="the 北京 node's port; 天津, 河北 and 上海 take the next three")
    parser.add_argument("--workdir", type=Path, default=ROOT / ".huren" / "demo")
    parser.add_argument("--no-serve", action="store_true", help="seed and issue, then exit (smoke test)")
    parser.add_argument("--suite", type=int, choices=(1, 2), default=int(os.environ.get("HUREN_SUITE", "1")),
                        help="crypto suite of the consortium: 1 international (keccak/secp256k1/Ed25519), "
                             "2 国密 (SM3/SM2/SM4); default HUREN_SUITE or 1 (`make demo HUREN_SUITE=2`)")
    parser.add_argument("--kdf-iterations", type=int, default=None,
                        help="scrypt cost of the demo keystores (default: eth-account's production cost)")
    args = parser.parse_args()
    ports = {region: args.port + i for i, region in enumerate(REGION_NAMES)}
    if args.workdir.exists():
        shutil.rmtree(args.workdir)
    _stop_on_termination()
    print("启动本地链 (anvil) ...", flush=True)
    node = start_anvil(block_time=IDLE_BLOCK_TIME_S, mixed_mining=True)  # ticks when idle, as a network does
    nodes: list[NodeProcess] = []
    try:
        suite_name = "国密 SM2/SM3/SM4" if args.suite == 2 else "国际算法"
        print(f"部署合约并建立京津冀 + 上海演示联盟（{suite_name}；每项变更均经双人双锁提案；每个地区一个节点）...",
              flush=True)
        worlds = seed_federation(node, args.workdir, {r: f"http://127.0.0.1:{p}" for r, p in ports.items()},
                                 kdf_iterations=args.kdf_iterations, suite=args.suite)
        nodes = [NodeProcess(region, worlds[region], ports[region]) for region in REGION_NAMES]
        print("启动四个地区节点 (" + "、".join(f"{n.name} :{n.port}" for n in nodes) + ") ...", flush=True)
        try:
            start_all(nodes)
        except NodeDidNotStart as exc:
            raise SystemExit(f"{exc}（可设置 HUREN_PORT 换一组端口）") from None
        print("在各节点签发示例证照 ...", flush=True)
        holder, cert_id = _issue_samples(nodes)
        bj = nodes[0]
        _wait_until_presentable(bj.base_url, bj.world.tokens[holder], cert_id)
        with httpx.Client(base_url=bj.base_url, headers={"Authorization": f"Bearer {bj.world.tokens[holder]}"},
                          timeout=30) as c:
            png = c.post(f"/v1/wallet/certificates/{cert_id}/presentation?format=png",
                         json={"purpose": "演示：在河北省办理企业变更登记"})
            png.raise_for_status()
        qr_path = args.workdir / "sample-qr.png"
        qr_path.write_bytes(png.content)
        _print_banner(nodes, qr_path, holder)
        if args.no_serve:
            return
        _watch(nodes)
    except KeyboardInterrupt:
        print("\n正在停止 ...")
    finally:
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)  # a second signal must not cut the clean-up short
        stop_all(nodes)
        node.stop()
        print("已停止：四个地区节点与本地链。")


def _issue_samples(nodes: list[NodeProcess]) -> tuple[str, str]:
    """Two certificates per department, each at its own region's node; the holders get wallet sign-ins there.

    Returns (holder handle, cert id) of the first 北京 business licence: the sample code.
    """
    sample: tuple[str, str] | None = None
    for n in nodes:
        docs = demo_documents(n.world, 2)
        for d in n.world.departments:
            with httpx.Client(base_url=n.base_url, headers={"Authorization": f"Bearer {n.world.tokens[d.key]}"},
                              timeout=60) as c:
                for i, doc in enumerate(docs[d.key]):
                    reply = c.post("/v1/certificates", json={"document": {k: v for k, v in doc.items()
                                                                          if k != "issuer"}})
                    reply.raise_for_status()
                    handle = f"holder-{d.key}-{i + 1}"
                    add_holder(n.world, handle, doc)
                    if sample is None and d.key == "bj-amr":
                        sample = (handle, reply.json()["cert_id"])
    assert sample is not None
    return sample


def _watch(nodes: list[NodeProcess]) -> None:
    """Serve until a signal; a node that exits is reported, the others keep running (as in a federation)."""
    reported: set[int] = set()
    while True:
        for n in nodes:
            if n.process is not None and n.process.poll() is not None and n.region not in reported:
                reported.add(n.region)
                print(f"{n.name}节点已退出（退出码 {n.process.returncode}），其余节点继续运行；日志: {n.log_file}",
                      flush=True)
        time.sleep(0.5)


def _print_banner(nodes: list[NodeProcess], qr_path: Path, sample_holder: str) -> None:
    lines = ["", "=" * 72, " 互认 Huren 演示已就绪 (demo ready): 四个地区节点，共用一条本地链", "=" * 72]
    for n in nodes:
        lines += _node_lines(n)
    he, sh = (next(n for n in nodes if n.region == r) for r in (HE, SH))
    lines += [
        "-" * 72,
        f" 示例出示码 QR:   {qr_path}  (北京持证人 {sample_holder}, 5 分钟内有效)",
        " 试一试: 在河北节点核验北京营业执照 -> 有效; 在上海节点 -> 本地区未认可",
        f"   curl -s -H 'Authorization: Bearer {he.world.tokens['verifier-130000']}' \\",
        f"        -F image=@{qr_path} {he.base_url}/v1/verify/image",
        f"   curl -s -H 'Authorization: Bearer {sh.world.tokens['verifier-310000']}' \\",
        f"        -F image=@{qr_path} {sh.base_url}/v1/verify/image",
        " 各节点日志: <节点目录>/node.log。按 Ctrl-C 停止全部节点与本地链。",
        "=" * 72,
    ]
    print("\n".join(lines), flush=True)


def _node_lines(n: NodeProcess) -> list[str]:
    from api.pages import page_urls

    lines = [f" [{n.name} {n.region} 节点] {n.base_url}   目录: {n.world.workdir}",
             f"   接口文档 docs: {n.base_url}/docs   就绪检查: {n.base_url}/readyz   指标: {n.base_url}/metrics",
             "   页面 pages:"]
    pages = [f"{name} {url}" for name, url in page_urls(n.base_url).items()]
    lines += ["     " + "   ".join(pages[i:i + 3]) for i in range(0, len(pages), 3)]
    lines.append("   演示凭证 (Authorization: Bearer <token>; 页面登录时粘贴):")
    lines += [f"     {_label(handle):34} {token}" for handle, token in n.world.tokens.items()]
    lines.append("   管理员本人的签名密钥 (节点之外; 在区域管理页面打开, 仅演示时打印口令):")
    lines += [f"     {handle:34} {path}  口令: {secret}" for handle, (path, secret) in n.world.officer_keys.items()]
    return lines


def _label(handle: str) -> str:
    if handle.startswith("verifier-"):
        _, region, *window = handle.split("-")
        return f"{handle} ({REGION_NAMES[int(region)]} {window[0] if window else 1} 号核验窗口)"
    if handle.startswith("officer"):
        return f"{handle} ({REGION_NAMES[int(handle.split('-')[1])]}地区管理员)"
    return handle


if __name__ == "__main__":
    main()
