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


def is_yes(value: str) -> bool:
    """'1', 'true' or 'yes' (any case): how flags in the environment and in run tags are set."""
    return value.strip().lower() in {"1", "true", "yes"}


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
    value = os.environ.get("NOCFIT_EVAL_SET", "").strip()
    return Path(value).expanduser().resolve() if value else None
