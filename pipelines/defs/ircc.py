"""IRCC category-list and rounds assets and their checks (thin wrappers over nocfit.ingest)."""

from collections.abc import Iterator

import dagster as dg

from nocfit.ingest import checks
from nocfit.ingest import ircc_tables as tables
from pipelines.defs.common import (
    WAREHOUSE_POOL,
    forced,
    load_result,
    source_table_asset,
    table_check,
    table_key,
)
from pipelines.defs.resources import WarehouseResource

GROUP = "ircc"

_DESCRIPTIONS = {
    "ircc.category_versions": "Curated Express Entry category-list versions (data/categories/cbs-*.yaml).",
    "ircc.citations": "Sources cited by each category-list version.",
    "ircc.categories": "Categories of each version with their rules as columns ('unknown' kept explicit).",
    "ircc.category_occupations": "NOC 2021 unit groups listed by each category of each version.",
    "ircc.draw_names": "IRCC round names mapped to a category and versions, or marked non-category.",
}


# One step for the five tables: they come from the same files and are written in one transaction.
# The op name shows as "ircc/category_tables" in `nocfit refresh` progress lines.
@dg.multi_asset(
    name="ircc__category_tables",
    specs=[
        dg.AssetSpec(
            table_key(table),
            deps=[table_key("noc.unit_groups")],
            group_name=GROUP,
            kinds={"duckdb"},
            description=_DESCRIPTIONS[table],
        )
        for table in tables.CATEGORY_TABLES
    ],
    pool=WAREHOUSE_POOL,
)
def category_tables(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.MaterializeResult]:
    for result in tables.load_categories(warehouse.connection(), force=forced(context)):
        materialized = load_result(result, warehouse)
        yield dg.MaterializeResult(asset_key=table_key(result.table), metadata=materialized.metadata)


rounds = source_table_asset(
    tables.ROUNDS_TABLE,
    tables.load_rounds,
    deps=tables.CATEGORY_TABLES,
    group=GROUP,
    description="Express Entry rounds of invitations (IRCC JSON), each mapped to its category and version.",
)


ASSETS = [category_tables, rounds]

CHECKS = [
    table_check(
        "ircc.category_occupations",
        "codes_match_noc",
        checks.category_codes_match_noc,
        description="Every category code is a NOC 2021 unit group and its title the official title.",
    ),
    table_check(
        "ircc.category_versions",
        "versions_do_not_overlap",
        checks.category_versions_do_not_overlap,
        description="Category-list versions never share a day.",
    ),
    table_check(
        "ircc.categories",
        "rules_complete",
        checks.category_rules_complete,
        description="Occupation and language categories set every rule ('unknown' is explicit).",
    ),
    table_check(
        tables.ROUNDS_TABLE,
        "all_rounds_loaded",
        checks.rounds_complete,
        description=f"At least {checks.MIN_ROUNDS} rounds, as many as the file has, with integer counts.",
    ),
    table_check(
        tables.ROUNDS_TABLE,
        "category_rounds_mapped",
        checks.category_rounds_mapped,
        description="Every round naming a category carries its category_id and version_id.",
    ),
]
