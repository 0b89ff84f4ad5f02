"""How an emulated tuning job's per-epoch checkpoints differ, deterministically, the way real ones do.

A job tuned for ``E`` epochs on ``n`` examples exports one checkpoint per epoch. Two rules shape them:

* **Learning.** The job learns its data in ``L = min(E, learn_epochs(n))`` epochs, where
  ``learn_epochs(n) = max(3, ceil(n / 20))``: small data is learned in three epochs, larger data needs
  one more epoch per 20 examples. The checkpoint of epoch ``e`` knows the first
  ``ceil(n * min(1, e / L))`` examples (plus everything its parent checkpoint knew). With the default
  three epochs nothing changes: every epoch adds a third of the data and the last knows it all.
* **Overfitting.** Epochs after ``L`` add nothing new and overfit by ``d = e - L`` degrees. An overfit
  checkpoint still repeats its training examples verbatim (training loss keeps falling), but it answers
  a share ``min(1, d * OVERFIT_SHARE)`` of the other prompts (any prompt that is not, token for token, a
  training prompt) with the answer of its *second*-nearest memorised example: it has learned the
  examples' surface, not their meaning. Which prompts are affected is fixed by a hash of the prompt, and
  the set at degree ``d`` contains the set at ``d - 1``, so quality falls monotonically with ``d``.

So when epochs are many compared with the data (for instance 6 epochs on 12 examples: ``L = 3``), the
best checkpoint on held-out prompts is epoch ``L``, before the last one; with 3 epochs or with a lot of
data the last checkpoint is the best, as on Vertex AI.
"""

from __future__ import annotations

import hashlib
import math

from airflow_tuning.emulator.learner import Learner

EXAMPLES_PER_EXTRA_EPOCH = 20
MIN_LEARN_EPOCHS = 3
OVERFIT_SHARE = 0.25


def learn_epochs(examples: int) -> int:
    """Epochs a job needs to learn ``examples`` examples (before it starts to overfit)."""
    return max(MIN_LEARN_EPOCHS, math.ceil(examples / EXAMPLES_PER_EXTRA_EPOCH))


def known_examples(examples: int, epoch: int, epochs: int) -> int:
    """How many of its job's examples the checkpoint of ``epoch`` knows."""
    learned_by = min(epochs, learn_epochs(examples))
    return math.ceil(examples * min(1.0, epoch / learned_by))


def overfit_degree(examples: int, epoch: int, epochs: int) -> int:
    """Epochs past the one that learned the data (0: not overfit)."""
    return max(0, epoch - min(epochs, learn_epochs(examples)))


def _share_key(prompt: str) -> float:
    digest = hashlib.sha256(prompt.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def answer(learner: Learner, prompt: str, degree: int) -> str | None:
    """The checkpoint's answer: the nearest example's, or with overfitting sometimes the second-nearest's."""
    if degree <= 0:
        return learner.answer(prompt)
    ranked = learner.ranked(prompt, 2)
    if not ranked:
        return None
    best = ranked[0][0]
    if len(ranked) < 2 or learner.verbatim(best, prompt) or _share_key(prompt) >= min(1.0, degree * OVERFIT_SHARE):
        return learner.examples[best][1]
    return learner.examples[ranked[1][0]][1]
