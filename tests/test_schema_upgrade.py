"""A schema change keeps every table whose columns did not change (history survives upgrades)."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from warehouse import schema
from warehouse.publish import SnapshotSession


def test_upgrade_keeps_unchanged_tables_and_rebuilds_changed_ones(
    refreshed: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    published = tmp_path / "w.duckdb"
    shutil.copyfile(refreshed["NOCFIT_WAREHOUSE"], published)
    with duckdb.connect(str(published), read_only=True) as con:
        changes = con.execute("SELECT count(*) FROM meta.source_changes").fetchone()[0]
        fits = con.execute("SELECT count(*) FROM candidates.category_fit").fetchone()[0]
    original = schema.ddl()
    changed = original.replace(
        "CREATE TABLE IF NOT EXISTS noc.titles (\n    code               VARCHAR NOT NULL,",
        "CREATE TABLE IF NOT EXISTS noc.titles (\n    code               VARCHAR NOT NULL,\n    added VARCHAR,",
    )
    assert changed != original
    monkeypatch.setattr(schema, "ddl", lambda: changed)
    messages: list[str] = []
    session = SnapshotSession(published, log=messages.append).begin()
    try:
        con = session.connection()
        assert con.execute("SELECT count(*) FROM meta.source_changes").fetchone()[0] == changes > 0
        assert con.execute("SELECT count(*) FROM candidates.category_fit").fetchone()[0] == fits > 0
        assert con.execute("SELECT count(*) FROM noc.structure").fetchone()[0] == 822
        assert (
            con.execute("SELECT count(*) FROM noc.titles").fetchone()[0] == 0
        )  # changed: rebuilt by its loader
        fingerprints = {r[0] for r in con.execute("SELECT asset FROM meta.asset_fingerprints").fetchall()}
        assert "noc.titles" not in fingerprints and {"noc.structure", "candidates:examples"} <= fingerprints
        assert (
            con.execute("SELECT schema_version FROM meta.schema_info").fetchone()[0]
            == schema.schema_version()
        )
    finally:
        session.abort()
    assert any("rebuilding noc.titles" in m for m in messages)
