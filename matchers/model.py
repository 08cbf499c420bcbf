"""The trained model as data: one JSON document, read and checked here.

The document (written by ``hub model train``) holds:

- ``format``: :data:`MODEL_FORMAT`;
- ``version``: a hash of everything that decides a score (Splink settings and TF tables);
- ``splink``: Splink's own saved settings (``linker.misc.save_model_to_json()``): the prior,
  and per comparison the levels with their SQL condition, m and u probabilities and
  term-frequency settings. It loads into Splink unchanged: ``Linker(df, doc["splink"])``;
- ``term_frequencies``: ``{column: {value: relative frequency}}`` computed by Splink on the
  training snapshot, frozen so the model version fixes them;
- ``blocking``: the blocking rule names and size cap the model was trained beside;
- ``training``: how it was trained (records, seed, pair counts, time).

:class:`Model` turns the Splink part into plain numbers: per comparison, per level, the
match weight and the term-frequency adjustment inputs, each level joined to its Python
test in :mod:`matchers.comparisons` by its SQL condition. A level whose SQL is unknown
here, or an untrained level, makes the model unusable (:class:`ModelError`).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson

from matchers.comparisons import TF_ATTRIBUTES, Test, comparison_named, levels_by_sql

MODEL_FORMAT = "residents-hub-model/1"
_CLAMP = 1e-300  # Splink clamps m and u to this before taking logs
_NOT_OBSERVED = 1e-6  # Splink's m or u for a level never observed in training


def model_version(document: Mapping[str, Any]) -> str:
    """A content hash of what decides candidates and scores: the Splink settings, the TF
    tables and the blocking."""
    payload = orjson.dumps(
        {
            "splink": document["splink"],
            "tf": document["term_frequencies"],
            "blocking": document["blocking"],
        },
        option=orjson.OPT_SORT_KEYS,
    )
    return "m" + hashlib.sha256(payload).hexdigest()[:12]


class ModelError(ValueError):
    """The model document cannot be used (wrong format, a part of the wrong shape, unknown
    level, untrained level)."""


def prob_to_match_weight(probability: float) -> float:
    return math.log2(probability / (1 - probability))


def match_weight_to_probability(weight: float) -> float:
    """Splink's match probability for a match weight (stable for large magnitudes)."""
    if weight >= 0:
        return 1.0 / (1.0 + math.exp2(-weight))
    odds = math.exp2(weight)
    return odds / (1.0 + odds)


@dataclass(frozen=True)
class ModelLevel:
    label: str
    sql: str
    python: str  # the level's test as a Python expression in a, b
    test: Test
    is_null: bool
    m: float | None
    u: float | None
    weight: float  # log2(m / u); 0 for the null level
    tf_column: str | None = None
    tf_weight: float = 0.0
    tf_minimum_u: float = 0.0
    tf_log2_u_exact: float = 0.0  # log2 u of the exact-match level on tf_column

    @property
    def bayes_factor(self) -> float:
        return math.exp2(self.weight)


@dataclass(frozen=True)
class ModelComparison:
    name: str
    description: str
    levels: tuple[ModelLevel, ...]
    lets: tuple[tuple[str, str], ...] = ()  # shared Python values the levels read


def _probability(level: Mapping[str, Any], key: str, where: str) -> float:
    value = level.get(key)
    if value == "level not observed":
        return _NOT_OBSERVED
    if isinstance(value, bool):  # (JSON true and false: an int to Python)
        raise ModelError(f"{where}: {key} {str(value).lower()} is not a number")
    if not isinstance(value, int | float):
        raise ModelError(f"{where}: {key} is not trained")
    if not 0 <= value <= 1:  # (NaN fails too)
        raise ModelError(f"{where}: {key} {value} is not a probability")
    return float(value)


def _exact_sql(column: str) -> str:
    return f'"{column}_l" = "{column}_r"'


