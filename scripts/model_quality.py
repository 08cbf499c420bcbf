"""How good is the model before the resolver's clustering? Pairwise and B-cubed, as JSON.

Scores every candidate pair with the model and clusters two simple ways at several
match-probability thresholds: plain connected components, and "constrained" components
(links taken strongest first, never joining two groups that hold a pair the scorer calls
a conflict: different given names, dates of birth far apart, different identifiers).

Splink's 50k historical set (truth: ``cluster``); in the same run the baseline of
Splink's own example settings for it (the "deduplicate_50k_synthetic" demo), connected
components at 0.95::

    .venv/bin/python scripts/model_quality.py --model model.json
    .venv/bin/python scripts/model_quality.py            # trains a model first

The council simulator's borough (``hub simulate --out DIR``; truth in ``truth.csv``,
twins and parents in ``truth_people.csv``), with counts of clusters that merge twins or a
parent with a same-named child::

    .venv/bin/python scripts/model_quality.py --borough DIR [--model model.json]

The resolver's clustering replaces both in `hub link`; this script measures the model.
With ``--pred`` (a `hub link` output) it counts, instead, the twins and same-named parents
and children that output puts in one person, and the pairs of two different children
(under 18 on the day simulated) it does::

    .venv/bin/python scripts/model_quality.py --borough DIR --pred out.csv
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from hub.inputs import parse_mapping, read_records
from matchers.blocking import BlockingRules, candidate_pairs
from matchers.evaluation import evaluate
from matchers.model import Model
from matchers.records import SourceRecord, StandardRecord
from matchers.scorer import Scorer
from matchers.splink_adapter import train
from matchers.standardise import standardise

HISTORICAL = Path("/work/shared/data/historical_figures_with_errors_50k.parquet")
HISTORICAL_MAP = (
    "unique_id=record_id,surname=last_name,postcode_fake=postcode,gender=sex,birth_place=town"
)
THRESHOLDS = (0.5, 0.8, 0.9, 0.95, 0.97, 0.99)
Scored = list[tuple[float, str, str]]


def connected_components(ids: Iterable[str], edges: Iterable[tuple[str, str]]) -> dict[str, str]:
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
    return {i: root(i) for i in parent}


def constrained_components(
    ids: Iterable[str], edges: Scored, cannot: dict[str, set[str]]
) -> dict[str, str]:
    """Links strongest first; two groups are never joined if a conflict pair spans them."""
    group = {i: i for i in ids}
    members = {i: {i} for i in group}
    for _, a, b in sorted(edges, reverse=True):
        ga, gb = group[a], group[b]
        if ga == gb:
            continue
        if len(members[ga]) < len(members[gb]):
            ga, gb = gb, ga
        if any(cannot.get(x, set()) & members[gb] for x in members[ga]):
            continue
        for x in members[gb]:
            group[x] = ga
        members[ga] |= members.pop(gb)
    return group


def _merged(clusters: dict[str, str], truth: dict[str, str], pairs: set[frozenset[str]]) -> int:
    people: dict[str, set[str]] = defaultdict(set)
    for record, cluster in clusters.items():
        people[cluster].add(truth[record])
    return sum(1 for found in people.values() for pair in pairs if pair <= found)


def measure(
    model: Model,
    records: list[StandardRecord],
    truth: dict[str, str],
    special: dict[str, set[frozenset[str]]],
) -> dict[str, Any]:
    by_id = {r.record_id: r for r in records}
    blocked = candidate_pairs(records, BlockingRules(model.blocking_rules, model.max_block_size))
    scorer = Scorer(model)
    scored = [(scorer.score(by_id[a], by_id[b]), a, b) for a, b in sorted(blocked.pairs)]
    cannot: dict[str, set[str]] = defaultdict(set)
    for _, a, b in scored:
        if scorer.conflicts(by_id[a], by_id[b]):
            cannot[a].add(b)
            cannot[b].add(a)
    results: dict[str, Any] = {}
    for threshold in THRESHOLDS:
        weight = math.log2(threshold / (1 - threshold))
        edges = [e for e in scored if e[0] >= weight]
        for name, clusters in (
            ("connected_components", connected_components(by_id, ((a, b) for _, a, b in edges))),
            ("constrained_components", constrained_components(by_id, edges, cannot)),
        ):
            row = {"match_weight_threshold": round(weight, 3), "links": len(edges),
                   **evaluate(clusters, truth).as_dict()}  # fmt: skip
            for kind, pairs in special.items():
                row[f"clusters_merging_{kind}"] = _merged(clusters, truth, pairs)
            results.setdefault(name, {})[f"p>={threshold}"] = row
    return {
        "model_version": model.version,
        "records": len(records),
        "candidate_pairs": len(blocked.pairs),
        "true_pairs_among_candidates": sum(truth[a] == truth[b] for _, a, b in scored),
        "over_common_keys": len(blocked.over_common_keys),
        **results,
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


def _records(path: Path, mapping: str) -> list[StandardRecord]:
    return [standardise(r) for r in read_records(path, parse_mapping(mapping))
            if isinstance(r, SourceRecord)]  # fmt: skip


def _borough_special_pairs(folder: Path) -> dict[str, set[frozenset[str]]]:
    with (folder / "truth_people.csv").open() as handle:
        people = {row["person_id"]: row for row in csv.DictReader(handle)}
    twins = {frozenset((p, row["twin_of"])) for p, row in people.items() if row["twin_of"]}
    namesakes = set()
    for person, row in people.items():
        for parent in (row["mother_id"], row["father_id"]):
            other = people.get(parent)
            if other and (other["given_name"], other["family_name"]) == (
                row["given_name"],
                row["family_name"],
            ):
                namesakes.add(frozenset((person, parent)))
    return {"twins": twins, "same_name_parent_child": namesakes}


def _children(folder: Path) -> set[str]:
    """The borough's people under 18 on the day it was simulated."""
    day = dt.date.fromisoformat(orjson.loads((folder / "manifest.json").read_bytes())["date"])
    born_after = f"{day.year - 18:04d}{day.isoformat()[4:]}"  # (29 February compares fine)
    with (folder / "truth_people.csv").open() as handle:
        return {row["person_id"] for row in csv.DictReader(handle) if row["dob"] > born_after}


