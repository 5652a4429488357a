"""Run a Dagster job from the command line: persistent DAGSTER_HOME, progress, clear errors."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from nocfit import config

DAGSTER_YAML_TEMPLATE = config.project_root() / "deploy" / "dagster.yaml"
#: Run tags naming the process, and the machine (and container) it runs on, that executes a
#: run started from the CLI; OWNER_TAG holds the run's own id, since a re-execution copies its
#: parent's tags (the UI's "re-execute", the retry daemon) and must not look owned by them.
PID_TAG = "nocfit/pid"
HOST_TAG = "nocfit/host"
OWNER_TAG = "nocfit/cli_run"


def _this_host() -> str:
    """The host name plus the PID namespace: containers that share a host name (host network,
    a fixed compose hostname) each number their processes on their own."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:  # no /proc (macOS): the host name alone
        return socket.gethostname()
    return f"{socket.gethostname()}/pidns:{namespace}"


def ensure_dagster_home() -> Path:
    """Export DAGSTER_HOME (default under data/) and give it a dagster.yaml if it has none.

    Dagster reads DAGSTER_HOME from the process environment, so the CLI sets it before any
    instance is created; `dagster dev` started with the same DAGSTER_HOME shows these runs.
    """
    home = config.dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    target = home / "dagster.yaml"
    if not target.exists() and DAGSTER_YAML_TEMPLATE.exists():
        # Written aside and renamed: another process starting now never reads half a file.
        partial = home / f".dagster.yaml.{os.getpid()}"
        shutil.copyfile(DAGSTER_YAML_TEMPLATE, partial)
        partial.replace(target)
    return home


def open_instance():
    """The installation's Dagster instance (DAGSTER_HOME), created under a file lock.

    Opening a brand-new instance creates its SQLite storage; two processes doing that at once
    (two refreshes started together on a fresh installation) collide on "table runs already
    exists" or leave alembic with "more than one head". Holding ``<home>/.instance.lock`` while
    opening makes the second process find the storage complete.
    """
    import fcntl

    import dagster as dg

    home = ensure_dagster_home()
    with (home / ".instance.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
        instance = dg.DagsterInstance.get()
        instance.get_runs_count()  # every storage the run will touch is created by now
    return instance


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        pass
    return True


def fail_abandoned_runs(instance, log=lambda message: None) -> list[str]:
    """Mark failed the CLI runs of this machine whose process is gone; returns their ids.

    A refresh killed with SIGKILL (or by a power cut) cannot tell Dagster it ended: its run
    stays STARTED for ever, and with run-granularity pools it holds the `nocfit_warehouse`
    slot, so every run the daemon launches afterwards waits in the queue ("blocked by global
    concurrency limits"). The file lock of the warehouse is released by the kernel; this
    releases the run.
    """
    import dagster as dg

    in_progress = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=in_progress, tags={HOST_TAG: _this_host()}))
    failed = []
    for run in runs:
        pid = run.tags.get(PID_TAG, "")
        if run.tags.get(OWNER_TAG) != run.run_id or not pid.isdecimal():
            continue  # not run by a CLI process itself (e.g. a re-execution that copied the tags)
        if int(pid) == os.getpid() or _process_alive(int(pid)):
            continue
        message = f"marked failed: process {pid}, which ran it, is gone (killed?) and cannot finish it"
        instance.report_run_failed(run, message=message)
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        log(f"run {run.run_id} of job {run.job_name} {message}")
        failed.append(run.run_id)
    return failed


@dataclass
class RunReport:
    run_id: str
    success: bool
    seconds: float
    errors: list[str]
    #: Failed promotion gates: the tables were published but the new model was not promoted.
    held_back: list[str] = field(default_factory=list)
    #: Failed WARN checks (e.g. a download failed and an older copy was used): published anyway.
    warnings: list[str] = field(default_factory=list)

    @property
    def interrupted(self) -> bool:
        """Stopped by Ctrl-C or SIGTERM (Dagster reports it as a step failure)."""
        return any("DagsterExecutionInterruptedError" in e for e in self.errors)


