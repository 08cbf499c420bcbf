"""The one module that uses Splink (and DuckDB): training, and Splink's own scores.

Training (:func:`train`) fits a Fellegi-Sunter model on a snapshot without labels:

1. the comparisons of :mod:`matchers.comparisons` whose columns the snapshot fills;
2. a first prior from deterministic rules
   (Splink's ``estimate_probability_two_random_records_match``);
3. u by random sampling with a fixed seed (``estimate_u_using_random_sampling``);
4. m by expectation maximisation, one session per blocking rule: each usable identifier
   (NHS, NI, UPN), date of birth, given and family name; postcode only when fewer than two
   identifiers are usable. Identifier levels have fixed m (see ``comparisons._identifier``);
5. term-frequency tables computed by Splink and frozen into the model;
6. the prior re-estimated as the fixed point over the candidate pairs, and blocking rules
   that find almost no match the other rules miss dropped (:func:`refine_prior_and_blocking`).

DuckDB runs on one thread so that the same snapshot and seed give the same model version.
The result is the model document described in :mod:`matchers.model`. It loads into Splink
as it is: ``Linker(input_table(records, blocking), doc["splink"])`` with the frozen TF
tables registered (see :func:`splink_match_weights`).

:func:`splink_match_weights` and :class:`SplinkRealtime` give Splink's own answers for the
same model, for the parity test and the benchmark; :func:`input_table` is the table a bulk
bootstrap registers so that Splink blocks exactly as the stream does.
"""

from __future__ import annotations

import functools
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, ParamSpec, TypeVar

import pyarrow as pa

from matchers.blocking import (
    BLOCK_COLUMN_PREFIX,
    BlockingRules,
    candidate_pairs,
    prune_rules,
    rule_columns,
    rule_masks,
)
from matchers.comparisons import (
    COMPARISONS,
    FEATURE_COLUMNS,
    Comparison,
    comparisons_for,
    feature_row,
)
from matchers.model import MODEL_FORMAT, Model, ModelError, model_version, prob_to_match_weight
from matchers.records import StandardRecord

DEFAULT_SEED = 42
DEFAULT_MAX_PAIRS = 5_000_000  # random pairs for the u estimate
DEFAULT_EM_MAX_PAIRS = 2_000_000  # blocked pairs per expectation-maximisation session
DEFAULT_PRIOR_RECALL = 0.7  # assumed share of true pairs the deterministic rules find
MIN_FILLED_SHARE = 0.005  # a comparison is used when this share of records fill its columns

Progress = Callable[[str], None]
P = ParamSpec("P")
R = TypeVar("R")
Handler = Callable[[int, FrameType | None], Any]


def _stops_kept(function: Callable[P, R]) -> Callable[P, R]:
    """A call into Splink that a Ctrl-C (or a SIGTERM a command handles) ends as the stop
    it is. DuckDB swallows the KeyboardInterrupt (or the handler's SystemExit) and raises
    an error of its own, "Query interrupted", which Splink wraps: the command took the stop
    for a failure of its own ("internal error: SplinkException"). An error raised during a
    call in which such a signal came is replaced by what the signal's handler raises."""

    @functools.wraps(function)
    def kept(*args: P.args, **kwargs: P.kwargs) -> R:
        if threading.current_thread() is not threading.main_thread():
            return function(*args, **kwargs)  # (only the main thread takes signals)
        came: list[int] = []
        handlers: dict[int, Handler] = {}
        for signum in (signal.SIGINT, signal.SIGTERM):
            handler = signal.getsignal(signum)
            if callable(handler):
                handlers[signum] = handler
                signal.signal(signum, _noting(came, handler))
        try:
            return function(*args, **kwargs)
        except Exception:
            if came:
                handlers[came[0]](came[0], None)  # (KeyboardInterrupt, SystemExit...)
            raise
        finally:
            for number, kept_handler in handlers.items():
                signal.signal(number, kept_handler)

    return kept


def _noting(came: list[int], handler: Handler) -> Handler:
    def note(signum: int, frame: FrameType | None) -> Any:
        came.append(signum)
        return handler(signum, frame)

    return note


