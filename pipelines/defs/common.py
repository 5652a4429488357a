"""Small helpers shared by the asset modules: keys, forced runs, results and checks."""

from collections.abc import Callable, Sequence

import dagster as dg

from nocfit import config
from nocfit.ingest.checks import CheckOutcome
from nocfit.ingest.csvfile import SourceFormatError
from nocfit.ingest.load import LoadResult
from pipelines.defs.resources import SourcesResource, WarehouseResource, say

#: Run tag that makes every loader rebuild even when its inputs did not change.
FORCE_TAG = "nocfit/force"
#: Run tag that retrains the mapper even when the data and the mapper code did not change.
RETRAIN_TAG = "nocfit/retrain"
#: Concurrency pool of every asset that writes the warehouse (DuckDB allows one writer).
WAREHOUSE_POOL = "nocfit_warehouse"
#: WARN check of every table read from official files: a download that failed left an older
#: copy in use. The run still succeeds (the data are as good as last time), but not silently.
SOURCES_FRESH_CHECK = "sources_fresh"


def table_key(table: str) -> dg.AssetKey:
    """``noc.titles`` -> AssetKey(["noc", "titles"])."""
    return dg.AssetKey(table.split("."))


def forced(context: dg.AssetExecutionContext, tag: str = FORCE_TAG) -> bool:
    return config.is_yes(context.run.tags.get(tag, ""))


def load_result(
    result: LoadResult,
    warehouse: WarehouseResource,
    check_results: Sequence[dg.AssetCheckResult] = (),
) -> dg.MaterializeResult:
    if result.changed:
        warehouse.mark_changed()
    return dg.MaterializeResult(
        metadata={
            "rows": dg.MetadataValue.int(result.rows),
            "changed": result.changed,
            "sources": result.sources_summary,
        },
        check_results=list(check_results),
    )


def source_table_asset(
    table: str,
    load: Callable,
    *,
    deps: Sequence[str],
    description: str,
    group: str,
) -> dg.AssetsDefinition:
    """An asset that loads one warehouse table from source files via ``load(con, folder, force=)``,
    with a WARN check that its files were downloaded when they were to be."""
    key = table_key(table)

    @dg.asset(
        key=key,
        deps=[table_key(d) for d in deps],
        group_name=group,
        description=description,
        kinds={"duckdb"},
        pool=WAREHOUSE_POOL,
        check_specs=[
            dg.AssetCheckSpec(
                SOURCES_FRESH_CHECK,
                asset=key,
                description="Every file that was to be downloaded was; a failed download leaves "
                "the older copy in use (WARN).",
            )
        ],
    )
    def _asset(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, sources: SourcesResource
    ) -> dg.MaterializeResult:
        # Downloads, retries and "keeping the copy already here" reach the terminal too.
        folder = sources.source_folder(log=lambda message: say(context.log, message))
        try:
            loaded = load(warehouse.connection(), folder, force=forced(context))
        except SourceFormatError as exc:
            raise SourceFormatError(exc.file, exc.problem + folder.repair_hint(), exc.line) from None
        fresh = dg.AssetCheckResult(
            check_name=SOURCES_FRESH_CHECK,
            passed=not folder.stale,
            severity=dg.AssetCheckSeverity.WARN,
            description="; ".join(folder.stale) or "no download failed",
        )
        return load_result(loaded, warehouse, check_results=[fresh])

    return _asset


def table_check(
    table: str,
    name: str,
    check: Callable[..., CheckOutcome],
    *,
    description: str,
    blocking: bool = True,
) -> dg.AssetChecksDefinition:
    """An ERROR-severity asset check running ``check(con)`` on the run's staging snapshot."""

    @dg.asset_check(asset=table_key(table), name=name, description=description, blocking=blocking)
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        return check_result(check(warehouse.connection()))

    return _check


def check_result(outcome: CheckOutcome) -> dg.AssetCheckResult:
    """An ERROR-severity Dagster check result (metadata without the values nobody recorded)."""
    return dg.AssetCheckResult(
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=outcome.description,
        metadata={k: v for k, v in outcome.metadata.items() if v is not None},
    )
