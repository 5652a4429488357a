"""Other ways to fit the fusion, on the same features: does a better fit to the synthetic
queries carry over to real input?

    uv run python benchmarks/fusion_variants.py                   # seeds 0 1 2, dev set
    uv run python benchmarks/fusion_variants.py --seeds 0 --variants current listwise

For each seed, the official data is held out and featurised as training does
(``mapper.train.fusion_data``), and the final parts are built from all of it; then each variant
fits its scorer on the same training queries and is calibrated as training calibrates
(``Fusion.calibrate``). Reported per variant: top-1 / top-5 on the held-out official queries
(the calibration part, as in a model's metadata) and top-1 / top-5 / ECE on the labelled file;
and, over all seeds, the labelled items each variant wins and loses at top-1 against the
current fusion (same seed, same item) with the sign test's p. An item counts once per seed, so
the p overstates the evidence: a guide, not a test.

Variants:
- ``current``: what training does (binary MLP ensemble, 64-32, alpha 1e-3; ``Fusion.fit``);
- ``listwise``: the same networks trained on the softmax over each query's candidates (the
  quantity the mapper reports) instead of one yes/no per candidate;
- ``alpha-1e-2``: the binary MLP with ten times the weight penalty;
- ``hidden-32``: the binary MLP with one hidden layer of 32;
- ``logistic``: a linear scorer (logistic regression);
- ``trees``: gradient-boosted trees (scikit-learn's HistGradientBoostingClassifier, binary like
  the MLPs: 300 rounds, 63 leaves, learning rate 0.05, L2 1.0);
- ``mlp+trees``: the current MLP ensemble's and the trees' scores averaged.

Each seed costs about 2 minutes of featurising and building plus the variants' fits.
Needs a refreshed warehouse (NOCFIT_WAREHOUSE) for the official texts.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.mapper_benchmark import benchmark_arguments, labelled_items, write_results  # noqa: E402
from mapper.calibrate import ENSEMBLE, Fusion, Network, candidate_labels, mlp_networks  # noqa: E402
from mapper.corpus import NocCorpus  # noqa: E402
from mapper.evaluate import gains_and_losses, rank_items, score, sign_test_p  # noqa: E402


def logistic(inputs, sizes, truth, fit_rows, seed) -> list[Network]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=500).fit(inputs[fit_rows], candidate_labels(sizes, truth)[fit_rows])
    return [[(model.coef_.T.astype(np.float32), model.intercept_.astype(np.float32))]]


def listwise(inputs, sizes, truth, fit_rows, seed, *, hidden=(64, 32), epochs=30, batch=256) -> list[Network]:
    """MLPs (ReLU, Adam, L2 1e-4) trained on the cross-entropy of the softmax over each
    query's candidates; numpy, with the gradients written out."""
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    owner = np.repeat(np.arange(len(sizes)), sizes)
    fit_queries = np.zeros(len(sizes), dtype=bool)
    fit_queries[owner[fit_rows]] = True
    queries = [i for i in range(len(sizes)) if fit_queries[i] and truth[i] >= 0]
    networks = []
    for member in range(ENSEMBLE):
        rng = np.random.default_rng(seed + member)
        dims = [inputs.shape[1], *hidden, 1]
        params = [
            rng.normal(0, np.sqrt(2 / a), (a, b)).astype(np.float32)
            for a, b in zip(dims, dims[1:], strict=False)
        ]
        params += [np.zeros(b, np.float32) for b in dims[1:]]
        layers = len(dims) - 1
        first, second, step = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params], 0
        for _ in range(epochs):
            rng.shuffle(queries)
            for k in range(0, len(queries), batch):
                chosen = queries[k : k + batch]
                rows = np.concatenate([np.arange(offsets[i], offsets[i] + sizes[i]) for i in chosen])
                counts = np.asarray([sizes[i] for i in chosen])
                starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
                right = starts + np.asarray([truth[i] for i in chosen])
                acts = [inputs[rows]]
                for w, b in zip(params[: layers - 1], params[layers:-1], strict=True):
                    acts.append(np.maximum(acts[-1] @ w + b, 0.0))
                scores = (acts[-1] @ params[layers - 1] + params[-1]).ravel()
                exp = np.exp(scores - np.repeat(np.maximum.reduceat(scores, starts), counts))
                grad = exp / np.repeat(np.add.reduceat(exp, starts), counts)
                grad[right] -= 1.0
                grad = (grad / len(chosen))[:, None].astype(np.float32)
                grads = [None] * len(params)
                for layer in range(layers - 1, -1, -1):
                    grads[layer] = acts[layer].T @ grad + 1e-4 * params[layer]
                    grads[layers + layer] = grad.sum(axis=0)
                    if layer:
                        grad = (grad @ params[layer].T) * (acts[layer] > 0)
                step += 1
                for j, g in enumerate(grads):
                    first[j] = 0.9 * first[j] + 0.1 * g
                    second[j] = 0.999 * second[j] + 0.001 * g * g
                    update = (first[j] / (1 - 0.9**step)) / (np.sqrt(second[j] / (1 - 0.999**step)) + 1e-8)
                    params[j] -= (1e-3 * update).astype(np.float32)
        networks.append(list(zip(params[:layers], params[layers:], strict=True)))
    return networks


#: Each variant's scorer trainer (``mapper.calibrate.NetworkTrainer``); Fusion.fit does the rest.
VARIANTS: dict[str, Callable] = {
    "current": mlp_networks,
    "listwise": listwise,
    "alpha-1e-2": partial(mlp_networks, alpha=1e-2),
    "hidden-32": partial(mlp_networks, hidden=(32,)),
    "logistic": logistic,
}


