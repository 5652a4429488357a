"""The one Dagster entry point: ``dagster dev -m pipelines.definitions`` (see README)."""

import dagster as dg

from pipelines.defs import ircc, noc
from pipelines.defs.resources import SourcesResource, WarehouseResource

#: Materialises every asset: what `nocfit refresh` runs.
refresh_job = dg.define_asset_job(
    "refresh",
    selection=dg.AssetSelection.all(),
    description="Refresh everything: sources, NOC tables, category data, rounds, model, candidates.",
)

defs = dg.Definitions(
    assets=[*noc.ASSETS, *ircc.ASSETS],
    asset_checks=[*noc.CHECKS, *ircc.CHECKS],
    jobs=[refresh_job],
    resources={"warehouse": WarehouseResource(), "sources": SourcesResource()},
    # DuckDB has one writer and every run writes one staging snapshot: run steps in one process.
    executor=dg.in_process_executor,
)
