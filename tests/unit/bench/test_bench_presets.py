"""Every catalogue type's default preset, in HR2 with the stamp and a full batch's proof, fits QR
version 25 at level M and reads back identically with ZBar (issue 15, item 4)."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from pyzbar.pyzbar import ZBarSymbol
from pyzbar.pyzbar import decode as zbar_decode

from bench.presets import PresetSize, preset_sizes
from issuers.catalogue import default_catalogue
from verifier.codec import decode
from verifier.qr import qr_png


@pytest.fixture(scope="module")
def presets() -> list[PresetSize]:
    return preset_sizes(seed=1)


def test_every_catalogue_type_is_measured(presets: list[PresetSize]) -> None:
    assert {r.type_code for r in presets} == {t.type_code for t in default_catalogue().types()}


def test_every_default_preset_fits_version_25(presets: list[PresetSize]) -> None:
    too_big = [(r.name, r.version, r.chars) for r in presets if r.version > 25]
    assert not too_big, too_big


def test_every_default_preset_carries_the_stamp_and_the_full_batch_proof(presets: list[PresetSize]) -> None:
    for r in presets:
        p = decode(r.text)
        assert p.stamp is not None and len(p.batch_proof) == 10, r.name


def test_every_default_preset_reads_back_with_zbar(presets: list[PresetSize]) -> None:
    for r in presets:
        image = Image.open(io.BytesIO(qr_png(r.text)))
        read = [s.data.decode("ascii") for s in zbar_decode(image, symbols=[ZBarSymbol.QRCODE])]
        assert read == [r.text], r.name
