"""Mapping speed of two versions of the code, timed in alternation on one model.

This machine's speed drifts by a third within an hour, so two versions timed minutes apart
cannot be compared; timed in alternation, each pair is measured under the same conditions.

    git worktree add /tmp/before <commit>
    uv run python benchmarks/compare_speed.py /tmp/before . [--pairs 3] [--model path]

Each run is a fresh process that imports the ``mapper`` package of its folder and maps the dev
queries plus every 20th official title (``--title-step``; ``map_batch``, no evidence, caches cleared), keeping
the best CPU time of four rounds. Needs a refreshed data folder (NOCFIT_DATA) or ``--model``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.mapper_benchmark import DEFAULT_DATA, model_path  # noqa: E402

#: One timing in a fresh process: argv is (code folder, model file, labelled file, title step).
_TIMING = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from mapper.model import MapperModel
model = MapperModel.load(sys.argv[2])
with open(sys.argv[3], encoding="utf-8") as handle:
    items = [json.loads(line) for line in handle if line.strip()]
queries = [(i.get("title", ""), i.get("duties_text", "")) for i in items]
queries += [(t, "") for t in list(model.parts.titles.exact)[:: int(sys.argv[4])]]
best = float("inf")
for _ in range(4):
    model.clear_caches()
    started = time.process_time()
    model.map_batch(queries, evidence=False)
    best = min(best, time.process_time() - started)
print(json.dumps({"queries": len(queries), "items_per_s": len(queries) / best}))
"""


def time_folder(folder: Path, model: Path, data: Path, title_step: int) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _TIMING, str(folder), str(model), str(data), str(title_step)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"compare_speed: timing {folder} failed:\n{done.stderr.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("before", type=Path, help="folder with the code to compare against")
    parser.add_argument(
        "after", type=Path, nargs="?", default=ROOT, help="folder with the new code (default: here)"
    )
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--title-step", type=int, default=20, help="map every n-th official title too")
    parser.add_argument("--model", help="model file (default: the promoted model)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="labelled JSON Lines (dev-set shape)")
    args = parser.parse_args()
    model = model_path(args)
    for folder in (args.before, args.after):
        if not (folder / "mapper" / "model.py").is_file():
            parser.error(f"{folder} holds no mapper package")
    if args.pairs < 1 or args.title_step < 1:
        parser.error("--pairs and --title-step must be at least 1")
    for pair in range(1, args.pairs + 1):
        before = time_folder(args.before.resolve(), model, args.data, args.title_step)
        after = time_folder(args.after.resolve(), model, args.data, args.title_step)
        gain = after["items_per_s"] / before["items_per_s"] - 1
        print(
            f"pair {pair}: before {before['items_per_s']:,.0f}  after {after['items_per_s']:,.0f} items/s"
            f"  ({gain:+.0%}; {after['queries']} queries)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