# Rules with (almost) no false positives, for the prior; each used when its columns exist.
_DETERMINISTIC_RULES: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("first_name", "last_name", "dob"),
        'l."first_name" = r."first_name" AND l."last_name" = r."last_name" AND l."dob" = r."dob"',
    ),
    (("nhs_number",), 'l."nhs_number" = r."nhs_number"'),
    (("ni_stem", "dob"), 'l."ni_stem" = r."ni_stem" AND l."dob" = r."dob"'),
    (("upn",), 'l."upn" = r."upn"'),
)
# Blocking rules for the expectation-maximisation sessions. Comparisons that read a
# blocked column are held fixed in that session; every comparison is free in some session.
# Pairs sharing an identifier are almost all true matches, so identifier sessions give
# the cleanest m estimates; pairs sharing a postcode are mostly household members and
# neighbours, so that session runs only when fewer than two identifiers can be used.
_IDENTIFIER_EM_RULES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("nhs_number",), 'l."nhs_number" = r."nhs_number"'),
    (("ni_stem",), 'l."ni_stem" = r."ni_stem"'),
    (("upn",), 'l."upn" = r."upn"'),
)
_EM_RULES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("dob",), 'l."dob" = r."dob"'),
    (("first_name", "last_name"),
     'l."first_name" = r."first_name" AND l."last_name" = r."last_name"'),
)  # fmt: skip
_FALLBACK_EM_RULE = (("postcode",), 'l."postcode" = r."postcode"')


@dataclass(frozen=True)
class TrainingOptions:
    seed: int = DEFAULT_SEED
    max_pairs: int = DEFAULT_MAX_PAIRS
    em_max_pairs: int = DEFAULT_EM_MAX_PAIRS
    prior_recall: float = DEFAULT_PRIOR_RECALL
    blocking: BlockingRules = field(default_factory=BlockingRules)


def _quiet_splink() -> None:
    for name in ("splink", "duckdb"):
        logging.getLogger(name).setLevel(logging.ERROR)


def input_table(
    records: Sequence[StandardRecord],
    blocking: BlockingRules,
    over_common: frozenset[str] = frozenset(),
) -> pa.Table:
    """Splink's input table: ``unique_id``, the feature columns and one ``block_<rule>``
    column per blocking rule. Values whose key is in ``over_common`` are left null, so
    Splink's blocking skips them as the index does."""
    columns: dict[str, list[str | None]] = {"unique_id": [r.record_id for r in records]}
    rows = [feature_row(r) for r in records]
    for name in FEATURE_COLUMNS:
        columns[name] = [row[name] for row in rows]
    for column, values in rule_columns(records, blocking).items():
        rule = column.removeprefix(BLOCK_COLUMN_PREFIX)
        columns[column] = [
            None if value is None or f"{rule}:{value}" in over_common else value for value in values
        ]
    return pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})


def _filled_share(table: pa.Table, columns: Iterable[str]) -> float:
    """The share of records with a value in the best-filled of ``columns``."""
    if table.num_rows == 0:
        return 0.0
    filled: int = max(table.num_rows - table.column(c).null_count for c in columns)
    return filled / int(table.num_rows)


def _blocking_sql(blocking: BlockingRules) -> list[str]:
    """Splink blocking rules equal to ours: ``l.block_<rule> = r.block_<rule>`` per rule."""
    return [
        f'l."{BLOCK_COLUMN_PREFIX}{name}" = r."{BLOCK_COLUMN_PREFIX}{name}"'
        for name in blocking.names
    ]


def _settings(comparisons: Sequence[Comparison], blocking: BlockingRules) -> dict[str, Any]:
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "probability_two_random_records_match": 0.0001,
        "comparisons": [c.splink_dict() for c in comparisons],
        "blocking_rules_to_generate_predictions": _blocking_sql(blocking),
        "retain_intermediate_calculation_columns": False,
        "retain_matching_columns": False,
    }


def _estimate_m(
    linker: Any, sessions: list[tuple[Any, str]], max_pairs: int, progress: Progress
) -> None:
    """m by expectation maximisation, one session per blocking rule; a rule on which no
    two records agree is skipped, and a snapshot where every rule is is an error."""
    from splink.internals.exceptions import EMTrainingException

    trained = 0
    for cols, sql in sessions:
        on = " and ".join(cols)
        progress(f"estimating m by expectation maximisation, blocking on {on}")
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                sql, max_pairs=max_pairs
            )
        except EMTrainingException:
            progress(f"  no two records agree on {on}: skipped")
            continue
        trained += 1
    if not trained:
        raise ModelError(
            "no expectation-maximisation session found record pairs to learn from; the "
            "snapshot is too small or too sparse (give more records)"
        )


