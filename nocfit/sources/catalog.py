"""The official files nocfit reads: published names, official URLs, and how to find them.

A *sources folder* holds each file under the relative path given here (the layout of
``../shared/data``). Base URLs can be redirected with environment variables, which is how the
tests exercise the real download path against a server on 127.0.0.1.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

STATCAN = "statcan"
IRCC = "ircc"
CKAN = "ckan"

DEFAULT_BASE_URLS = {
    STATCAN: "https://www.statcan.gc.ca",
    IRCC: "https://www.canada.ca",
    CKAN: "https://open.canada.ca/data",
}
BASE_URL_ENV = {
    STATCAN: "NOCFIT_STATCAN_URL",
    IRCC: "NOCFIT_IRCC_URL",
    CKAN: "NOCFIT_CKAN_URL",
}

#: open.canada.ca dataset id of "Occupational and Skills Information System (OaSIS)".
OASIS_DATASET_ID = "4f344cd6-0912-411a-ae16-41ea160cc8b5"

STATCAN_LICENCE = "Statistics Canada Open Licence"
OGL_CANADA = "Open Government Licence - Canada"


@dataclass(frozen=True)
class SourceSpec:
    """One official file.

    ``host`` + ``path`` give its official URL; ``ckan_dataset`` instead means the URL is
    discovered through the CKAN API of open.canada.ca (resources are matched by file name).
    """

    key: str
    relpath: str
    description: str
    licence: str
    host: str | None = None
    path: str | None = None
    ckan_dataset: str | None = None
    required: bool = True
    aliases: tuple[str, ...] = field(default_factory=tuple)
    #: Data rows of the version nocfit reads, as published (counted in ../shared/data, which
    #: holds the official files): a file cut at a line break parses cleanly, this tells.
    published_rows: int | None = None

    @property
    def name(self) -> str:
        return self.relpath.rsplit("/", 1)[-1]

    @property
    def downloadable(self) -> bool:
        return bool((self.host and self.path) or self.ckan_dataset)


def _oasis(key: str, name: str, description: str, published_rows: int) -> SourceSpec:
    return SourceSpec(
        key=key,
        relpath=f"oasis2023/{name}",
        description=description,
        licence=OGL_CANADA,
        ckan_dataset=OASIS_DATASET_ID,
        published_rows=published_rows,
    )


SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec(
        key="noc_structure",
        relpath="noc2021/noc-2021-v1.0-classification-structure.csv",
        description="NOC 2021 V1.0 classification structure (5 levels, 822 classes)",
        licence=STATCAN_LICENCE,
        host=STATCAN,
        path="/en/subjects/standard/noc/2021/indexV1/noc-2021-v1.0-classification-structure.csv",
        aliases=("noc_2021_version_1.0_-_classification_structure.csv",),
        published_rows=822,
    ),
    SourceSpec(
        key="noc_concordance",
        relpath="noc2021/noc2016v1_3-noc2021v1_0-eng.csv",
        description="NOC 2016 V1.3 to NOC 2021 V1.0 correspondence table",
        licence=STATCAN_LICENCE,
        host=STATCAN,
        path="/en/statistical-programs/document/noc2016v1_3-noc2021v1_0-eng.csv",
        published_rows=585,
    ),
    SourceSpec(
        key="noc_elements",
        relpath="noc2021/noc-2021-v1.0-elements.csv",
        description="NOC 2021 V1.0 elements (its 'All examples' rows are the full title index)",
        licence=STATCAN_LICENCE,
        host=STATCAN,
        path="/en/subjects/standard/noc/2021/indexV1/noc-2021-v1.0-elements.csv",
        required=False,
        aliases=("noc_2021_version_1.0_-_elements.csv",),
    ),
    SourceSpec(
        key="noc_examples_bilingual",
        relpath="noc2021/derived/noc2021-all-examples-bilingual.json",
        description="Derived (unofficial) bilingual 'All examples' title index; read when present",
        licence=STATCAN_LICENCE,
        required=False,
    ),
    SourceSpec(
        key="bench_dev",
        relpath="bench/noc_dev.jsonl",
        description="Labelled job titles/duties for evaluating the mapper (optional, never downloaded)",
        licence="see bench/README.md",
        required=False,
    ),
    _oasis(
        "oasis_titles",
        "example-titles_oasis_2023_v1.0.csv",
        "OaSIS index, example and inclusion titles",
        18_666,
    ),
    _oasis("oasis_labels", "labels_oasis_2023_v1.0.csv", "OaSIS profile labels", 900),
    _oasis("oasis_main_duties", "main-duties_oasis-2023_v1.0.csv", "OaSIS main duties", 4_991),
    _oasis("oasis_lead_statements", "lead-statement_oasis_2023_v1.0.csv", "OaSIS lead statements", 900),
    _oasis("oasis_exclusions", "exclusions_oasis_2023_v1.0.csv", "OaSIS exclusions", 3_074),
    _oasis(
        "oasis_employment_requirements",
        "employment-requirements_oasis_2023_v1.0.csv",
        "OaSIS employment requirements",
        2_851,
    ),
    _oasis(
        "oasis_additional_information",
        "additional-information_oasis_2023_v1.0.csv",
        "OaSIS additional information",
        1_158,
    ),
    _oasis(
        "oasis_workplaces",
        "workplaces-employers_oasis_2023_v1.0.csv",
        "OaSIS workplaces and employers",
        3_418,
    ),
    SourceSpec(
        key="ircc_rounds",
        relpath="ircc/ee_rounds_123_en.json",
        description="IRCC Express Entry rounds of invitations (JSON feed)",
        licence="Government of Canada (canada.ca terms)",
        host=IRCC,
        path="/content/dam/ircc/documents/json/ee_rounds_123_en.json",
    ),
)

BY_KEY = {spec.key: spec for spec in SOURCES}


def spec(key: str) -> SourceSpec:
    try:
        return BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown source {key!r}; known: {', '.join(BY_KEY)}") from None


def base_urls() -> dict[str, str]:
    """Official base URLs, each overridable by its environment variable."""
    return {
        host: os.environ.get(BASE_URL_ENV[host], "").strip().rstrip("/") or default
        for host, default in DEFAULT_BASE_URLS.items()
    }


def official_url(source: SourceSpec, bases: dict[str, str] | None = None) -> str | None:
    """The direct URL of a file, or None when it is discovered through CKAN or has none."""
    if not (source.host and source.path):
        return None
    return (bases or base_urls())[source.host] + source.path


def ckan_package_url(dataset_id: str, bases: dict[str, str] | None = None) -> str:
    return f"{(bases or base_urls())[CKAN]}/api/3/action/package_show?id={dataset_id}"