def _field(parent: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in parent:
        raise ModelError(f"{where} has no {key!r}")
    return parent[key]


def _item(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ModelError(f"{where} is not an object")
    return value


def _object(document: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    return _item(_field(document, key, "the model"), repr(key))


def _list(parent: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = _field(parent, key, where)
    if not isinstance(value, list):
        raise ModelError(f"{where} {key} is not a list")
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(parent: Mapping[str, Any], key: str, where: str, default: float | None = None) -> float:
    value = parent.get(key, default) if default is not None else _field(parent, key, where)
    if not _is_number(value):
        raise ModelError(f"{where} {key} is not a number")
    return float(value)


def _frequencies(table: Any, column: str) -> dict[str, float]:
    where = f"'term_frequencies' {column!r}"
    # (its keys are the names and dates themselves: the message names none of them)
    if not all(_is_number(v) for v in _item(table, where).values()):
        raise ModelError(f"{where} has a frequency that is not a number")
    return {str(k): float(v) for k, v in table.items()}


def _comparison(raw: Mapping[str, Any]) -> ModelComparison:
    name = str(raw.get("output_column_name"))
    known = levels_by_sql()
    raw_levels = raw.get("comparison_levels") or []
    if not isinstance(raw_levels, list):
        raise ModelError(f"comparison {name!r}: comparison_levels is not a list")
    for position, level in enumerate(raw_levels):
        _item(level, f"comparison {name!r} level {position}")
    u_by_sql: dict[str, float] = {}
    levels: list[ModelLevel] = []
    for position, level in enumerate(raw_levels):
        sql = str(level.get("sql_condition"))
        spec = known.get((name, sql))
        where = f"comparison {name!r} level {position}"
        if spec is None:
            raise ModelError(f"{where}: SQL condition {sql!r} has no Python twin")
        if level.get("is_null_level"):
            levels.append(
                ModelLevel(spec.label, sql, spec.python, spec.test, True, None, None, 0.0)
            )
            continue
        m = _probability(level, "m_probability", where)
        u = _probability(level, "u_probability", where)
        u_by_sql[sql] = u
        weight = math.log2(max(m, _CLAMP) / max(u, _CLAMP))
        levels.append(ModelLevel(spec.label, sql, spec.python, spec.test, False, m, u, weight))
    for position, level in enumerate(raw_levels):
        column = level.get("tf_adjustment_column")
        if not column or level.get("is_null_level") or level.get("sql_condition") == "ELSE":
            continue
        where = f"comparison {name!r} level {position}"
        tf_weight = _number(level, "tf_adjustment_weight", where, default=1.0)
        if tf_weight == 0:
            continue
        if not isinstance(column, str) or column not in TF_ATTRIBUTES:
            raise ModelError(f"comparison {name!r}: no term-frequency values for {column!r}")
        u_exact = u_by_sql.get(_exact_sql(column))
        if u_exact is None:
            raise ModelError(f"comparison {name!r}: no exact-match level on {column!r}")
        if u_exact == 0:
            raise ModelError(f"comparison {name!r}: the exact-match level on {column!r} has u 0")
        levels[position] = replace(
            levels[position],
            tf_column=column,
            tf_weight=tf_weight,
            tf_minimum_u=_number(level, "tf_minimum_u_value", where, default=0.0),
            tf_log2_u_exact=math.log2(u_exact),
        )
    if not levels or levels[-1].sql != "ELSE":
        raise ModelError(f"comparison {name!r}: the last level must be ELSE")
    defined = comparison_named(name)
    lets = defined.lets if defined else ()
    return ModelComparison(name, str(raw.get("comparison_description", name)), tuple(levels), lets)


class Model:
    """A loaded, checked model document."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        if document.get("format") != MODEL_FORMAT:
            raise ModelError(f"not a model file (format is not {MODEL_FORMAT!r})")
        splink = _object(document, "splink")
        self.prior = _number(splink, "probability_two_random_records_match", "'splink'")
        self.comparisons = tuple(
            _comparison(_item(c, f"'splink' comparison {position}"))
            for position, c in enumerate(_list(splink, "comparisons", "'splink'"))
        )
        self.term_frequencies: dict[str, dict[str, float]] = {
            str(column): _frequencies(table, column)
            for column, table in _object(document, "term_frequencies").items()
        }
        blocking = _object(document, "blocking")
        rules = _list(blocking, "rules", "'blocking'")
        if not all(isinstance(rule, str) for rule in rules):
            raise ModelError("'blocking' rules is not a list of rule names")
        self.blocking_rules: tuple[str, ...] = tuple(rules)
        max_block_size = _field(blocking, "max_block_size", "'blocking'")
        if not isinstance(max_block_size, int) or isinstance(max_block_size, bool):
            raise ModelError("'blocking' max_block_size is not a whole number")
        self.max_block_size = max_block_size
        version = document.get("version")
        if not 0 < self.prior < 1:
            raise ModelError("probability_two_random_records_match must be between 0 and 1")
        if not self.comparisons:
            raise ModelError("the model has no comparisons")
        if self.max_block_size < 2:
            raise ModelError("blocking max_block_size must be at least 2")
        if not self.blocking_rules:
            raise ModelError("the model has no blocking rules: no record would have a candidate")
        if not isinstance(version, str) or not version:
            raise ModelError("the model has no version")
        if version != model_version(document):
            raise ModelError(
                "its version does not match its content (changed after training?): a model "
                "is changed only by training it again"
            )
        self.version: str = version
        self.prior_weight = prob_to_match_weight(self.prior)
        self.document = document

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Model:
        return cls(document)

    @classmethod
    def load(cls, path: Path) -> Model:
        try:
            document = orjson.loads(path.read_bytes())
        except OSError as error:
            raise ModelError(f"cannot be read: {error.strerror}") from None
        except orjson.JSONDecodeError:
            raise ModelError("not JSON") from None
        if not isinstance(document, dict):
            raise ModelError("not a model file")
        return cls(document)

    def save(self, path: Path) -> None:
        path.write_bytes(orjson.dumps(self.document, option=orjson.OPT_INDENT_2))
