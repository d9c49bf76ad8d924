"""The pages' pure parts: the schema-generated issuance form, the clerk's verdict words, sessions,
redirect targets and the URLs `make demo` prints. (The pages themselves: tests/browser/.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine

from api.credentials import CredentialStore
from api.pages import page_urls, schema_form, verdict_view
from api.pages.common import safe_next
from api.pages.sessions import IDLE_TTL_S, SESSION_TTL_S, SessionStore
from common.document import flatten
from issuers.catalogue import default_catalogue
from issuers.samples import sample_document


@pytest.mark.parametrize("type_code", sorted(default_catalogue()))
def test_form_has_a_field_for_every_claim_and_gives_the_document_back(type_code: str) -> None:
    ctype = default_catalogue()[type_code]
    groups = schema_form.build_form(ctype)
    paths = {f.path for g in groups for f in g.fields}
    assert ctype.claim_paths <= paths
    assert {"serial", "holder.name", "holder.idType", "holder.idNumber", "validFrom"} <= paths
    doc = sample_document(type_code, 7)
    values = {k: ("" if v is None else str(v)) for k, v in flatten(doc).items()}
    values["serial"] = "A1"
    back = schema_form.document_from(ctype, schema_form.build_form(ctype, values), values)
    assert back["claims"] == doc["claims"]
    assert back["holder"]["idNumber"] == doc["holder"]["idNumber"]
    assert back["validFrom"] == doc["validFrom"] and back["validUntil"] == doc["validUntil"]
    for g in groups:
        for f in g.fields:
            rule = next((r for p, r in ctype.rule_fields if p == f.path), None)
            if rule:
                assert rule in f.help, (f.path, f.help)


def test_errors_land_on_their_fields_with_the_rule() -> None:
    ctype = default_catalogue().by_name("营业执照")
    groups = schema_form.build_form(ctype)
    summary = schema_form.attach_errors(groups, [
        {"path": "claims.creditCode", "rule": "GB 32100", "message": "校验码错误"},
        {"path": "id", "rule": "GB/T 36904", "message": "证照编号无效"},
        {"path": "", "rule": "", "message": "整份证照有误"},
    ])
    fields = {f.path: f for g in groups for f in g.fields}
    assert fields["claims.creditCode"].errors == ["校验码错误（规则：GB 32100）"]
    assert fields["serial"].errors == ["证照编号无效（规则：GB/T 36904）"]
    assert summary[0] == "「统一社会信用代码」校验码错误（规则：GB 32100）"
    assert summary[2] == "「证照」整份证照有误"


def test_verdict_words_colour_group_and_disclosed_order() -> None:
    base = {"verdict": "VALID", "label": "核验通过", "advice": "…", "outcome": "valid", "checks": [
        {"name": "recognition", "ok": True, "detail": "本地区认可"}],
        "disclosed": {"validUntil": None, "claims.entityName": "示例公司", "type": "11100000MB0143028R001",
                      "issuer.region": 110000},
        "issuer": {"name": "北京市市场监督管理局", "region": 110000, "credit_code": "X", "status": "ACTIVE"},
        "log_entry": {"logSeq": 7, "entryHash": "0xab"}}
    view = verdict_view.build(base, "河北政务服务窗口", 130000)
    assert view.headline == "有效 · 本地区认可" and view.outcome == "valid" and view.outcome_word == "通过"
    assert [k for k, _ in view.disclosed] == ["证照类型代码", "名称", "所属管辖属地编码", "有效期截止"]
    assert dict(view.disclosed)["有效期截止"] == "长期"
    assert view.checks[0]["name"] == "本地区认可该地区的这类证照"
    assert view.log_seq == 7 and ("核验日志序号", "7") in view.receipt
    assert verdict_view.build(base, "北京窗口", 110000).headline == "有效 · 本地区签发"
    for code, words in (("REVOKED", "已撤销"), ("SUSPENDED", "已暂扣"), ("NOT_RECOGNISED", "本地区未认可该类证照"),
                        ("EXPIRED", "已过期"), ("PRESENTATION_EXPIRED", "出示码已过期，请刷新"),
                        ("TAMPERED", "内容被篡改")):
        assert verdict_view.build({**base, "verdict": code}, "窗口", 130000).headline == words
    assert verdict_view.problem("没有选择照片", "请选择").problem == "没有选择照片"


def test_sessions_end_expire_and_follow_the_credential(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    creds = CredentialStore(engine)
    cred, _ = creds.add("verifier", "河北窗口", region=130000)
    store = SessionStore(engine)
    sid = store.create(cred, now=1_000)
    found = store.lookup(sid, now=1_010)
    assert found is not None and found.credential.id == cred.id and len(found.csrf) >= 32
    assert store.lookup("not-a-session", now=1_010) is None
    assert store.lookup(sid, now=1_010 + IDLE_TTL_S + 1) is None  # idle too long: gone
    sid = store.create(cred, now=2_000)
    assert store.lookup(sid, now=2_000 + SESSION_TTL_S + 1) is None  # past its lifetime
    sid = store.create(cred, now=3_000)
    store.end(sid)
    assert store.lookup(sid, now=3_001) is None
    sid = store.create(cred, now=4_000)
    creds.disable(cred.id)
    assert store.lookup(sid, now=4_001) is None  # a disabled credential ends its sessions


def test_redirect_targets_stay_on_the_pages() -> None:
    assert safe_next("/pages/clerk", "/x") == "/pages/clerk"
    for bad in ("https://evil.example/", "//evil.example/pages/", "/pages/../v1/x\\", "/pages/../v1/x", "/v1/verify",
                "", None, "/pages//evil.example"):
        assert safe_next(bad, "/pages/") == "/pages/"


def test_page_urls_for_the_demo() -> None:
    urls = page_urls("http://127.0.0.1:8000/")
    assert urls["窗口核验"] == "http://127.0.0.1:8000/pages/clerk"
    assert set(urls) >= {"持证人 · 我的证照", "窗口核验", "发证部门", "区域管理", "公开目录", "登录"}


@pytest.mark.parametrize(("source", "words"), [("index", "本地链上索引"), ("rpc", "区块链节点"),
                                               ("snapshot", "离线可信名录")])
def test_the_verdict_page_names_every_source_of_facts_the_engine_reports(source: str, words: str) -> None:
    result = {"verdict": "VALID", "label": "核验通过", "advice": "…", "outcome": "valid", "checks": [],
              "freshness": {"height": 42, "source": source, "age_s": 3}}
    view = verdict_view.build(result, "窗口", 130000)
    assert view.height == f"第 42 块（{words}，3 秒前）"


def test_every_engine_check_has_a_clerks_name() -> None:
    """A check the engine can report (verifier/engine.py's order, plus decode and chain_access) is named in words."""
    import re

    import verifier.engine as engine

    order = re.findall(r"^\s*\d+a?\. (\w+)", engine.__doc__ or "", flags=re.MULTILINE)
    assert {"crypto_suite", "stamp", "stamp_signature", "sm2_issuer_signature", "recognition"} <= set(order)
    assert set(order) | {"decode", "chain_access"} <= set(verdict_view.CHECK_NAMES)


def test_every_named_check_has_plain_words_for_passing_and_failing() -> None:
    """The offline page shows these instead of its verifier's technical English (pages speak Chinese)."""
    import re

    assert set(verdict_view.CHECK_RESULTS) == set(verdict_view.CHECK_NAMES)
    for name, (passed, failed) in verdict_view.CHECK_RESULTS.items():
        assert re.search(r"[\u4e00-\u9fff]", passed) and re.search(r"[\u4e00-\u9fff]", failed), name
        assert passed != failed, name


def test_the_receipt_says_whether_the_holder_signed() -> None:
    base = {"verdict": "VALID", "outcome": "valid", "checks": [], "disclosed": {}}
    signed = dict(verdict_view.build({**base, "holder_bound": True}, "窗口", 130000).receipt)
    unsigned = dict(verdict_view.build(base, "窗口", 130000).receipt)
    assert signed["持证人签名"].startswith("有") and unsigned["持证人签名"].startswith("无")
