"""Candidate batches: one dynamic partition per inbox file, assessed into the candidates.* tables.

A sensor watches the inbox (NOCFIT_INBOX) and starts one run per new or changed file (its run
key includes the file's sha256, so an unchanged file is never processed twice); the partition
``examples`` is the curated data/examples/candidates.jsonl, processed by `nocfit refresh`.
Only counts and ids reach logs and metadata: candidate data is personal.
"""

import json
import re
import time
from pathlib import Path

import dagster as dg

from nocfit import config
from nocfit.assess import TABLES, assess_batch_into_warehouse
from nocfit.sources.fetch import file_sha256
from pipelines.defs.common import WAREHOUSE_POOL, forced, table_key
from pipelines.defs.mapper import PROMOTED
from pipelines.defs.resources import ModelStoreResource, WarehouseResource

GROUP = "candidates"
BATCHES = dg.DynamicPartitionsDefinition(name="candidate_batches")
EXAMPLES_BATCH = "examples"
_SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


def batch_path(batch: str) -> Path:
    if batch == EXAMPLES_BATCH:
        return config.curated_dir() / "examples" / "candidates.jsonl"
    return config.inbox_dir() / batch


@dg.multi_asset(
    name="candidates__assessment",
    specs=[
        dg.AssetSpec(
            table_key(table),
            deps=[PROMOTED, table_key("ircc.categories"), table_key("noc.unit_groups")],
            group_name=GROUP,
            kinds={"duckdb"},
        )
        for table in TABLES
    ],
    partitions_def=BATCHES,
    pool=WAREHOUSE_POOL,
    description="Validate a batch of candidates, map their work spells and assess category fit.",
)
def candidate_tables(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, models: ModelStoreResource
):
    batch = context.partition_key
    path = batch_path(batch)
    if not path.is_file():
        raise FileNotFoundError(f"candidate batch {batch}: {path} does not exist")
    outcome = assess_batch_into_warehouse(
        warehouse.connection(), batch, path, models.store(), force=forced(context)
    )
    if outcome.changed:
        warehouse.mark_changed()
        context.log.info(
            f"batch {batch}: {outcome.candidates} candidates loaded, {outcome.rejects} rejected, "
            f"{outcome.assessments} category assessments"
        )
    for table in TABLES:
        yield dg.MaterializeResult(
            asset_key=table_key(table),
            metadata={
                "rows": dg.MetadataValue.int(outcome.rows[table]),
                "batch": batch,
                "changed": outcome.changed,
            },
        )


assess_candidates_job = dg.define_asset_job(
    "assess_candidates",
    selection=dg.AssetSelection.groups(GROUP),
    description="Assess one candidate batch (a dynamic partition: an inbox file, or 'examples').",
)


@dg.sensor(job=assess_candidates_job, minimum_interval_seconds=30)
def candidate_inbox(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """One run per new or changed *.jsonl file in NOCFIT_INBOX.

    The cursor holds each file's content hash as last seen: a file runs when its hash differs
    from that, so a file changed back to earlier content, or removed and dropped in again, runs
    again (a run key per content would have been skipped by Dagster as already seen).
    """
    inbox = config.inbox_dir()
    if not inbox.is_dir():
        return dg.SensorResult(skip_reason=f"inbox {inbox} does not exist")
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    known = set(context.instance.get_dynamic_partitions(BATCHES.name))
    now: dict[str, str] = {}
    new_keys, requests = [], []
    for path in sorted(inbox.glob("*.jsonl")):
        if not _SAFE_KEY.match(path.name):
            context.log.warning(f"ignoring inbox file with an unusable name: {path.name!r}")
            continue
        now[path.name] = digest = file_sha256(path)
        if seen.get(path.name) == digest:
            continue
        if path.name not in known:
            new_keys.append(path.name)
        requests.append(
            dg.RunRequest(partition_key=path.name, run_key=f"{path.name}:{digest[:16]}:{time.time_ns()}")
        )
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[BATCHES.build_add_request(new_keys)] if new_keys else [],
        cursor=json.dumps(now, sort_keys=True),
    )


ASSETS = [candidate_tables]
JOBS = [assess_candidates_job]
SENSORS = [candidate_inbox]
