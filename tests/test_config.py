"""Settings from the environment: a bad value fails at once and names its variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from nocfit import config
from nocfit.cli import main


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("NOCFIT_OFFLINE", "maybe", "not a yes/no value"),
        ("NOCFIT_LOCK_TIMEOUT", "ten minutes", "not a duration"),
        ("NOCFIT_LOCK_TIMEOUT", "-5", "not a duration"),
        ("NOCFIT_DOWNLOAD_TIMEOUT", "0", "not a positive duration"),
        ("NOCFIT_DOWNLOAD_RETRIES", "three", "not a whole number"),
        ("NOCFIT_EVAL_SET", "/no/such/dev.jsonl", "no such file"),
        ("NOCFIT_CKAN_URL", "open.canada.ca/data", "not an http:// or https:// address"),
        ("NOCFIT_DATA", "/etc/hostname/data", "/etc/hostname is a file"),
        ("NOCFIT_WAREHOUSE", "/tmp", "is a folder, not a DuckDB file"),
    ],
)
def test_a_bad_setting_fails_at_once_naming_its_variable(
    name: str,
    value: str,
    fragment: str,
    nocfit_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """These used to fail as a bare ValueError (NOCFIT_LOCK_TIMEOUT=10m), after two minutes of
    training (a NOCFIT_EVAL_SET typo), as 'Not a directory' with no path, or not at all
    (NOCFIT_OFFLINE=on read as off). Checked before any work, for every command."""
    monkeypatch.setenv(name, value)
    assert main(["categories"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"nocfit: error: {name}") and fragment in err, err


def test_settings_accept_the_usual_spellings(monkeypatch: pytest.MonkeyPatch) -> None:
    for value, expected in [
        ("on", True),
        ("YES", True),
        ("1", True),
        ("off", False),
        ("0", False),
        ("", False),
    ]:
        monkeypatch.setenv("NOCFIT_OFFLINE", value)
        assert config.offline() is expected
    for value, seconds in [
        ("600", 600.0),
        ("90s", 90.0),
        ("10m", 600.0),
        ("1.5h", 5400.0),
        ("0", 0.0),
        ("inf", float("inf")),
    ]:
        monkeypatch.setenv("NOCFIT_LOCK_TIMEOUT", value)
        assert config.lock_timeout() == seconds
    monkeypatch.delenv("NOCFIT_LOCK_TIMEOUT")
    assert config.lock_timeout() == 600.0
    monkeypatch.setenv("NOCFIT_DOWNLOAD_RETRIES", "0")
    assert config.download_retries() == 0


def test_a_dagster_run_checks_the_settings_before_any_work(
    nocfit_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run started by a schedule or the UI does not go through the CLI: the warehouse
    resource checks the settings when the run starts."""
    from pipelines.defs.resources import WarehouseResource

    monkeypatch.setenv("NOCFIT_EVAL_SET", str(nocfit_home / "typo.jsonl"))
    resource = WarehouseResource()
    with pytest.raises(config.ConfigError, match="NOCFIT_EVAL_SET"):
        resource.setup_for_execution(None)  # type: ignore[arg-type]


def test_an_os_error_names_its_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import nocfit.categories_command as command

    def fail(day, out) -> int:
        raise NotADirectoryError(20, "Not a directory", "/etc/hostname/categories")

    monkeypatch.setattr(command, "print_in_force", fail)
    assert main(["categories"]) == 1
    assert capsys.readouterr().err == "nocfit: error: Not a directory: /etc/hostname/categories\n"
