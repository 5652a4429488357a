"""Schedules and sensors: keep the published warehouse current without anyone typing a command.

* ``weekly_sources_refresh`` (Sunday 04:00 America/Toronto) runs job ``refresh_sources``: every
  unpartitioned asset except the ``candidates`` group, so assets added later (the mapper model)
  are included without touching this file. It re-downloads nocfit's own download cache first
  (``refresh_downloads``); a sources folder given with NOCFIT_SOURCES is read as it is.
* ``daily_rounds_refresh`` (every day 06:00 America/Toronto) runs job ``refresh_rounds``:
  ``ircc/rounds`` and everything downstream of it (again without partitioned or candidates
  assets), re-downloading the rounds JSON into the cache.
* ``sources_folder_sensor`` (off by default) watches a user sources folder (NOCFIT_SOURCES) and
  runs ``refresh_sources`` when a file's content changes, for installations that drop new
  official files in by hand instead of downloading them.

Nothing here decides what changed: every loader compares the sha256 of its files with the
fingerprint stored in the warehouse, skips unchanged tables and records changed files in
``meta.source_changes``; a run that changes nothing publishes nothing. All writing assets share
the ``nocfit_warehouse`` concurrency pool (deploy/dagster.yaml), so a scheduled run never
overlaps another writing run. Schedules and the sensor start STOPPED: turn them on in the UI or
with ``dagster schedule start`` / ``dagster sensor start`` (deploy/README.md).
"""

from __future__ import annotations

import hashlib
import json
import time

import dagster as dg

from nocfit.ingest.ircc_tables import ROUNDS_TABLE
from pipelines.defs.candidates import GROUP as CANDIDATES_GROUP
from pipelines.defs.common import table_key

TIMEZONE = "America/Toronto"
ROUNDS_KEY = table_key(ROUNDS_TABLE)

#: Run tags set on every run these schedules and the sensor request.
SCHEDULE_TAG = "nocfit/schedule"
SENSOR_TAG = "nocfit/sensor"
TRIGGER_TAG = "nocfit/trigger"
REFRESH_TAG = "nocfit/refresh"

#: Run config making the `sources` resource re-download the files of nocfit's download cache.
REFRESH_DOWNLOADS_CONFIG: dict = {"resources": {"sources": {"config": {"refresh_downloads": True}}}}

#: Every asset of the warehouse refresh: unpartitioned and not a candidates asset (the candidate
#: batches are partitioned and processed on demand, never scheduled here). Resolved when
#: the definitions load, so it covers assets added after this was written.
WAREHOUSE_ASSETS = dg.AssetSelection.from_string('partitions:"none"') - dg.AssetSelection.groups(
    CANDIDATES_GROUP
)
#: The rounds table and everything built from it.
ROUNDS_AND_DOWNSTREAM = dg.AssetSelection.assets(ROUNDS_KEY).downstream() & WAREHOUSE_ASSETS

sources_job = dg.define_asset_job(
    "refresh_sources",
    selection=WAREHOUSE_ASSETS,
    description="Refresh every unpartitioned asset (NOC 2021, OaSIS, IRCC categories and rounds, "
    "models): unchanged sources are skipped, changed ones recorded in meta.source_changes.",
)

rounds_job = dg.define_asset_job(
    "refresh_rounds",
    selection=ROUNDS_AND_DOWNSTREAM,
    description="Refresh ircc/rounds from the IRCC rounds JSON and everything downstream of it.",
)


def _tags(name: str, kind: str, refresh: str) -> dict[str, str]:
    tag = SCHEDULE_TAG if kind == "schedule" else SENSOR_TAG
    return {tag: name, TRIGGER_TAG: kind, REFRESH_TAG: refresh}


weekly_sources_schedule = dg.ScheduleDefinition(
    name="weekly_sources_refresh",
    job=sources_job,
    # StatCan and ESDC publish NOC/OaSIS revisions rarely; a quiet Sunday-morning slot (04:00
    # exists on both DST change days) keeps the refresh out of analysts' way.
    cron_schedule="0 4 * * 0",
    execution_timezone=TIMEZONE,
    run_config=REFRESH_DOWNLOADS_CONFIG,
    tags=_tags("weekly_sources_refresh", "schedule", "sources"),
    description="Weekly: re-download the NOC/OaSIS (and rounds) files into the cache and refresh "
    "every unpartitioned asset.",
)

daily_rounds_schedule = dg.ScheduleDefinition(
    name="daily_rounds_refresh",
    job=rounds_job,
    # IRCC posts a round's results the afternoon or evening of the draw (Eastern time); 06:00
    # picks up the previous day's draws before the working day starts.
    cron_schedule="0 6 * * *",
    execution_timezone=TIMEZONE,
    run_config=REFRESH_DOWNLOADS_CONFIG,
    tags=_tags("daily_rounds_refresh", "schedule", "rounds"),
    description="Daily: re-download the IRCC rounds JSON into the cache and refresh ircc/rounds "
    "and everything downstream.",
)


def sources_fingerprint() -> tuple[str, dict[str, str]] | None:
    """sha256 of every official file found in a user sources folder (None for the cache)."""
    from nocfit import config
    from nocfit.sources.catalog import SOURCES
    from nocfit.sources.fetch import SourceFolder, file_sha256

    if config.sources_dir_is_default():
        return None
    folder = SourceFolder(config.sources_dir(), download=False, is_cache=False)
    hashes = {}
    for source in SOURCES:
        path = folder.locate(source)
        if path is not None:
            hashes[source.key] = file_sha256(path)
    digest = hashlib.sha256(json.dumps(hashes, sort_keys=True).encode()).hexdigest()
    return digest, hashes


@dg.sensor(
    name="sources_folder_sensor",
    job=sources_job,
    minimum_interval_seconds=15 * 60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Refresh when the content of a file in the NOCFIT_SOURCES folder changes (a "
    "user-managed folder is never re-downloaded, so the schedules cannot notice new files there).",
)
def sources_folder_sensor(context: dg.SensorEvaluationContext):
    found = sources_fingerprint()
    if found is None:
        return dg.SkipReason("NOCFIT_SOURCES is not set: the schedules refresh the download cache")
    digest, hashes = found
    previous = json.loads(context.cursor) if context.cursor else None
    if previous is None:
        # First evaluation: remember the folder as it is (the warehouse is refreshed on demand
        # or by the schedules); only later changes trigger a run.
        context.update_cursor(json.dumps(hashes, sort_keys=True))
        return dg.SkipReason(f"watching {len(hashes)} source files")
    changed = sorted(k for k in hashes.keys() | previous.keys() if hashes.get(k) != previous.get(k))
    if not changed:
        return dg.SkipReason("no source file changed")
    context.update_cursor(json.dumps(hashes, sort_keys=True))
    return dg.RunRequest(
        # The cursor decides what is a change; the key only has to be new for each change. A key
        # per content would drop a return to a state seen before (A -> B -> A -> B).
        run_key=f"sources-{digest[:16]}-{time.time_ns()}",
        tags={**_tags("sources_folder_sensor", "sensor", "sources"), "nocfit/changed": ",".join(changed)},
    )


JOBS = [sources_job, rounds_job]
SCHEDULES = [weekly_sources_schedule, daily_rounds_schedule]
SENSORS = [sources_folder_sensor]
