"""TF-IDF (word and character n-grams) linear classifier over the 516 unit groups.

Trained on official texts: titles of every kind, main duties, lead statements and class
definitions (each labelled with its code; an excluded title is labelled with the code it
points to). A linear SVM trained by SGD is fast to fit (seconds per epoch) and, once its
weights are pruned to the largest per class and stored sparse, small and quick to load.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from mapper.vectorize import Tfidf

#: Weights kept per class after training (the rest are near zero and only cost memory).
KEEP_PER_CLASS = 4000


@dataclass
class TextClassifier:
    word: Tfidf  # words and word pairs
    char: Tfidf  # character 3-5 grams within word boundaries
    weights: sp.csr_matrix  # features x classes, pruned
    bias: np.ndarray  # classes

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        labels: Sequence[int],
        n_classes: int,
        *,
        epochs: int = 6,
        alpha: float = 1e-5,
        seed: int = 0,
    ) -> TextClassifier:
        """``texts`` are already normalised; ``labels`` are class indexes in [0, n_classes)."""
        from sklearn.linear_model import SGDClassifier

        word, word_matrix = Tfidf.fit_transform(texts, ngram_range=(1, 2), min_df=2)
        char, char_matrix = Tfidf.fit_transform(
            texts, analyzer="char_wb", ngram_range=(3, 5), min_df=3, max_features=100_000
        )
        features = sp.hstack([word_matrix, char_matrix]).tocsr()
        model = SGDClassifier(
            loss="hinge", alpha=alpha, max_iter=epochs, tol=None, n_jobs=2, random_state=seed, average=False
        )
        model.fit(features, np.asarray(labels))
        coef = np.zeros((n_classes, features.shape[1]), dtype=np.float32)
        bias = np.full(n_classes, -10.0, dtype=np.float32)  # classes never seen score very low
        coef[model.classes_] = model.coef_
        bias[model.classes_] = model.intercept_
        return cls(word, char, _prune(coef, KEEP_PER_CLASS).T.tocsr(), bias)

    def features(self, texts: Sequence[str]) -> sp.csr_matrix:
        return sp.hstack([self.word.transform(texts), self.char.transform(texts)]).tocsr()

    def decision(self, texts: Sequence[str]) -> np.ndarray:
        """(texts x classes) margins; empty texts get all-zero rows."""
        scores = np.asarray((self.features(texts) @ self.weights).todense(), dtype=np.float32) + self.bias
        empty = np.asarray([not t.strip() for t in texts])
        if empty.any():
            scores[empty] = 0.0
        return scores


def _prune(coef: np.ndarray, keep: int) -> sp.csr_matrix:
    """Keep the ``keep`` largest-magnitude weights of each class row, as a sparse matrix."""
    if coef.shape[1] <= keep:
        return sp.csr_matrix(coef)
    idx = np.argpartition(-np.abs(coef), keep - 1, axis=1)[:, :keep]
    rows = np.repeat(np.arange(coef.shape[0]), keep)
    cols = idx.ravel()
    return sp.csr_matrix((coef[rows, cols], (rows, cols)), shape=coef.shape)
