"""Shared fixtures. Real data is read from ../shared/data beside the checkout (never copied)."""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
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


def cli_as_a_terminal_runs_it() -> list[str]:
    """The command line of `nocfit` with a terminal's Ctrl-C handling, whatever the tests
    inherited: a shell runs a background job (CI started with `&`) with SIGINT ignored, and
    Python then leaves it ignored. Start it with ``start_new_session=True`` and signal its
    process group, as Ctrl-C signals a terminal's foreground group."""
    child = "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    return [sys.executable, "-c", child + "from nocfit.cli import main; sys.exit(main())"]


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


def uses_the_session_refresh(item: pytest.Item) -> bool:
    return "refreshed" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that need no refreshed warehouse run first (stable order otherwise).

    Under pytest-xdist (`-n 2`, the default in pyproject) one worker does the session refresh
    while the other gets through these; alone, they give quick feedback before the long refresh.
    Every worker collects the same items, so every worker computes the same order.
    """
    items.sort(key=uses_the_session_refresh)


@pytest.fixture(scope="session")
def refreshed(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[dict[str, str]]:
    """One full `nocfit refresh` from the shared data for the whole test run.

    Under pytest-xdist the workers share it: the first to need it refreshes while holding a
    lock on the run's common temporary folder, the others wait and then read it. Yields the
    environment it used; tests must treat that warehouse as read-only (copy it to change
    anything), since other workers read it at the same time.
    """
    from nocfit.cli import main

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the folder all workers of this run share
    root = base / "session-refresh"
    env = nocfit_env(root, shared_data)
    done, failed = root / "REFRESHED", root / "FAILED"
    with open(base / "session-refresh.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        assert not failed.exists(), f"the session refresh failed in another worker: {failed.read_text()}"
        if not done.exists():
            root.mkdir(exist_ok=True)
            with pytest.MonkeyPatch.context() as patch:
                for key, value in env.items():
                    patch.setenv(key, value)
                try:
                    code = main(["refresh"])
                except BaseException as error:
                    failed.write_text(repr(error))
                    raise
            if code != 0:
                failed.write_text(f"nocfit refresh exited with {code}")
            assert code == 0
            done.write_text("")
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
