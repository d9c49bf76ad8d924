"""The web pages (zh-CN, server-rendered, little JavaScript) served by the API app itself.

Why from the same app: government networks are often cut off from the internet, so every
asset a page needs — styles, scripts, the WebAssembly QR decoder — comes from this server;
a page never loads anything from another host (tests record every request to prove it).

`install(app)` mounts the pages; `page_urls(base_url)` tells `make demo` what to print.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

__all__ = ["install", "page_urls"]

STATIC_DIR = Path(__file__).resolve().parent / "static"


def page_urls(base_url: str) -> dict[str, str]:
    """The pages a demo user opens, by Chinese name -> absolute URL."""
    base = base_url.rstrip("/")
    return {
        "首页": f"{base}/pages/",
        "登录": f"{base}/pages/signin",
        "持证人 · 我的证照": f"{base}/pages/wallet",
        "窗口核验": f"{base}/pages/clerk",
        "发证部门": f"{base}/pages/department",
        "区域管理": f"{base}/pages/officer",
        "公开目录": f"{base}/pages/registry",
    }


def install(app: FastAPI) -> None:
    """Add the page routes and their static files to the API app."""
    from api.pages import views_auth, views_clerk, views_department, views_officer, views_registry, views_wallet
    from api.pages.vendor import router as vendor_router

    for module in (views_auth, views_wallet, views_clerk, views_department, views_officer, views_registry):
        app.include_router(module.router)
    app.include_router(vendor_router)
    app.mount("/pages/static", StaticFiles(directory=STATIC_DIR), name="pages-static")
    app.include_router(views_auth.fallback)  # last: an unknown page is a Chinese page too, not JSON