def _estimate_prior(linker: Any, present: set[str], recall: float, progress: Progress) -> None:
    """Splink's first prior: the pairs the deterministic rules the snapshot can use find,
    over an assumed ``recall``."""
    rules: list[Any] = [sql for cols, sql in _DETERMINISTIC_RULES if set(cols) <= present]
    if not rules:
        raise ModelError(
            "the snapshot gives no way to find sure matches: a model needs, on at least "
            f"{MIN_FILLED_SHARE:.1%} of the records, names with dates of birth, NHS numbers, "
            "National Insurance numbers with dates of birth, or unique pupil numbers"
        )
    progress("estimating the prior from deterministic rules")
    try:
        linker.training.estimate_probability_two_random_records_match(rules, recall=recall)
    except ValueError as error:  # (Splink: more sure matches than the assumed recall allows)
        if "recall" not in str(error):
            raise
        raise ModelError(
            "the snapshot has more sure matches (same name and date of birth, or identifier) "
            "than a snapshot of distinct records can: is it the same records many times over?"
        ) from None


@_stops_kept
def train(
    records: Sequence[StandardRecord],
    options: TrainingOptions | None = None,
    progress: Progress = lambda _message: None,
) -> Model:
    """Train a model on ``records`` (see the module docstring). Deterministic for a seed."""
    import duckdb
    from splink import DuckDBAPI, Linker

    _quiet_splink()
    options = options or TrainingOptions()
    started = time.perf_counter()
    table = input_table(records, options.blocking)
    comparisons = comparisons_for(lambda c: _filled_share(table, (c,)) >= MIN_FILLED_SHARE)
    skipped = [c.name for c in COMPARISONS if c not in comparisons]
    progress(f"comparisons: {', '.join(c.name for c in comparisons)}")
    if skipped:
        progress(f"not used for this snapshot: {', '.join(skipped)}")
    present = {c for c in FEATURE_COLUMNS if _filled_share(table, (c,)) >= MIN_FILLED_SHARE}

    # One thread: DuckDB's parallel sums differ in the last bit from run to run, and the
    # same snapshot and seed must give the same model version.
    db_api = DuckDBAPI(connection=duckdb.connect(":memory:", config={"threads": 1}))
    linker = Linker(
        db_api.register(table), _settings(comparisons, options.blocking), log_level=None
    )

    _estimate_prior(linker, present, options.prior_recall, progress)
    progress(f"estimating u from {options.max_pairs:,} random pairs (seed {options.seed})")
    linker.training.estimate_u_using_random_sampling(max_pairs=options.max_pairs, seed=options.seed)
    sessions = [(c, sql) for c, sql in _IDENTIFIER_EM_RULES if set(c) <= present]
    sessions += [(c, sql) for c, sql in _EM_RULES if set(c) <= present]
    if len(sessions) - len(_EM_RULES) < 2 and set(_FALLBACK_EM_RULE[0]) <= present:
        sessions.append(_FALLBACK_EM_RULE)
    _estimate_m(linker, sessions, options.em_max_pairs, progress)

    splink_settings = linker.misc.save_model_to_json()
    splink_settings.pop("linker_uid", None)  # random per linker; not part of the model
    neutral = _neutralise_untrained_levels(splink_settings)
    if neutral:
        progress(f"no evidence in this snapshot, weight 0: {'; '.join(neutral)}")
    progress("freezing term-frequency tables")
    tf_tables = {}
    for column in sorted(_tf_columns(splink_settings)):
        frame = linker.table_management.compute_tf_table(column).as_pandas_dataframe()  # type: ignore[no-untyped-call]
        tf_tables[column] = {
            str(value): float(tf)
            for value, tf in sorted(zip(frame[column], frame[f"tf_{column}"], strict=True))
        }
    document: dict[str, Any] = {
        "format": MODEL_FORMAT,
        "splink": splink_settings,
        "term_frequencies": tf_tables,
        "blocking": {
            "rules": list(options.blocking.names),
            "max_block_size": options.blocking.max_block_size,
        },
        "training": {
            "records": len(records),
            "seed": options.seed,
            "max_pairs": options.max_pairs,
            "em_max_pairs": options.em_max_pairs,
            "prior_recall": options.prior_recall,
            "comparisons_left_out": skipped,
            "levels_without_evidence": neutral,
            "seconds": round(time.perf_counter() - started, 1),
        },
    }
    document["version"] = model_version(document)
    progress("estimating the prior over the candidate pairs, pruning blocking rules")
    prior, kept, dropped = refine_prior_and_blocking(
        Model.from_document(document), records, options.blocking
    )
    if dropped:
        progress(f"blocking rules that found almost nothing new, dropped: {', '.join(dropped)}")
    splink_settings["probability_two_random_records_match"] = prior
    splink_settings["blocking_rules_to_generate_predictions"] = [
        {"blocking_rule": rule, "sql_dialect": "duckdb"} for rule in _blocking_sql(kept)
    ]
    document["blocking"]["rules"] = list(kept.names)
    document["training"]["blocking_rules_dropped"] = {k: round(v, 2) for k, v in dropped.items()}
    document["training"]["seconds"] = round(time.perf_counter() - started, 1)
    document["version"] = model_version(document)
    return Model.from_document(document)


