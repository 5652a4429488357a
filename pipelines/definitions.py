"""The one Dagster entry point: ``dagster dev -m pipelines.definitions`` (see README)."""

import dagster as dg

from pipelines.defs import automation, candidates, ircc, mapper, noc
from pipelines.defs.resources import ModelStoreResource, SourcesResource, WarehouseResource

#: Every unpartitioned asset: what `nocfit refresh` runs (then the 'examples' candidate batch).
refresh_job = dg.define_asset_job(
    "refresh",
    selection=automation.WAREHOUSE_ASSETS,
    description="Refresh sources, NOC tables, category data, rounds and the mapper model.",
)

defs = dg.Definitions(
    assets=[*noc.ASSETS, *ircc.ASSETS, *mapper.ASSETS, *candidates.ASSETS],
    asset_checks=[*noc.CHECKS, *ircc.CHECKS, *mapper.CHECKS],
    jobs=[refresh_job, *automation.JOBS, *candidates.JOBS],
    schedules=automation.SCHEDULES,
    sensors=[*automation.SENSORS, *candidates.SENSORS],
    resources={
        "warehouse": WarehouseResource(),
        "sources": SourcesResource(),
        "models": ModelStoreResource(),
    },
    # DuckDB has one writer and every run writes one staging snapshot: run steps in one process.
    executor=dg.in_process_executor,
)