def merged_in_prediction(folder: Path, pred: Path) -> dict[str, Any]:
    """How many twin pairs and same-named parent-child pairs a prediction merges, and how
    many pairs of two different children (under 18) it puts in one person."""
    with (folder / "truth.csv").open() as handle:
        truth = {row["record_id"]: row["person_id"] for row in csv.DictReader(handle)}
    with pred.open() as handle:
        clusters = {row["record_id"]: row["person_id"] for row in csv.DictReader(handle)}
    people: dict[str, set[str]] = defaultdict(set)
    for record, cluster in clusters.items():
        people[cluster].add(truth[record])
    present = {t for r, t in truth.items() if r in clusters}
    report: dict[str, Any] = {"prediction": str(pred)}
    for kind, pairs in _borough_special_pairs(folder).items():
        both = {p for p in pairs if p <= present}
        merged = {p for p in both if any(p <= found for found in people.values())}
        report[kind] = {"pairs": len(both), "merged": len(merged)}
    children = _children(folder)
    report["two_children_merged"] = sum(
        math.comb(len(found & children), 2) for found in people.values()
    )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model JSON (default: train one first)")
    parser.add_argument("--borough", type=Path, help="folder written by `hub simulate`")
    parser.add_argument("--no-baseline", action="store_true", help="skip Splink's baseline")
    parser.add_argument("--pred", type=Path, help="with --borough: a `hub link` output to check")
    args = parser.parse_args()
    if args.pred and args.borough:
        print(orjson.dumps(merged_in_prediction(args.borough, args.pred)).decode())
        return
    if args.borough:
        records = _records(args.borough / "persons.csv", "")
        with (args.borough / "truth.csv").open() as handle:
            truth = {row["record_id"]: row["person_id"] for row in csv.DictReader(handle)}
        special = _borough_special_pairs(args.borough)
        data = str(args.borough)
    else:
        records = _records(HISTORICAL, HISTORICAL_MAP)
        frame = pd.read_parquet(HISTORICAL, columns=["unique_id", "cluster"])
        truth = dict(zip(frame["unique_id"].astype(str), frame["cluster"].astype(str), strict=True))
        special, data = {}, str(HISTORICAL)
    model = Model.load(args.model) if args.model else train(records)
    report: dict[str, Any] = {"data": data, "ours": measure(model, records, truth, special)}
    if not args.borough and not args.no_baseline:
        report["splink_example_baseline"] = splink_example_baseline(HISTORICAL, truth)
    print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
