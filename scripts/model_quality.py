"""How good is the model before the resolver's clustering? Measured on Splink's 50k set.

Scores every candidate pair with our model, clusters by plain connected components at
several match-probability thresholds, and prints pairwise and B-cubed precision, recall
and F1 against the true ``cluster`` column as JSON; in the same run, the baseline: Splink's
own example settings for this data set (the "deduplicate_50k_synthetic" demo), connected
components at 0.95.

    .venv/bin/python scripts/model_quality.py --model model.json
    .venv/bin/python scripts/model_quality.py            # trains a model first

The resolver's clustering (with its rule against weak chaining) replaces connected
components in `hub link`; this script measures the model alone.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from hub.inputs import parse_mapping, read_records
from matchers.blocking import BlockingRules, candidate_pairs
from matchers.evaluation import evaluate
from matchers.model import Model
from matchers.records import SourceRecord
from matchers.scorer import Scorer
from matchers.splink_adapter import train
from matchers.standardise import standardise

DATA = Path("/work/shared/data/historical_figures_with_errors_50k.parquet")
MAPPING = "unique_id=record_id,surname=last_name,postcode_fake=postcode,gender=sex,birth_place=town"
THRESHOLDS = (0.5, 0.8, 0.9, 0.95, 0.97, 0.99)


def connected_components(ids: list[str], edges: list[tuple[str, str]]) -> dict[str, str]:
    parent = {i: i for i in ids}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {i: root(i) for i in ids}


def ours(model: Model, path: Path, truth: dict[str, str]) -> dict[str, Any]:
    records = [standardise(r) for r in read_records(path, parse_mapping(MAPPING))
               if isinstance(r, SourceRecord)]  # fmt: skip
    by_id = {r.record_id: r for r in records}
    blocking = BlockingRules(model.blocking_rules, model.max_block_size)
    blocked = candidate_pairs(records, blocking)
    scorer = Scorer(model)
    scored = [(scorer.score(by_id[a], by_id[b]), a, b) for a, b in blocked.pairs]
    ids = list(by_id)
    results = {}
    for threshold in THRESHOLDS:
        weight = math.log2(threshold / (1 - threshold))
        edges = [(a, b) for w, a, b in scored if w >= weight]
        clusters = connected_components(ids, edges)
        results[f"p>={threshold}"] = {
            "match_weight_threshold": round(weight, 3),
            "links": len(edges),
            **evaluate(clusters, truth).as_dict(),
        }
    true_candidates = sum(truth[a] == truth[b] for _, a, b in scored)
    return {
        "model_version": model.version,
        "candidate_pairs": len(blocked.pairs),
        "true_pairs_among_candidates": true_candidates,
        "over_common_keys": len(blocked.over_common_keys),
        "connected_components": results,
    }


def splink_example_baseline(path: Path, truth: dict[str, str]) -> dict[str, Any]:
    """Splink's published settings for this data set, trained and clustered as the demo does."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    began = time.monotonic()
    frame = pd.read_parquet(path)
    db_api = DuckDBAPI()
    blocking_rules = [
        block_on("substr(first_name,1,3)", "substr(surname,1,4)"),
        block_on("surname", "dob"),
        block_on("first_name", "dob"),
        block_on("postcode_fake", "first_name"),
        block_on("postcode_fake", "surname"),
        block_on("dob", "birth_place"),
        block_on("substr(postcode_fake,1,3)", "dob"),
        block_on("substr(postcode_fake,1,3)", "first_name"),
        block_on("substr(postcode_fake,1,3)", "surname"),
        block_on("substr(first_name,1,2)", "substr(surname,1,2)", "substr(dob,1,4)"),
    ]
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=blocking_rules,
        comparisons=[
            cl.ForenameSurnameComparison(
                "first_name", "surname",
                forename_surname_concat_col_name="first_name_surname_concat",
            ),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.PostcodeComparison("postcode_fake"),
            cl.ExactMatch("birth_place").configure(term_frequency_adjustments=True),
            cl.ExactMatch("occupation").configure(term_frequency_adjustments=True),
        ],
    )  # fmt: skip
    relation = db_api.duckdb_con.from_df(frame).project(
        "*, first_name || ' ' || surname as first_name_surname_concat"
    )
    linker = Linker(db_api.register(relation), settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [
            block_on("first_name", "surname", "dob"),
            block_on("substr(first_name,1,2)", "surname", "substr(postcode_fake,1,2)"),
            block_on("dob", "postcode_fake"),
        ],
        recall=0.6,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=1)
    for rule in (block_on("first_name", "surname"), block_on("dob")):
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
    predictions = linker.inference.predict(warning_mode="never")
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=0.95
    ).as_pandas_dataframe()
    predicted = {
        str(u): str(c) for u, c in zip(clusters["unique_id"], clusters["cluster_id"], strict=True)
    }
    return {
        "settings": "Splink docs demo deduplicate_50k_synthetic (includes occupation)",
        "connected_components_at": 0.95,
        **evaluate(predicted, truth).as_dict(),
        "seconds": round(time.monotonic() - began, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model JSON (default: train one first)")
    parser.add_argument("--input", type=Path, default=DATA)
    parser.add_argument("--no-baseline", action="store_true", help="skip Splink's baseline")
    args = parser.parse_args()
    truth_frame = pd.read_parquet(args.input, columns=["unique_id", "cluster"])
    truth = dict(
        zip(truth_frame["unique_id"].astype(str), truth_frame["cluster"].astype(str), strict=True)
    )
    if args.model:
        model = Model.load(args.model)
    else:
        records = [standardise(r) for r in read_records(args.input, parse_mapping(MAPPING))
                   if isinstance(r, SourceRecord)]  # fmt: skip
        model = train(records)
    report: dict[str, Any] = {"data": str(args.input), "ours": ours(model, args.input, truth)}
    if not args.no_baseline:
        report["splink_example_baseline"] = splink_example_baseline(args.input, truth)
    print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