@dataclass
class TreeFusion(Fusion):
    """A fusion scored by gradient-boosted trees, averaged with its MLP ensemble if it has one.
    (Benchmark only: the mapper's fusion is plain numpy so that mapping needs no scikit-learn.)"""

    trees: object = None

    def scores(self, features: np.ndarray) -> np.ndarray:
        trees = self.trees.decision_function((features - self.mean) / self.scale).astype(np.float32)
        return (trees + super().scores(features)) / 2 if self.networks else trees


def tree_fusion(data, seed: int, *, with_mlp: bool) -> Fusion:
    """Trees fitted on the rows (standardised as Fusion.fit does) that the MLPs are fitted on,
    then calibrated like every variant."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    fit_queries = np.asarray(data.fit_mask, dtype=bool)
    rows = np.repeat(fit_queries, data.sizes)
    if with_mlp:
        mlp = Fusion.fit(data.features, data.sizes, data.truth, data.fit_mask, seed=seed)
        mean, scale, networks = mlp.mean, mlp.scale, mlp.networks
    else:
        mean = data.features[rows].mean(axis=0).astype(np.float32)
        scale = (data.features[rows].std(axis=0) + 1e-6).astype(np.float32)
        networks = []
    trees = HistGradientBoostingClassifier(
        max_iter=300, max_leaf_nodes=63, learning_rate=0.05, l2_regularization=1.0, random_state=seed
    )
    trees.fit(((data.features - mean) / scale)[rows], candidate_labels(data.sizes, data.truth)[rows])
    fusion = TreeFusion(mean, scale, networks, 1.0, 1.0, trees=trees)
    fusion.calibrate(data.features, data.sizes, data.truth, ~fit_queries)
    return fusion


#: Variants that are not an MLP-shaped scorer: (data, seed) -> a calibrated Fusion.
OTHER_FUSIONS: dict[str, Callable] = {
    "trees": partial(tree_fusion, with_mlp=False),
    "mlp+trees": partial(tree_fusion, with_mlp=True),
}


def fit_variant(name: str, data, seed: int) -> Fusion:
    if name in OTHER_FUSIONS:
        return OTHER_FUSIONS[name](data, seed)
    return Fusion.fit(
        data.features, data.sizes, data.truth, data.fit_mask, seed=seed, train_networks=VARIANTS[name]
    )


def _against_current(hits: dict[str, list[bool]], name: str) -> str:
    """Top-1 items won and lost against the current fusion, same seed and item, over all
    seeds, with the sign test's p for the larger side."""
    if name == "current" or "current" not in hits:
        return ""
    gains, losses = gains_and_losses(hits[name], hits["current"])
    p = sign_test_p(max(gains, losses), min(gains, losses))
    return f" | against current: {gains} gained, {losses} lost (sign test p = {p:.3f})"


def main() -> int:
    parser = benchmark_arguments(__doc__, model=False)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    names = [*VARIANTS, *OTHER_FUSIONS]
    parser.add_argument("--variants", nargs="+", choices=names, default=names)
    args = parser.parse_args()

    from mapper.model import MapperModel
    from mapper.train import build_parts, fusion_data, held_out_metrics
    from warehouse.connection import connect

    items = labelled_items(args.data)
    with connect() as con:
        corpus = NocCorpus.from_duckdb(con)
    codes = sorted(corpus.unit_groups)
    rows = []
    hits: dict[str, list[bool]] = {name: [] for name in args.variants}  # top-1 per (seed, item)
    for seed in args.seeds:
        print(
            f"seed {seed}: featurising held-out official data and building parts ...",
            file=sys.stderr,
            flush=True,
        )
        data = fusion_data(corpus, seed=seed)
        parts = build_parts(corpus, codes, seed)
        for name in args.variants:
            started = time.perf_counter()
            fusion = fit_variant(name, data, seed)
            seconds = time.perf_counter() - started
            held = held_out_metrics(fusion, data)
            model = MapperModel(
                codes=codes,
                code_titles=[corpus.unit_groups[c].title for c in codes],
                code_teer=[corpus.unit_groups[c].teer for c in codes],
                parts=parts,
                fusion=fusion,
                metadata={},
            )
            rankings, confidences = rank_items(model, items)
            result = score(rankings, confidences, items)
            hits[name] += [ranking[:1] == [item.code] for ranking, item in zip(rankings, items, strict=True)]
            row = {
                "seed": seed,
                "variant": name,
                "held_out_top1": held["top1"],
                "held_out_top5": held["top5"],
                "top1": result.top1,
                "top5": result.top5,
                "ece": result.ece,
                "fit_seconds": round(seconds, 1),
            }
            rows.append(row)
            print(
                f"seed {seed} {name:11} held-out official {row['held_out_top1']:.4f} / {row['held_out_top5']:.4f}"
                f" | {Path(args.data).name} {row['top1']:.3f} / {row['top5']:.3f} ECE {row['ece']:.3f}"
                f" | fit {seconds:.0f}s",
                flush=True,
            )
    print("\nmean over seeds:")
    for name in args.variants:
        mine = [r for r in rows if r["variant"] == name]
        means = {
            k: float(np.mean([r[k] for r in mine]))
            for k in ("held_out_top1", "held_out_top5", "top1", "top5", "ece")
        }
        print(
            f"  {name:11} held-out official {means['held_out_top1']:.4f} / {means['held_out_top5']:.4f}"
            f" | {means['top1']:.3f} / {means['top5']:.3f} ECE {means['ece']:.3f}"
            + _against_current(hits, name)
        )
    write_results(
        {"data": str(args.data), "seeds": args.seeds, "rows": rows}, args.results, "fusion_variants"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
