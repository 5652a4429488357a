"""Dagster resources: the warehouse snapshot being built, the sources folder, the model store.

Paths left empty are resolved at run time from the NOCFIT_* environment variables (see
``nocfit.config``), so importing the definitions reads nothing from the environment.
"""

import sys
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from nocfit import config
from nocfit.model_store import ModelStore
from nocfit.sources.fetch import SourceFolder, default_source_folder

#: Asset-key prefixes of warehouse tables; a failed ERROR check on one of them blocks publishing.
WAREHOUSE_SCHEMAS = frozenset({"meta", "noc", "ircc", "mapper", "candidates"})
#: Blocking checks that only decide whether a new model is promoted: failing one keeps the
#: current model but still publishes the refreshed tables (and the evaluation that failed).
PROMOTION_GATES = frozenset({"not_worse_than_promoted"})


def _failure_in_run(context: dg.InitResourceContext) -> str | None:
    """Why this run must not publish: a failed step, or a failed ERROR check on a table.

    A failed promotion gate (PROMOTION_GATES) fails its own step but only stops the model's
    promotion: the refreshed tables are still published.
    """
    if context.instance is None or context.run is None:
        return None
    wanted = {dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.ASSET_CHECK_EVALUATION}
    records = context.instance.get_records_for_run(context.run.run_id, of_type=wanted, limit=10_000).records
    events = [r.event_log_entry.dagster_event for r in records if r.event_log_entry.dagster_event]
    gate_steps = {
        e.step_key
        for e in events
        if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
        and e.event_specific_data.check_name in PROMOTION_GATES
    }
    for event in events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            if event.step_key in gate_steps:
                continue
            return f"step {event.step_key} failed"
        evaluation = event.event_specific_data
        if (
            not evaluation.passed
            and evaluation.severity == dg.AssetCheckSeverity.ERROR
            and evaluation.asset_key.path[0] in WAREHOUSE_SCHEMAS
            and evaluation.check_name not in PROMOTION_GATES
        ):
            return f"check {evaluation.asset_key.to_user_string()}:{evaluation.check_name} failed"
    return None


class SnapshotNotPublished(dg.DagsterError):
    """Publishing the staging snapshot failed after every step succeeded.

    A DagsterError, so that raised from resource teardown it fails the run instead of being
    logged as a teardown error of a run that still reports success.
    """


def say(log, message: str, level: str = "info") -> None:
    """To the Dagster run log (if any) and to stderr: `nocfit refresh` shows only progress lines,
    and news such as a refresh waiting for the lock or training a model must not be silent there."""
    if log is not None:
        getattr(log, level)(message)
    print(f"nocfit: {message}", file=sys.stderr, flush=True)


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse. Assets write to a private staging snapshot of the published file;
    at the end of the run it is swapped in atomically, unless a step or an ERROR check failed."""

    path: str = ""
    lock_timeout_seconds: float = -1.0  # < 0: NOCFIT_LOCK_TIMEOUT, default 600

    _session = PrivateAttr(default=None)
    _begin_error = PrivateAttr(default=None)
    _log = PrivateAttr(default=None)
    _after_publish = PrivateAttr(default_factory=list)

    def published_path(self) -> Path:
        return Path(self.path).expanduser().resolve() if self.path else config.warehouse_path()

    def _timeout(self) -> float:
        if self.lock_timeout_seconds >= 0:
            return self.lock_timeout_seconds
        return config.lock_timeout()

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # A run started by a schedule or the UI checks the settings too, before any work
        # (the CLI has checked them already): a typo in NOCFIT_EVAL_SET must not cost a training.
        config.check_environment()
        self._log = context.log

    def _say(self, message: str, level: str = "info") -> None:
        say(self._log, message, level)

    def connection(self):
        """Read-write connection to this run's staging snapshot (created on first use)."""
        from warehouse.publish import SnapshotSession

        if self._session is None:
            if self._begin_error is not None:
                # Starting failed in an earlier step (e.g. the lock timed out): fail the same
                # way instead of waiting for the lock again in every independent step.
                raise self._begin_error
            session = SnapshotSession(self.published_path(), lock_timeout=self._timeout(), log=self._say)
            try:
                session.begin()
            except Exception as exc:
                self._begin_error = exc
                raise
            self._session = session
        return self._session.connection()

    def after_publish(self, action) -> None:
        """Run ``action()`` once this run's snapshot is published, and never if it is not: what
        the snapshot records (e.g. a model promotion) must not happen without it."""
        self._after_publish.append(action)

    def mark_changed(self) -> None:
        """Record that this run wrote something, so the snapshot is worth publishing."""
        if self._session is not None:
            self._session.mark_dirty()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        session, self._session = self._session, None
        actions, self._after_publish = self._after_publish, []
        self._begin_error = None
        if session is None:
            return
        failure = _failure_in_run(context)
        if failure:
            self._say(f"not publishing the warehouse snapshot: {failure}", "warning")
            session.abort()
            return
        try:
            session.commit()
        except Exception as exc:  # commit() has already discarded the staging snapshot
            message = f"the warehouse snapshot was not published: {type(exc).__name__}: {exc}"
            self._say(message, "error")
            raise SnapshotNotPublished(message) from exc
        for action in actions:
            action()


class ModelStoreResource(dg.ConfigurableResource):
    """Folder of trained models (NOCFIT_MODELS); see nocfit.model_store."""

    folder: str = ""

    def store(self) -> ModelStore:
        return ModelStore(Path(self.folder).expanduser().resolve() if self.folder else config.models_dir())


class SourcesResource(dg.ConfigurableResource):
    """The sources folder (NOCFIT_SOURCES or the download cache)."""

    folder: str = ""
    #: Re-download files in nocfit's own cache even when present (scheduled refreshes).
    refresh_downloads: bool = False

    #: CKAN dataset listings fetched in this run, shared by the folders of all its assets.
    _ckan_cache = PrivateAttr(default_factory=dict)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._ckan_cache = {}  # a new run asks CKAN again (listings change; tests change servers)

    def source_folder(self, log=None) -> SourceFolder:
        folder = default_source_folder(log=log or (lambda message: None))
        if self.folder:
            folder.folder = Path(self.folder).expanduser().resolve()
            folder.is_cache = False
        folder.refresh = self.refresh_downloads
        folder._ckan_cache = self._ckan_cache
        return folder
