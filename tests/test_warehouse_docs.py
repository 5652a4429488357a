"""Every SQL example in docs/warehouse.md runs on a real refresh and answers with rows."""

from __future__ import annotations

import re

import duckdb
import pytest

from tests.conftest import PROJECT_ROOT

GUIDE = PROJECT_ROOT / "docs" / "warehouse.md"
HEADING = re.compile(r"^### Q(\d+)\. (.+)$")


def queries() -> list[tuple[str, int, str, str]]:
    """(label, number, question, sql) of every ```sql block, each under its "### Q<n>." heading."""
    found: list[tuple[str, int, str, str]] = []
    heading: tuple[int, str] | None = None
    lines = iter(GUIDE.read_text(encoding="utf-8").splitlines())
    for line in lines:
        if match := HEADING.match(line):
            heading = int(match[1]), match[2]
        elif line.startswith("#"):
            heading = None
        elif line.strip() == "```sql":
            assert heading is not None, "a ```sql block must follow its own '### Q<n>. question' heading"
            sql = []
            for body in lines:
                if body.strip() == "```":
                    break
                sql.append(body)
            found.append((f"Q{heading[0]}", heading[0], heading[1], "\n".join(sql)))
            heading = None  # one query per question
    return found


def test_every_sql_block_is_a_numbered_question() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    found = queries()
    blocks = sum(line.strip() == "```sql" for line in text.splitlines())
    assert len(found) == blocks >= 10
    assert [number for _, number, _, _ in found] == list(range(1, len(found) + 1))


@pytest.mark.parametrize(("label", "number", "question", "sql"), queries(), ids=[q[0] for q in queries()])
def test_example_query_returns_rows(
    label: str, number: int, question: str, sql: str, refreshed: dict[str, str]
) -> None:
    with duckdb.connect(refreshed["NOCFIT_WAREHOUSE"], read_only=True) as con:
        rows = con.execute(sql).fetchall()
    assert rows, f"{label}. {question} returned no rows"


#: Schemas whose tables and views the guide must describe.
DOCUMENTED_SCHEMAS = ["meta", "noc", "ircc", "mapper", "candidates"]


def test_guide_documents_every_table_and_view(refreshed: dict[str, str]) -> None:
    text = GUIDE.read_text(encoding="utf-8")
    with duckdb.connect(refreshed["NOCFIT_WAREHOUSE"], read_only=True) as con:
        names = [
            f"{schema}.{name}"
            for schema, name in con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_catalog = current_database() AND list_contains(?, table_schema) ORDER BY 1, 2",
                [DOCUMENTED_SCHEMAS],
            ).fetchall()
        ]
    assert names
    missing = [name for name in names if f"`{name}`" not in text and f"`{name.split('.')[1]}`" not in text]
    assert missing == [], f"not described in docs/warehouse.md: {missing}"
