"""Dagster resources: the warehouse snapshot being built, the sources folder, the model store.

Paths left empty are resolved at run time from the NOCFIT_* environment variables (see
``nocfit.config``), so importing the definitions reads nothing from the environment.
"""

import os
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from nocfit import config

#: Asset-key prefixes of warehouse tables; a failed ERROR check on one of them blocks publishing.
WAREHOUSE_SCHEMAS = frozenset({"meta", "noc", "ircc", "mapper", "candidates"})


def _failure_in_run(context: dg.InitResourceContext) -> str | None:
    """Why this run must not publish: a failed step, or a failed ERROR check on a table."""
    if context.instance is None or context.run is None:
        return None
    wanted = {dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.ASSET_CHECK_EVALUATION}
    records = context.instance.get_records_for_run(context.run.run_id, of_type=wanted, limit=10_000).records
    for record in records:
        event = record.event_log_entry.dagster_event
        if event is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            return f"step {event.step_key} failed"
        evaluation = event.event_specific_data
        if (
            not evaluation.passed
            and evaluation.severity == dg.AssetCheckSeverity.ERROR
            and evaluation.asset_key.path[0] in WAREHOUSE_SCHEMAS
        ):
            return f"check {evaluation.asset_key.to_user_string()}:{evaluation.check_name} failed"
    return None


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse. Assets write to a private staging snapshot of the published file;
    at the end of the run it is swapped in atomically, unless a step or an ERROR check failed."""

    path: str = ""
    lock_timeout_seconds: float = -1.0  # < 0: NOCFIT_LOCK_TIMEOUT, default 600

    _session = PrivateAttr(default=None)
    _log = PrivateAttr(default=None)

    def published_path(self) -> Path:
        return Path(self.path).expanduser().resolve() if self.path else config.warehouse_path()

    def _timeout(self) -> float:
        if self.lock_timeout_seconds >= 0:
            return self.lock_timeout_seconds
        return float(os.environ.get("NOCFIT_LOCK_TIMEOUT", "600"))

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._log = context.log

    def connection(self):
        """Read-write connection to this run's staging snapshot (created on first use)."""
        from warehouse.publish import SnapshotSession

        if self._session is None:
            log = (lambda m: self._log.info(m)) if self._log is not None else (lambda m: None)
            self._session = SnapshotSession(self.published_path(), lock_timeout=self._timeout(), log=log)
            self._session.begin()
        return self._session.connection()

    def mark_changed(self) -> None:
        """Record that this run wrote something, so the snapshot is worth publishing."""
        if self._session is not None:
            self._session.mark_dirty()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        failure = _failure_in_run(context)
        if failure:
            if context.log:
                context.log.warning(f"not publishing the warehouse snapshot: {failure}")
            session.abort()
            return
        session.commit()


class SourcesResource(dg.ConfigurableResource):
    """The sources folder (NOCFIT_SOURCES or the download cache)."""

    folder: str = ""
    #: Re-download files in nocfit's own cache even when present (scheduled refreshes).
    refresh_downloads: bool = False

    def source_folder(self, log=None):
        from nocfit.sources.fetch import default_source_folder

        folder = default_source_folder(log=log or (lambda message: None))
        if self.folder:
            folder.folder = Path(self.folder).expanduser().resolve()
            folder.is_cache = False
        return folder