#: Exceptions of these packages carry messages written for the user (file, line, what to do).
_OUR_PACKAGES = ("nocfit.", "mapper.", "warehouse.", "pipelines.")


def _root_cause(error) -> str:
    """The user-facing message of a Dagster SerializableErrorInfo: the innermost error that
    nocfit raised itself (it names the file or URL), else the innermost of all."""
    chain = [error]
    while getattr(chain[-1], "cause", None) is not None:
        chain.append(chain[-1].cause)
    ours = [e for e in chain if (getattr(e, "message", "") or "").lstrip().startswith(_OUR_PACKAGES)]
    error = (ours or chain)[-1]
    message = (getattr(error, "message", "") or "").strip()
    if not message:
        return "unknown error"
    first = message.splitlines()[0]
    # "nocfit.ingest.csvfile.SourceFormatError: ..." -> "SourceFormatError: ..."
    head, sep, rest = first.partition(": ")
    return f"{head.rsplit('.', 1)[-1]}{sep}{rest}" if sep and " " not in head else first


class ProgressPrinter:
    """Turns Dagster events into one line per finished asset step (and failed checks)."""

    def __init__(self, total: int, out: TextIO, gates: frozenset[str] = frozenset()) -> None:
        self.total = total
        self.out = out
        self.gates = gates
        self.done = 0
        self.errors: list[str] = []
        self.held_back: list[str] = []
        self.warnings: list[str] = []
        self._gate_steps: set[str] = set()
        self._started: dict[str, float] = {}

    def __call__(self, entry) -> None:
        import dagster as dg

        event = entry.dagster_event
        if event is None:
            return
        step = event.step_key or ""
        step_name = step.replace("__", "/")
        kind = event.event_type
        if kind == dg.DagsterEventType.STEP_START:
            self._started[step] = time.monotonic()
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.event_specific_data.materialization
            key = materialization.asset_key.to_user_string()
            metadata = {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
            seconds = time.monotonic() - self._started.get(step, time.monotonic())
            self.done += 1
            self._line(f"[{self.done:>2}/{self.total}] {key:<38} {self._summary(metadata, seconds)}")
        elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if not evaluation.passed:
                target = evaluation.asset_key.to_user_string()
                if evaluation.severity == dg.AssetCheckSeverity.WARN:
                    self._line(
                        f"   check {target}:{evaluation.check_name} WARNING - {evaluation.description}"
                    )
                    self.warnings.append(f"{target}: {evaluation.description}")
                    return
                self._line(f"   check {target}:{evaluation.check_name} FAILED - {evaluation.description}")
                message = f"check {target}:{evaluation.check_name} failed: {evaluation.description}"
                if evaluation.check_name in self.gates:
                    # Its step fails too, for the failed check only: not an error of the refresh.
                    self._gate_steps.add(step)
                    self.held_back.append(message)
                else:
                    self.errors.append(message)
        elif kind == dg.DagsterEventType.STEP_FAILURE:
            error = _root_cause(event.event_specific_data.error)
            self._line(f"        {step_name:<38} FAILED: {error}")
            if step not in self._gate_steps:
                self.errors.append(error)
        elif kind == dg.DagsterEventType.STEP_SKIPPED:
            self._line(f"        {step_name:<38} skipped (an upstream step did not run)")

    @staticmethod
    def _summary(meta: dict[str, object], seconds: float) -> str:
        parts = []
        if "rows" in meta:
            parts.append(f"{int(meta['rows']):>8,} rows")
        if meta.get("changed") is False:
            parts.append("unchanged")
        if "status" in meta:
            parts.append(str(meta["status"]))
        parts.append(f"{seconds:.1f}s")
        return "  ".join(parts)

    def _line(self, text: str) -> None:
        print(text, file=self.out, flush=True)


class _SubprocessStartingWatchersApart:
    """Stands in for the `subprocess` module inside Dagster's compute-log code.

    To mirror a step's output to the terminal, Dagster starts `tail -F` and a Python watcher
    (`watch_orphans.py`) that kills the tail if nocfit dies. Ctrl-C signals the terminal's whole
    foreground process group, so each watcher printed a KeyboardInterrupt traceback under
    "nocfit: interrupted". Started in a process group of its own, a watcher does not get the
    terminal's signals; Dagster still ends it when the step ends, and it ends itself within a
    second of nocfit's end. (The tail stays in the group: it dies of SIGINT quietly, and a
    background process group may be stopped when it writes to a terminal.)
    """

    def __getattr__(self, name: str):
        return getattr(subprocess, name)

    @staticmethod
    def Popen(args, *rest, **kwargs):  # named as in subprocess
        if isinstance(args, list | tuple) and any(str(arg).endswith("watch_orphans.py") for arg in args):
            kwargs.setdefault("process_group", 0)
        return subprocess.Popen(args, *rest, **kwargs)


@contextmanager
def _log_watchers_apart_from_the_terminal() -> Iterator[None]:
    """See _SubprocessStartingWatchersApart; a Dagster that starts them otherwise is left alone
    (tests/test_snapshot_safety.py's Ctrl-C test then says so)."""
    from dagster._core.execution import compute_logs

    if getattr(compute_logs, "subprocess", None) is not subprocess:
        yield
        return
    compute_logs.subprocess = _SubprocessStartingWatchersApart()
    try:
        yield
    finally:
        compute_logs.subprocess = subprocess


def run_job(
    job_name: str,
    *,
    tags: Mapping[str, str] | None = None,
    run_config: Mapping | None = None,
    partition_key: str | None = None,
    add_partition: tuple[str, str] | None = None,
    out: TextIO | None = None,
) -> RunReport:
    """Execute a job of the nocfit definitions in this process against the persistent instance."""
    ensure_dagster_home()
    warnings.filterwarnings("ignore", module="dagster")
    # Dagster notes on this logger that a skipped model evaluation left its gate without a
    # result; that is expected when the model is up to date, and not news for the terminal.
    logging.getLogger("dagster._core.execution.plan.active").setLevel(logging.ERROR)

    from pipelines.definitions import defs
    from pipelines.defs.resources import PROMOTION_GATES

    job = defs.resolve_job_def(job_name)
    instance = open_instance()
    fail_abandoned_runs(
        instance, log=lambda message: print(f"nocfit: {message}", file=sys.stderr, flush=True)
    )
    if add_partition and not instance.has_dynamic_partition(*add_partition):
        instance.add_dynamic_partitions(add_partition[0], [add_partition[1]])
    run_id = str(uuid.uuid4())
    total = len(job.asset_layer.executable_asset_keys) if job.asset_layer else len(job.nodes)
    printer = ProgressPrinter(total, out or sys.stdout, PROMOTION_GATES)
    instance.add_event_listener(run_id, printer)
    quiet_logs = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    started = time.monotonic()
    with _log_watchers_apart_from_the_terminal():
        result = job.execute_in_process(
            instance=instance,
            run_id=run_id,
            raise_on_error=False,
            tags={**(tags or {}), PID_TAG: str(os.getpid()), HOST_TAG: _this_host(), OWNER_TAG: run_id},
            run_config={**quiet_logs, **(run_config or {})},
            partition_key=partition_key,
        )
    return RunReport(
        run_id=run_id,
        # A failed promotion gate fails its step, yet the run did its job (see PROMOTION_GATES).
        success=result.success or (bool(printer.held_back) and not printer.errors),
        seconds=time.monotonic() - started,
        errors=printer.errors,
        held_back=printer.held_back,
        warnings=printer.warnings,
    )