def _fixed_point_prior(evidence: Any, records: int, start: float) -> float:
    """The prior solving ``prior = sum of match probabilities / all pairs``; ``evidence`` is
    each candidate pair's match weight without the prior (a numpy array)."""
    import numpy as np

    all_pairs = records * (records - 1) / 2
    prior = start
    for _ in range(500):
        odds = np.exp2(np.clip(evidence + prob_to_match_weight(prior), -1000, 1000))
        new = float(np.sum(odds / (1.0 + odds))) / all_pairs
        new = min(max(new, 1e-12), 0.5)
        if abs(new - prior) <= 1e-6 * prior:
            return new
        prior = new
    return prior


def refine_prior_and_blocking(
    model: Model, records: Sequence[StandardRecord], blocking: BlockingRules
) -> tuple[float, BlockingRules, dict[str, float]]:
    """The prior by expectation over the candidate pairs, and the blocking rules worth
    their cost under this model (see :func:`matchers.blocking.prune_rules`).

    Splink's own prior (matches found by deterministic rules divided by an assumed recall)
    depends on a guess of that recall. Here, with the trained m and u held fixed, the prior
    is the fixed point of ``prior = sum of match probabilities over the candidate pairs /
    all pairs``; pairs that blocking does not propose count as non-matches.
    """
    import numpy as np

    from matchers.scorer import Scorer

    by_id = {r.record_id: r for r in records}
    scorer = Scorer(model)
    masks = rule_masks(records, blocking)
    pairs = sorted(masks)
    evidence = np.array([scorer.score(by_id[a], by_id[b]) - model.prior_weight for a, b in pairs])
    prior = _fixed_point_prior(evidence, len(records), model.prior)
    odds = np.exp2(np.clip(evidence + prob_to_match_weight(prior), -1000, 1000))
    probabilities: list[float] = (odds / (1.0 + odds)).tolist()
    kept, dropped = prune_rules(blocking, [masks[p] for p in pairs], probabilities)
    if dropped:
        active = sum(1 << blocking.names.index(name) for name in kept.names)
        still = np.array([masks[p] & active != 0 for p in pairs], dtype=bool)
        prior = _fixed_point_prior(evidence[still], len(records), prior)
    return prior, kept, dropped


def _neutralise_untrained_levels(splink_settings: dict[str, Any]) -> list[str]:
    """Give levels the snapshot never showed (no m or no u estimate) equal m and u, so
    they weigh nothing; Splink reads the same values, so scores still agree."""
    neutral = []
    for comparison in splink_settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            if m is None or u is None:
                level["m_probability"] = level["u_probability"] = m or u or 1e-6
                neutral.append(f"{comparison['output_column_name']}: {level['label_for_charts']}")
    return neutral


def _tf_columns(splink_settings: dict[str, Any]) -> set[str]:
    return {
        level["tf_adjustment_column"]
        for comparison in splink_settings["comparisons"]
        for level in comparison["comparison_levels"]
        if level.get("tf_adjustment_column")
    }


# -- Splink's own scores for the same model ---------------------------------------------


def _linker_for(
    model: Model, records: Sequence[StandardRecord], apply_cap: bool = False
) -> tuple[Any, Any, Any]:
    """A linker over ``records`` with the model's frozen TF tables registered."""
    from splink import DuckDBAPI, Linker

    _quiet_splink()
    db_api = DuckDBAPI()
    blocking = BlockingRules(tuple(model.blocking_rules), model.max_block_size)
    over_common = candidate_pairs(records, blocking).over_common_keys if apply_cap else frozenset()
    records_sdf = db_api.register(input_table(records, blocking, over_common))
    linker = Linker(records_sdf, model.document["splink"], log_level=None)
    for column, table in model.document["term_frequencies"].items():
        tf = pa.table(
            {
                column: pa.array(list(table), pa.string()),
                f"tf_{column}": pa.array(list(table.values()), pa.float64()),
            }
        )
        linker.table_management.register_term_frequency_lookup(db_api.register(tf), column)
    return db_api, linker, records_sdf


