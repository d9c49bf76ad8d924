"""Malformed or hostile input gets a 4xx with a message that says what is wrong — never a 5xx."""

from __future__ import annotations

import io

from PIL import Image

from api.credentials import CredentialStore
from ledger.store import make_engine

HEBEI = "verifier-130000"


def _post(stack, path, role=HEBEI, **kwargs):
    with stack.client(role) as c:
        return c.post(path, **kwargs)


def test_bad_base45_is_a_400_malformed_with_the_reason(stack):
    reply = _post(stack, "/v1/verify", json={"presentation": "HR1:this is not base45 at all!!"})
    assert reply.status_code == 400
    body = reply.json()
    assert body["verdict"] == "MALFORMED"
    assert body["error"]["code"] == "MALFORMED_PRESENTATION"
    assert "出示码" in body["error"]["message"]


def test_unknown_prefix_is_refused_with_its_name(stack):
    reply = _post(stack, "/v1/verify", json={"presentation": "XX9:ABC"})
    assert reply.status_code == 400
    assert "XX9" in reply.json()["reason"] or "前缀" in reply.json()["reason"]


def test_wrong_json_types_are_a_422_naming_the_field(stack):
    reply = _post(stack, "/v1/verify", json={"presentation": 12345})
    assert reply.status_code == 422
    assert "presentation" in reply.json()["error"]["message"]


def test_both_or_neither_input_forms_are_refused(stack):
    assert _post(stack, "/v1/verify", json={}).status_code == 422
    assert _post(stack, "/v1/verify", json={"presentation": "HR1:A", "reference": "http://x/r/y"}).status_code == 422


def test_non_json_body_is_a_4xx(stack):
    reply = _post(stack, "/v1/verify", content=b"\xff\xfe garbage", headers={"Content-Type": "application/json"})
    assert 400 <= reply.status_code < 500
    assert reply.json()["error"]["message"]


def test_huge_body_is_a_413(stack):
    reply = _post(stack, "/v1/verify", content=b"x" * 3_000_000, headers={"Content-Type": "application/json"})
    assert reply.status_code == 413
    assert "上限" in reply.json()["error"]["message"]


def test_an_oversized_photo_posted_from_a_page_gets_a_chinese_page_not_json(stack):
    with stack.client() as c:  # a form without JavaScript: multipart, Content-Length over the limit
        reply = c.post("/pages/clerk/verify-image", files={"image": ("qr.png", b"x" * 3_000_000, "image/png")},
                       data={"csrf": "x"})
    assert reply.status_code == 413
    assert reply.headers["content-type"].startswith("text/html")
    assert "内容过大" in reply.text and "2 MB" in reply.text


def test_an_oversized_chunked_upload_to_a_page_gets_the_same_page(stack):
    def chunks():  # no Content-Length: the limit is found while the body streams in
        yield (b'--zzz\r\nContent-Disposition: form-data; name="image"; filename="qr.png"\r\n'
               b"Content-Type: image/png\r\n\r\n")
        for _ in range(30):
            yield b"x" * 100_000

    with stack.client() as c:
        reply = c.post("/pages/clerk/verify-image", content=chunks(),
                       headers={"Content-Type": "multipart/form-data; boundary=zzz"})
    assert reply.status_code == 413
    assert "内容过大" in reply.text


def test_broken_image_is_a_400_saying_it_is_unreadable(stack):
    reply = _post(stack, "/v1/verify/image", files={"image": ("qr.png", b"\x89PNG\r\n\x1a\nbroken", "image/png")})
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "BAD_IMAGE"


def test_image_without_a_qr_code_is_a_400_saying_so(stack):
    buf = io.BytesIO()
    Image.new("RGB", (200, 200), "white").save(buf, "PNG")
    reply = _post(stack, "/v1/verify/image", files={"image": ("blank.png", buf.getvalue(), "image/png")})
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "NO_QR_FOUND"


def test_foreign_reference_url_is_refused(stack):
    reply = _post(stack, "/v1/verify", json={"reference": "https://evil.example/r/AAAAAAAAAAAAAAAAAAAAAA"})
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "BAD_REFERENCE"


def test_unknown_reference_token_is_a_404(stack):
    reply = _post(stack, "/v1/verify", json={"reference": f"{stack.base_url}/r/AAAAAAAAAAAAAAAAAAAAAA"})
    assert reply.status_code == 404


def test_unknown_certificate_is_a_404(stack):
    with stack.client("bj-amr") as c:
        reply = c.get("/v1/certificates/1.2.156.3005.2.nothing")
    assert reply.status_code == 404
    assert reply.json()["error"]["code"] == "CERTIFICATE_NOT_FOUND"


def test_unknown_issuer_id_is_a_404_and_a_bad_one_a_400(stack):
    with stack.client() as c:
        assert c.get("/v1/registry/issuers/0x" + "ab" * 32).status_code == 404
        assert c.get("/v1/registry/issuers/not-hex").status_code == 400


def test_invalid_certificate_lists_every_field_and_rule(stack):
    doc = {"type": "11100000MB0143028R001", "serial": "1",
           "holder": {"name": "某公司", "idType": "001", "idNumber": "91110108MA01ABCD5Z"},
           "claims": {}, "validFrom": "2026-13-45", "validUntil": None}
    with stack.client("bj-amr") as c:
        reply = c.post("/v1/certificates", json={"document": doc})
    assert reply.status_code == 422
    fields = reply.json()["error"]["fields"]
    assert any(f["path"] == "holder.idNumber" and "GB 32100" in f["rule"] for f in fields)
    assert any(f["path"] == "validFrom" for f in fields)


def test_rate_limit_answers_429_with_retry_after(stack):
    store = CredentialStore(make_engine(stack.world.env["HUREN_DB_URL"]))
    _, token = store.add("verifier", "压力测试窗口", region=130000, rate_per_s=0.001, rate_burst=3)
    codes = []
    with stack.client() as c:
        for _ in range(10):
            r = c.get("/v1/wallet/certificates", headers={"Authorization": f"Bearer {token}"})
            codes.append(r.status_code)
            if r.status_code == 429:
                assert int(r.headers["Retry-After"]) >= 1
                assert r.json()["error"]["code"] == "RATE_LIMITED"
                break
    assert codes[-1] == 429
    assert set(codes[:-1]) == {403}  # a verifier may not read a wallet: refused, but counted
