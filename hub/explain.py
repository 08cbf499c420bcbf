"""`hub explain ...`: why the hub linked what it linked.

``hub explain person`` resolves a file as `hub link` does and prints, for the person a
record belongs to, the links that built it (each with its match-weight waterfall), the
links clustering refused, the judgements involved, the model version and the
thresholds, as JSON. (``hub model explain`` gives one pair's waterfall.)
"""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from hub.errors import UsageError
from hub.link import (
    Matcher,
    RelationshipsOption,
    link_stream,
    load_matcher,
    load_relationships,
    read_input,
    report_rejected,
    survivorship_from,
    thresholds_from,
)
from hub.settings import load_settings
from matchers.clustering import Link
from matchers.records import StandardRecord
from matchers.resolver import PersonExplanation, Resolver

app = typer.Typer(help="Explain the hub's decisions.", no_args_is_help=True)


def _link(link: Link, records: dict[str, StandardRecord], matcher: Matcher) -> dict[str, Any]:
    line: dict[str, Any] = {"record_a": link.record_a, "record_b": link.record_b}
    if link.judged:
        line["decided_by"] = "human"
        return line
    line["match_weight"] = link.weight
    line["match_probability"] = 1.0 / (1.0 + math.exp2(-link.weight))
    if matcher.explain is not None:
        line["waterfall"] = [
            {"comparison": w.comparison, "level": w.level, "match_weight": w.match_weight}
            for w in matcher.explain(records[link.record_a], records[link.record_b])
        ]
    return line


def person_document(
    explanation: PersonExplanation, resolver: Resolver, matcher: Matcher
) -> dict[str, Any]:
    """The explanation as a JSON-ready document."""
    linked = {r for k in (*explanation.links, *explanation.refused_links)
              for r in (k.record_a, k.record_b)}  # fmt: skip
    records = resolver.state.records(linked | set(explanation.record_ids))
    return {
        "person_id": explanation.person_id,
        "record_ids": list(explanation.record_ids),
        "model_version": explanation.model_version,
        "thresholds": asdict(explanation.thresholds),
        "links": [_link(k, records, matcher) for k in explanation.links],
        "refused_links": [
            {**_link(k, records, matcher), "reason": reason}
            for k, reason in zip(
                explanation.refused_links, explanation.refused_reasons, strict=True
            )
        ],
        "judgements": [asdict(j) for j in explanation.judgements],
    }


@app.command("person")
def person_command(
    *,
    input_path: Annotated[
        Path, typer.Option("--input", help="records: CSV, JSON Lines or Parquet")
    ],
    model: Annotated[Path, typer.Option("--model", help="trained model JSON")],
    record: Annotated[str, typer.Option("--record", help="record_id of a record of the person")],
    mapping: Annotated[
        str | None, typer.Option("--map", help="rename columns: column=field,...")
    ] = None,
    relationships: RelationshipsOption = None,
) -> None:
    """Resolve a file (under its --relationships, as `hub link` does) and print how the
    person holding --record was built, as JSON."""
    settings = load_settings()
    matcher = load_matcher(model)
    thresholds = thresholds_from(settings, matcher.block_cap)
    records, rejected = read_input(input_path, mapping)
    report_rejected(input_path, rejected)
    if not any(r.record_id == record for r in records):
        raise UsageError(f"{input_path}: no record with record_id {record}")
    _, resolver, _ = link_stream(
        records,
        matcher,
        thresholds,
        survivorship_from(settings),
        judgements=load_relationships(relationships, records),
    )
    person_id = resolver.state.person_of([record])[record]
    explanation = resolver.explain_person(person_id)
    if explanation is None:  # every stored record has a person
        raise UsageError(f"record {record} has no person")
    document = person_document(explanation, resolver, matcher)
    typer.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
