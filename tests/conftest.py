"""Shared fixtures. Real data is read from ../shared/data beside the checkout (never copied)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only sources folder of real official files. CI always has it: fail, don't skip."""
    assert SHARED_DATA.is_dir(), f"{SHARED_DATA} is missing: tests need ../shared/data beside the checkout"
    return SHARED_DATA


def nocfit_env(root: Path, sources: Path) -> dict[str, str]:
    """Environment pointing every nocfit path under ``root`` (nothing outside tmp is written)."""
    return {
        "NOCFIT_DATA": str(root / "data"),
        "NOCFIT_SOURCES": str(sources),
        "NOCFIT_WAREHOUSE": str(root / "data" / "warehouse" / "nocfit.duckdb"),
        "NOCFIT_MODELS": str(root / "data" / "models"),
        "NOCFIT_INBOX": str(root / "data" / "inbox"),
        "DAGSTER_HOME": str(root / "data" / "dagster_home"),
        "NOCFIT_OFFLINE": "1",
        "NOCFIT_LOCK_TIMEOUT": "5",
    }


@pytest.fixture
def nocfit_home(tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private nocfit installation under tmp_path reading the shared sources."""
    for key, value in nocfit_env(tmp_path, shared_data).items():
        monkeypatch.setenv(key, value)
    return tmp_path


@pytest.fixture(scope="session")
def refreshed(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[dict[str, str]]:
    """One full `nocfit refresh` from the shared data for the whole session.

    Yields the environment it used; tests must treat that warehouse as read-only (copy it to
    change anything).
    """
    from nocfit.cli import main

    root = tmp_path_factory.mktemp("refreshed")
    env = nocfit_env(root, shared_data)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        assert main(["refresh"]) == 0
    yield env


@pytest.fixture
def writable_sources(tmp_path: Path, shared_data: Path) -> Path:
    """A writable copy of the shared sources folder, for tests that corrupt a file."""
    target = tmp_path / "sources"
    shutil.copytree(shared_data, target)
    for path in target.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return target


def copy_installation(refreshed: dict[str, str], env: dict[str, str]) -> None:
    """Copy the session's refreshed warehouse and trained models to the paths of ``env``.

    With the models copied, a refresh there does not retrain (same data, same mapper code).
    """
    for key in ("NOCFIT_WAREHOUSE", "NOCFIT_MODELS"):
        source, target = Path(refreshed[key]), Path(env[key])
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        elif source.exists():
            shutil.copyfile(source, target)


def private_installation(refreshed: dict[str, str], root: Path, sources: Path) -> dict[str, str]:
    """Environment of a private copy of the session's refreshed warehouse and trained models."""
    env = nocfit_env(root, sources)
    copy_installation(refreshed, env)
    return env


@pytest.fixture
def private_warehouse(
    refreshed: dict[str, str], writable_sources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A copy of the refreshed warehouse (and model) with the environment pointing at it and at
    writable sources; returns the warehouse file."""
    env = private_installation(refreshed, tmp_path, writable_sources)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Path(env["NOCFIT_WAREHOUSE"])


@pytest.fixture
def cloned(
    refreshed: dict[str, str], tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """A private copy of the refreshed installation (warehouse + trained models) under tmp_path,
    with its environment set for the test, so `nocfit` commands run against the copy."""
    env = nocfit_env(tmp_path, shared_data)
    copy_installation(refreshed, env)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env
