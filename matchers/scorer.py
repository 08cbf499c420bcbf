"""The in-process scorer: Splink's match weight for a pair, without Splink.

:class:`Scorer` implements :class:`~matchers.ports.PairScorer`. Per comparison it finds
the pair's level (the first whose test holds, as Splink's ``CASE WHEN`` does) and adds
the level's match weight and, on term-frequency adjusted levels, Splink's adjustment
``w * (log2 u_exact - log2 max(tf_a, tf_b, tf_minimum_u))`` looked up in the model's
frozen tables (no adjustment when neither value is in them). The prior's weight starts
the sum, and terms are added in Splink's order, so the floating-point result is the same.

For speed the whole model is turned into one generated Python function: an ``if/elif``
chain per comparison made of the levels' own Python expressions (from
:mod:`matchers.comparisons`, never from the model file) with the weights as constants.
:meth:`Scorer.explain` walks the same levels one by one and returns the waterfall.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from matchers.comparisons import EXPRESSION_NAMES, TF_ATTRIBUTES
from matchers.model import Model, ModelLevel, match_weight_to_probability
from matchers.records import StandardRecord


@dataclass(frozen=True)
class Step:
    """One comparison's part of a pair's match weight."""

    comparison: str
    level: str
    m: float | None
    u: float | None
    bayes_factor: float
    match_weight: float  # of the level, before the term-frequency adjustment
    tf_adjustment: float  # match weight added for how rare the shared value is


@dataclass(frozen=True)
class Explanation:
    """Why a pair scores what it scores: prior + each comparison's step = total."""

    model_version: str
    prior_probability: float
    prior_match_weight: float
    steps: tuple[Step, ...]
    match_weight: float
    match_probability: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def tf_adjustment(level: ModelLevel, tf_a: float | None, tf_b: float | None) -> float:
    """Splink's term-frequency adjustment of a level for the two values' frequencies."""
    if tf_a is None:
        if tf_b is None:
            return 0.0
        frequency = tf_b
    else:
        frequency = tf_a if tf_b is None or tf_a > tf_b else tf_b
    frequency = max(frequency, level.tf_minimum_u)
    return level.tf_weight * (level.tf_log2_u_exact - math.log2(frequency))


_TF_CODE = """\
        ta = {table}.get(a.{attribute})
        tb = {table}.get(b.{attribute})
        if ta is not None or tb is not None:
            if ta is None or (tb is not None and tb > ta):
                ta = tb
            if ta < {minimum}:
                ta = {minimum}
            w += {weight} * ({log2_u} - log2(ta))"""


def _generate(model: Model) -> Callable[[StandardRecord, StandardRecord], float]:
    namespace: dict[str, Any] = dict(EXPRESSION_NAMES)
    namespace.update(log2=math.log2, PRIOR=model.prior_weight)
    lines = ["def score(a, b):", "    w = PRIOR"]
    for c, comparison in enumerate(model.comparisons):
        lines += [f"    {name} = {value}" for name, value in comparison.lets]
        for i, level in enumerate(comparison.levels):
            name = f"C{c}L{i}"
            if level.sql == "ELSE":
                lines.append("    else:")
            else:
                lines.append(f"    {'if' if i == 0 else 'elif'} {level.python}:")
            if level.is_null:
                lines.append("        pass")
                continue
            namespace[f"W_{name}"] = level.weight
            lines.append(f"        w += W_{name}")
            if level.tf_column:
                namespace.update(
                    {
                        f"TF_{name}": model.term_frequencies.get(level.tf_column, {}),
                        f"TFW_{name}": level.tf_weight,
                        f"TFMIN_{name}": level.tf_minimum_u,
                        f"TFU_{name}": level.tf_log2_u_exact,
                    }
                )
                lines.append(
                    _TF_CODE.format(
                        table=f"TF_{name}",
                        attribute=TF_ATTRIBUTES[level.tf_column],
                        minimum=f"TFMIN_{name}",
                        weight=f"TFW_{name}",
                        log2_u=f"TFU_{name}",
                    )
                )
    lines.append("    return w")
    # The source is built from this package's own expressions and the model's numbers
    # (as bound names, never as text), so nothing from the model file is executed.
    exec(compile("\n".join(lines), f"<model {model.version}>", "exec"), namespace)  # noqa: S102
    return namespace["score"]  # type: ignore[no-any-return]


# Comparisons whose last ("All other comparisons") level says the two records describe
# different people whatever else agrees: different given names, dates of birth far apart,
# different valid identifiers. Twins (one date of birth, two names) and a son named after
# his father (one name, two dates) at one address look alike on everything else.
CONFLICT_COMPARISONS: tuple[str, ...] = ("given_name", "dob", "nhs_number", "ni_number", "upn")


class Scorer:
    """Scores pairs with a loaded :class:`~matchers.model.Model`."""

    def __init__(self, model: Model) -> None:
        self._model = model
        self._score = _generate(model)
        self._conflict_levels = tuple(
            (c.name, c.levels) for c in model.comparisons if c.name in CONFLICT_COMPARISONS
        )

    @property
    def version(self) -> str:
        return self._model.version

    @property
    def model(self) -> Model:
        return self._model

    def score(self, a: StandardRecord, b: StandardRecord) -> float:
        return self._score(a, b)

    def score_many(self, record: StandardRecord, others: Sequence[StandardRecord]) -> list[float]:
        score = self._score
        return [score(record, other) for other in others]

    def conflicts(self, a: StandardRecord, b: StandardRecord) -> frozenset[str]:
        """The comparisons of :data:`CONFLICT_COMPARISONS` on which the pair disagrees
        outright (their last level). Not part of the match weight (which stays Splink's);
        a decision rule can refuse to link such a pair automatically, whatever its weight."""
        found = []
        for name, levels in self._conflict_levels:
            level = next(level for level in levels if level.test(a, b))
            if level.sql == "ELSE":
                found.append(name)
        return frozenset(found)

    def probability(self, a: StandardRecord, b: StandardRecord) -> float:
        """Splink's match probability of the pair."""
        return match_weight_to_probability(self._score(a, b))

    def explain(self, a: StandardRecord, b: StandardRecord) -> Explanation:
        """The waterfall: the prior, then per comparison the pair's level and its weight."""
        steps = []
        total = self._model.prior_weight
        for comparison in self._model.comparisons:
            level = next(level for level in comparison.levels if level.test(a, b))
            adjustment = 0.0
            if level.tf_column is not None:
                table = self._model.term_frequencies.get(level.tf_column, {})
                attribute = TF_ATTRIBUTES[level.tf_column]
                adjustment = tf_adjustment(
                    level, table.get(getattr(a, attribute)), table.get(getattr(b, attribute))
                )
            total += level.weight + adjustment
            steps.append(
                Step(
                    comparison=comparison.name,
                    level=level.label,
                    m=level.m,
                    u=level.u,
                    bayes_factor=level.bayes_factor,
                    match_weight=level.weight,
                    tf_adjustment=adjustment,
                )
            )
        return Explanation(
            model_version=self.version,
            prior_probability=self._model.prior,
            prior_match_weight=self._model.prior_weight,
            steps=tuple(steps),
            match_weight=total,
            match_probability=match_weight_to_probability(total),
        )
