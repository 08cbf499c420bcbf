"""Accuracy of a predicted partition against the truth: pairwise and B-cubed.

Pairwise: over all pairs of records, a pair is predicted-linked when both records have the
same predicted person, and truly linked when they have the same true person.
B-cubed: per record, precision is the share of its predicted cluster that is truly the
same person, recall the share of its true cluster that is predicted with it; both are
averaged over records. Only records present in both the prediction and the truth count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Scores:
    records: int
    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    predicted_clusters: int
    true_clusters: int

    def as_dict(self) -> dict[str, float | int]:
        return {k: round(v, 6) if isinstance(v, float) else v for k, v in asdict(self).items()}


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def evaluate(predicted: Mapping[str, str], truth: Mapping[str, str]) -> Scores:
    """Scores of ``predicted`` (record -> cluster) against ``truth`` (record -> true cluster)."""
    records = [r for r in predicted if r in truth]
    if not records:
        raise ValueError("no record appears in both the prediction and the truth")
    pred_sizes = Counter(predicted[r] for r in records)
    true_sizes = Counter(truth[r] for r in records)
    both = Counter((predicted[r], truth[r]) for r in records)

    true_positive_pairs = sum(_pairs(n) for n in both.values())
    predicted_pairs = sum(_pairs(n) for n in pred_sizes.values())
    true_pairs = sum(_pairs(n) for n in true_sizes.values())
    p_precision = true_positive_pairs / predicted_pairs if predicted_pairs else 1.0
    p_recall = true_positive_pairs / true_pairs if true_pairs else 1.0

    # Each record in cell (p, t) has precision n/|p| and recall n/|t|.
    b_precision = sum(n * n / pred_sizes[p] for (p, _t), n in both.items()) / len(records)
    b_recall = sum(n * n / true_sizes[t] for (_p, t), n in both.items()) / len(records)
    return Scores(
        records=len(records),
        pairwise_precision=p_precision,
        pairwise_recall=p_recall,
        pairwise_f1=_f1(p_precision, p_recall),
        bcubed_precision=b_precision,
        bcubed_recall=b_recall,
        bcubed_f1=_f1(b_precision, b_recall),
        predicted_clusters=len(pred_sizes),
        true_clusters=len(true_sizes),
    )
