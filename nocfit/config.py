"""Where nocfit reads and writes, resolved from environment variables.

Every path the pipeline touches comes from here, so tests and operators can redirect all of
them with environment variables and nothing is ever written into the current directory by
accident.

| variable            | default                                 | what                              |
|---------------------|-----------------------------------------|-----------------------------------|
| NOCFIT_DATA         | <project>/data                          | root of generated data            |
| NOCFIT_SOURCES      | $NOCFIT_DATA/sources                    | official source files (cache)     |
| NOCFIT_WAREHOUSE    | $NOCFIT_DATA/warehouse/nocfit.duckdb    | published DuckDB snapshot         |
| NOCFIT_MODELS       | $NOCFIT_DATA/models                     | trained mapper models             |
| NOCFIT_INBOX        | $NOCFIT_DATA/inbox                      | candidate batches to process      |
| DAGSTER_HOME        | $NOCFIT_DATA/dagster_home               | Dagster run history (CLI sets it) |
| NOCFIT_CATEGORIES   | <project>/data/categories               | curated category-list versions    |
| NOCFIT_EVAL_SET     | bench/noc_dev.jsonl in the sources      | labelled set the mapper is judged on |

Settings (checked up front by :func:`check_environment`, which names the variable at fault):

| variable                | default | what                                                    |
|-------------------------|---------|---------------------------------------------------------|
| NOCFIT_OFFLINE          | off     | 1/true/yes/on: never download (0/false/no/off: do)      |
| NOCFIT_LOCK_TIMEOUT     | 600     | how long a refresh waits for another one (s; or 10m, 1h) |
| NOCFIT_DOWNLOAD_TIMEOUT | 60      | seconds a download may stall before it is retried       |
| NOCFIT_DOWNLOAD_RETRIES | 3       | retries of a failed download (back-off 1 s, 2 s, 4 s...) |
| NOCFIT_STATCAN_URL, NOCFIT_IRCC_URL, NOCFIT_CKAN_URL | official | base URLs of the official sites (mirrors, tests) |
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def project_root() -> Path:
    """The checkout holding pyproject.toml (editable install), else the current directory."""
    candidate = PACKAGE_DIR.parent
    if (candidate / "pyproject.toml").is_file():
        return candidate
    return Path.cwd()


def curated_dir() -> Path:
    """Curated, committed data written by the project (category lists, examples)."""
    return project_root() / "data"


class ConfigError(ValueError):
    """An environment variable holds a value nocfit cannot use; the message names it."""


_YES = {"1", "true", "yes", "on"}
_NO = {"", "0", "false", "no", "off"}
_SECONDS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}


def is_yes(value: str) -> bool:
    """'1', 'true', 'yes' or 'on' (any case): how flags in run tags are set."""
    return value.strip().lower() in _YES


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def env_flag(name: str) -> bool:
    """A yes/no variable; anything else is an error rather than a silent 'no'."""
    value = _env(name).lower()
    if value in _YES | _NO:
        return value in _YES
    raise ConfigError(f"{name}={_env(name)!r} is not a yes/no value: use 1/true/yes/on or 0/false/no/off")


def env_seconds(name: str, default: float, *, positive: bool = False, forever: bool = False) -> float:
    """A duration in seconds: '600', '600s', '10m' or '1h' ('inf' too, where ``forever``)."""
    value = _env(name).lower()
    if not value:
        return default
    number, unit = (value[:-1], value[-1]) if value[-1] in _SECONDS else (value, "")
    try:
        seconds = float(number) * _SECONDS[unit]
    except ValueError:
        seconds = -1.0
    lowest_ok = seconds > 0 if positive else seconds >= 0  # False for nan too
    if not (lowest_ok and (forever or seconds < float("inf"))):
        kind = "a positive" if positive else "a"
        raise ConfigError(f"{name}={_env(name)!r} is not {kind} duration: give seconds (600) or 10m, 1h")
    return seconds


def env_count(name: str, default: int) -> int:
    """A whole number >= 0."""
    value = _env(name)
    if not value:
        return default
    if not value.isdecimal():
        raise ConfigError(f"{name}={value!r} is not a whole number >= 0")
    return int(value)


def offline() -> bool:
    return env_flag("NOCFIT_OFFLINE")


def lock_timeout() -> float:
    return env_seconds("NOCFIT_LOCK_TIMEOUT", 600.0, forever=True)  # 'inf': wait for ever


def download_timeout() -> float:
    return env_seconds("NOCFIT_DOWNLOAD_TIMEOUT", 60.0, positive=True)


def download_retries() -> int:
    return env_count("NOCFIT_DOWNLOAD_RETRIES", 3)


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser().resolve() if value else default


def data_dir() -> Path:
    return _env_path("NOCFIT_DATA", project_root() / "data")


def sources_dir() -> Path:
    return _env_path("NOCFIT_SOURCES", data_dir() / "sources")


def sources_dir_is_default() -> bool:
    """True when NOCFIT_SOURCES is unset, i.e. the folder is nocfit's own download cache."""
    return not os.environ.get("NOCFIT_SOURCES", "").strip()


