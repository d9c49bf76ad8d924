"""Settings refuse what a verifier policy cannot be built from when the node starts, naming the variable."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from api.cli import main
from api.settings import Settings


def test_accept_suites_defaults_to_both_suites() -> None:
    assert Settings().suites() == frozenset({1, 2})


def test_accept_suites_can_be_guomi_only() -> None:
    assert Settings(accept_suites="2").suites() == frozenset({2})


@pytest.mark.parametrize("raw", ["", "3", "1,x", "0"])
def test_accept_suites_that_are_not_suites_are_refused_naming_the_variable(raw: str) -> None:
    with pytest.raises(ValueError, match="HUREN_ACCEPT_SUITES"):
        Settings(accept_suites=raw)


@pytest.mark.parametrize("raw", ["11000", "beijing", "110000,1"])
def test_binding_regions_that_are_not_region_codes_are_refused_naming_the_variable(raw: str) -> None:
    with pytest.raises(ValueError, match="HUREN_HOLDER_BINDING_REGIONS"):
        Settings(holder_binding_regions=raw)


def test_a_number_setting_that_is_not_a_number_is_refused_naming_the_variable(monkeypatch) -> None:
    monkeypatch.setenv("HUREN_CONFIRMATIONS", "two")
    with pytest.raises(ValueError, match="HUREN_CONFIRMATIONS must be a number"):
        Settings.from_env()


def test_serve_refuses_to_start_with_a_bad_setting_and_says_which(monkeypatch) -> None:
    monkeypatch.setenv("HUREN_ACCEPT_SUITES", "3")
    result = CliRunner().invoke(main, ["serve", "--port", "1"])
    assert result.exit_code == 1
    assert "配置错误" in result.output and "HUREN_ACCEPT_SUITES" in result.output
    assert "Traceback" not in result.output
