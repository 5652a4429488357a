"""NOC 2021 + OaSIS ingest assets and their checks (thin wrappers over nocfit.ingest)."""

from functools import partial

import dagster as dg

from nocfit.ingest import checks
from nocfit.ingest import noc_tables as tables
from pipelines.defs.common import (
    WAREHOUSE_POOL,
    forced,
    load_result,
    source_table_asset,
    table_check,
    table_key,
)
from pipelines.defs.resources import WarehouseResource

GROUP = "noc"

structure = source_table_asset(
    "noc.structure",
    tables.load_structure,
    deps=[],
    group=GROUP,
    description="StatCan NOC 2021 V1.0 classification structure: all five levels (822 classes).",
)


@dg.asset(
    key=table_key("noc.unit_groups"),
    deps=[table_key("noc.structure")],
    group_name=GROUP,
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    description="The 516 unit groups with TEER and their broad category, major, sub-major and minor groups.",
)
def unit_groups(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    return load_result(tables.build_unit_groups(warehouse.connection(), force=forced(context)), warehouse)


profiles = source_table_asset(
    "noc.profiles",
    tables.load_profiles,
    deps=["noc.unit_groups"],
    group=GROUP,
    description="OaSIS profiles (unit group + 2-digit suffix) and their labels.",
)
titles = source_table_asset(
    "noc.titles",
    tables.load_titles,
    deps=["noc.unit_groups", "noc.profiles"],
    group=GROUP,
    description="OaSIS index, example and inclusion titles, profile labels and StatCan class titles.",
)
_text_assets = [
    source_table_asset(
        which.table,
        partial(tables.load_profile_text, which=which),
        deps=["noc.unit_groups", "noc.profiles"],
        group=GROUP,
        description=f"OaSIS {which.source_column.lower()} per profile, in published order.",
    )
    for which in tables.PROFILE_TEXT_TABLES
]
workplaces = source_table_asset(
    "noc.workplaces",
    tables.load_workplaces,
    deps=["noc.unit_groups", "noc.profiles"],
    group=GROUP,
    description="OaSIS workplaces and employers per profile.",
)
exclusions = source_table_asset(
    "noc.exclusions",
    tables.load_exclusions,
    deps=["noc.unit_groups", "noc.profiles"],
    group=GROUP,
    description="OaSIS exclusions, with the unit group (and label) the excluded title belongs to.",
)
concordance = source_table_asset(
    "noc.concordance_2016_2021",
    tables.load_concordance,
    deps=["noc.unit_groups"],
    group=GROUP,
    description="StatCan NOC 2016 V1.3 -> NOC 2021 V1.0 correspondence, codes normalised.",
)
all_examples = source_table_asset(
    "noc.all_examples",
    tables.load_all_examples,
    deps=["noc.unit_groups"],
    group=GROUP,
    description="'All examples' title index from the StatCan elements CSV / derived bilingual file, if present.",
)

ASSETS = [
    structure,
    unit_groups,
    profiles,
    titles,
    *_text_assets,
    workplaces,
    exclusions,
    concordance,
    all_examples,
]

_CODE_TABLES = {
    "noc.titles": ("code",),
    "noc.profiles": ("code",),
    "noc.main_duties": ("code",),
    "noc.lead_statements": ("code",),
    "noc.employment_requirements": ("code",),
    "noc.additional_information": ("code",),
    "noc.workplaces": ("code",),
    "noc.exclusions": ("code", "excluded_code"),
    "noc.concordance_2016_2021": ("noc2021_code",),
}

#: Tables read from one official file with a published row count (nocfit.sources.catalog).
_PUBLISHED_FILES = {
    "noc.structure": "noc_structure",
    "noc.concordance_2016_2021": "noc_concordance",
    "noc.profiles": "oasis_labels",
    "noc.titles": "oasis_titles",
    "noc.main_duties": "oasis_main_duties",
    "noc.lead_statements": "oasis_lead_statements",
    "noc.exclusions": "oasis_exclusions",
    "noc.employment_requirements": "oasis_employment_requirements",
    "noc.additional_information": "oasis_additional_information",
    "noc.workplaces": "oasis_workplaces",
}

CHECKS = [
    *[
        table_check(
            table,
            "rows_as_published",
            partial(checks.rows_as_published, source_key=source_key),
            description="The source file has the rows of its published version (2% tolerance): "
            "a file cut at a line break parses cleanly, this tells.",
        )
        for table, source_key in _PUBLISHED_FILES.items()
    ],
    table_check(
        "noc.unit_groups",
        "has_516_unit_groups",
        checks.unit_group_count,
        description="NOC 2021 V1.0 has exactly 516 unit groups.",
    ),
    *[
        table_check(
            table,
            "codes_in_structure",
            partial(checks.codes_in_structure, table=table, columns=columns),
            description="Every code is five digits and a unit group of noc.structure.",
        )
        for table, columns in _CODE_TABLES.items()
    ],
    table_check(
        "noc.titles",
        "no_empty_titles",
        partial(checks.no_empty_text, table="noc.titles", column="title"),
        description="No empty titles.",
    ),
    table_check(
        "noc.main_duties",
        "no_empty_duties",
        partial(checks.no_empty_text, table="noc.main_duties", column="duty"),
        description="No empty main duties.",
    ),
    *[
        table_check(
            table,
            "covers_all_unit_groups",
            partial(checks.profiles_cover_unit_groups, table=table),
            description="Every NOC 2021 unit group has rows here (OaSIS publishes all 516).",
        )
        for table in (
            "noc.main_duties",
            "noc.lead_statements",
            "noc.employment_requirements",
            "noc.workplaces",
        )
    ],
    table_check(
        "noc.concordance_2016_2021",
        "covers_all_unit_groups",
        checks.concordance_covers_unit_groups,
        description="Every NOC 2021 unit group is reached from NOC 2016.",
    ),
]