@_stops_kept
def splink_match_weights(
    model: Model,
    records: Sequence[StandardRecord],
    pairs: Sequence[tuple[str, str]] | None = None,
    *,
    apply_cap: bool = False,
) -> dict[tuple[str, str], float]:
    """Splink's ``predict()`` match weights, keyed by (smaller id, larger id).

    With ``pairs``, exactly those pairs are scored (registered as Splink's blocked pairs).
    Without, Splink blocks with the model's rules (``l.block_<rule> = r.block_<rule>``);
    with ``apply_cap`` the values of over-common keys are nulled first, so Splink proposes
    exactly :func:`~matchers.blocking.candidate_pairs` of the same records.
    """
    db_api, linker, _ = _linker_for(model, records, apply_cap)
    if pairs is not None:
        ordered = [tuple(sorted(p)) for p in pairs]
        blocked = pa.table(
            {
                "match_key": pa.array(["0"] * len(ordered), pa.string()),
                "join_key_l": pa.array([p[0] for p in ordered], pa.string()),
                "join_key_r": pa.array([p[1] for p in ordered], pa.string()),
            }
        )
        linker.table_management.register_blocked_pairs_for_predict(db_api.register(blocked))
    frame = linker.inference.predict(warning_mode="never").as_pandas_dataframe()
    return {
        (min(a, b), max(a, b)): float(w)
        for a, b, w in zip(
            frame["unique_id_l"], frame["unique_id_r"], frame["match_weight"], strict=True
        )
    }


class SplinkRealtime:
    """Splink's per-record call: one new record against an index, with ``predict_between``."""

    @_stops_kept
    def __init__(self, model: Model, index: Sequence[StandardRecord]) -> None:
        self._model = model
        self._blocking = BlockingRules(tuple(model.blocking_rules), model.max_block_size)
        self._db_api, self._linker, self._index = _linker_for(model, index)
        self._count = 0

    @_stops_kept
    def match(self, record: StandardRecord) -> dict[str, float]:
        """Match weights of the index records Splink's blocking finds for ``record``."""
        self._count += 1
        new = self._db_api.register(
            input_table([record], self._blocking), table_name=f"new_record_{self._count}"
        )
        frame = self._linker.inference.predict_between(
            self._index, new, warning_mode="never"
        ).as_pandas_dataframe()
        new.drop_table_from_database_and_remove_from_cache(force_non_splink_table=True)
        return {
            str(uid): float(w)
            for uid, w in zip(frame["unique_id_l"], frame["match_weight"], strict=True)
        }


@_stops_kept
def splink_predict(
    model: Model, records: Sequence[StandardRecord], over_common: frozenset[str]
) -> tuple[Any, Any, Any]:
    """Splink's batch linkage of a whole snapshot, for a bulk bootstrap.

    ``predict()`` blocks with the model's rules over :func:`input_table` with the values of
    ``over_common`` keys nulled (so its pairs are exactly the candidate pairs the index
    makes under the same cap) and scores them with the frozen TF tables. Returns three
    numpy arrays: the positions in ``records`` of each pair's two records (left < right)
    and its match weight. Records are identified to Splink by position, so the result
    comes back as numbers rather than millions of strings.
    """
    from splink import DuckDBAPI, Linker

    _quiet_splink()
    db_api = DuckDBAPI()
    blocking = BlockingRules(tuple(model.blocking_rules), model.max_block_size)
    table = input_table(records, blocking, over_common)
    positions = pa.array(range(len(records)), pa.int64())
    table = table.set_column(table.schema.get_field_index("unique_id"), "unique_id", positions)
    linker = Linker(db_api.register(table), model.document["splink"], log_level=None)
    for column, values in model.document["term_frequencies"].items():
        tf = pa.table(
            {
                column: pa.array(list(values), pa.string()),
                f"tf_{column}": pa.array(list(values.values()), pa.float64()),
            }
        )
        linker.table_management.register_term_frequency_lookup(db_api.register(tf), column)
    try:
        predictions = linker.inference.predict(warning_mode="never")
        columns = (
            predictions.as_duckdbpyrelation()
            .select("unique_id_l, unique_id_r, match_weight")
            .fetchnumpy()
        )
    finally:
        # the tables (input, blocked pairs, predictions) go now, not when the linker's
        # reference cycles are collected
        db_api.duckdb_con.close()
    return columns["unique_id_l"], columns["unique_id_r"], columns["match_weight"]