def warehouse_path() -> Path:
    return _env_path("NOCFIT_WAREHOUSE", data_dir() / "warehouse" / "nocfit.duckdb")


def models_dir() -> Path:
    return _env_path("NOCFIT_MODELS", data_dir() / "models")


def inbox_dir() -> Path:
    return _env_path("NOCFIT_INBOX", data_dir() / "inbox")


def dagster_home() -> Path:
    return _env_path("DAGSTER_HOME", data_dir() / "dagster_home")


def categories_dir() -> Path:
    return _env_path("NOCFIT_CATEGORIES", curated_dir() / "categories")


def eval_set_path() -> Path | None:
    """An explicit labelled set for the mapper's evaluation (None: look in the sources folder)."""
    value = _env("NOCFIT_EVAL_SET")
    if not value:
        return None
    path = Path(value).expanduser().resolve()
    if not path.is_file():
        raise ConfigError(f"NOCFIT_EVAL_SET={value!r}: no such file ({path})")
    return path


#: Path variables, and where each resolves to; all name folders except _FILE_VARIABLES.
_PATH_VARIABLES = {
    "NOCFIT_DATA": data_dir,
    "NOCFIT_SOURCES": sources_dir,
    "NOCFIT_WAREHOUSE": warehouse_path,
    "NOCFIT_MODELS": models_dir,
    "NOCFIT_INBOX": inbox_dir,
    "DAGSTER_HOME": dagster_home,
    "NOCFIT_CATEGORIES": categories_dir,
}
_FILE_VARIABLES = {"NOCFIT_WAREHOUSE"}


def _check_path(name: str, path: Path) -> None:
    """A path nocfit can create or use: no part of it is a file where a folder must be."""
    want_dir = name not in _FILE_VARIABLES
    if path.exists():
        if want_dir and not path.is_dir():
            raise ConfigError(f"{name}: {path} is a file, not a folder")
        if not want_dir and path.is_dir():
            raise ConfigError(f"{name}: {path} is a folder, not a DuckDB file")
        return
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"{name}: {path} cannot be created, {parent} is a file")


def check_environment() -> None:
    """Check every NOCFIT_* setting up front, so a typo fails at once and names its variable
    (not as a bare ValueError, nor minutes into a refresh, nor silently as a default)."""
    from nocfit.sources.catalog import BASE_URL_ENV

    offline()
    lock_timeout()
    download_timeout()
    download_retries()
    eval_set_path()
    for name, where in _PATH_VARIABLES.items():
        _check_path(name, where())
    for name in BASE_URL_ENV.values():
        value = _env(name)
        if value and not value.lower().startswith(("http://", "https://")):
            raise ConfigError(f"{name}={value!r} is not an http:// or https:// address")
