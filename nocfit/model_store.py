"""Where trained mapper models live: candidates per run, and the promoted one the CLI uses.

```
$NOCFIT_MODELS/
  current.pkl        the promoted model (what `nocfit map` and `nocfit fit` load)
  current.pkl.json   its metadata (fingerprint, NOC version, library versions, metrics)
  candidates/<run>.pkl  models trained by a refresh, waiting for the evaluation gate
```
Promotion is an atomic file replace, so a reader never loads half a model.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from nocfit import config

CURRENT = "current.pkl"
#: Candidate files older than the newest few are deleted when a new one is saved.
KEEP_CANDIDATES = 3


def mapper_code_version() -> str:
    """Hash of the mapper's source: a code change retrains even when the data did not change."""
    import mapper

    digest = hashlib.sha256()
    for path in sorted(Path(mapper.__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def model_fingerprint(source_fingerprint: str) -> str:
    """What a trained model depends on: the official data it learned from and the mapper code."""
    return hashlib.sha256(f"{source_fingerprint}|{mapper_code_version()}".encode()).hexdigest()[:16]


@dataclass
class ModelStore:
    folder: Path

    @classmethod
    def default(cls) -> ModelStore:
        return cls(config.models_dir())

    @property
    def current_path(self) -> Path:
        return self.folder / CURRENT

    def candidate_path(self, run_id: str) -> Path:
        return self.folder / "candidates" / f"{run_id}.pkl"

    def current_metadata(self) -> dict | None:
        return self.metadata_of(self.current_path)

    @staticmethod
    def metadata_of(model_path: Path) -> dict | None:
        """The JSON metadata saved beside a model file, if both are there and readable."""
        meta = model_path.with_name(model_path.name + ".json")
        if not (model_path.exists() and meta.exists()):
            return None
        try:
            return json.loads(meta.read_text())
        except json.JSONDecodeError:
            return None

    def save_candidate(self, model, run_id: str) -> Path:
        path = model.save(self.candidate_path(run_id))
        self._prune_candidates()
        return path

    def promote(self, candidate: Path) -> Path:
        """Make a candidate the current model (atomic replace of the file and its metadata)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for suffix in (".json", ""):  # metadata first: a reader checks the model file
            source = candidate.with_name(candidate.name + suffix)
            target = self.current_path.with_name(CURRENT + suffix)
            tmp = target.with_name(target.name + ".tmp")
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        return self.current_path

    def load_current(self):
        from mapper.model import MapperModel

        return MapperModel.load(self.current_path)

    def _prune_candidates(self) -> None:
        folder = self.folder / "candidates"
        models = sorted(folder.glob("*.pkl"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in models[KEEP_CANDIDATES:]:
            old.unlink(missing_ok=True)
            old.with_name(old.name + ".json").unlink(missing_ok=True)
