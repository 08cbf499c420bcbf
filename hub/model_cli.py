"""`hub model ...`: train the matching model on a snapshot, explain a pair's score."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from hub.console import err, say
from hub.errors import HubError, UsageError
from hub.inputs import RejectedRow, check_output, numbered_records, parse_mapping
from matchers.model import Model, ModelError
from matchers.records import SourceRecord, StandardRecord
from matchers.standardise import standardise

app = typer.Typer(help="Train the matching model and explain its scores.", no_args_is_help=True)

MIN_TRAINING_RECORDS = 50
MOST_PAIRS = 1_000_000_000  # (--max-pairs, --em-max-pairs: far past any use, inside 64 bits)

InputOption = Annotated[Path, typer.Option("--input", help="CSV, JSON Lines or Parquet file")]
MapOption = Annotated[
    str | None, typer.Option("--map", help="rename columns: column=field,column=field")
]


@dataclass(frozen=True)
class LoadedRecords:
    records: list[StandardRecord]
    rejected: int
    reasons: dict[str, int]
    rejected_rows: list[RejectedRow]  # (by line)


DUPLICATE = "duplicate record_id"


def load_records(path: Path, mapping: str | None) -> LoadedRecords:
    """Read and standardise every row of ``path``, counting the rows that cannot be used
    (no record_id, malformed, or replaced by a later row of its record_id: the last row of
    an id counts, as in ``hub link``)."""
    columns = parse_mapping(mapping)
    latest: dict[str, tuple[int, SourceRecord]] = {}  # (in first-seen order)
    reasons: Counter[str] = Counter()
    rejected: list[RejectedRow] = []
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}", markup=False), TimeElapsedColumn(),
        console=err, transient=True,
    ) as progress:  # fmt: skip
        task = progress.add_task(f"reading {path.name}", total=None)
        for line, item in numbered_records(path, columns):
            if isinstance(item, str):
                reasons[item] += 1
                rejected.append(RejectedRow(line, item))
                continue
            if item.record_id in latest:
                reasons[DUPLICATE] += 1
                replaced = latest[item.record_id][0]
                rejected.append(RejectedRow(replaced, f"{DUPLICATE}: line {line} replaces it"))
            latest[item.record_id] = line, item
            if (len(latest) + reasons.total()) % 5000 == 0:
                progress.update(task, description=f"reading {path.name}: {len(latest):,} records")
    records = [standardise(record) for _line, record in latest.values()]
    rejected.sort(key=lambda row: row.line)
    return LoadedRecords(records, reasons.total(), dict(reasons), rejected)


@app.command("train")
def train_command(
    *,
    input_path: InputOption,
    out: Annotated[Path, typer.Option("--out", help="where to write the model JSON")],
    mapping: MapOption = None,
    max_pairs: Annotated[
        int,
        typer.Option(
            "--max-pairs", help="random pairs sampled to estimate u", min=1000, max=MOST_PAIRS
        ),
    ] = 5_000_000,
    em_max_pairs: Annotated[
        int,
        typer.Option(
            "--em-max-pairs", help="pairs per m-estimation session", min=1000, max=MOST_PAIRS
        ),
    ] = 2_000_000,
    seed: Annotated[
        int, typer.Option("--seed", help="seed of the u sampling", min=0, max=2**31 - 1)
    ] = 42,
) -> None:
    """Train a model on a snapshot without labels and write it as JSON.

    Prints a JSON summary on stdout; progress goes to stderr.
    """
    from hub.link import report_rejected
    from matchers.splink_adapter import TrainingOptions, train

    began = time.monotonic()
    check_output(out, input_path, suffix=".json")
    loaded = load_records(input_path, mapping)
    report_rejected(input_path, loaded.rejected_rows)
    say(f"read {len(loaded.records):,} records, rejected {loaded.rejected:,}")
    if len(loaded.records) < MIN_TRAINING_RECORDS:
        raise UsageError(
            f"{input_path}: {len(loaded.records)} usable records; "
            f"training needs at least {MIN_TRAINING_RECORDS}"
        )
    options = TrainingOptions(seed=seed, max_pairs=max_pairs, em_max_pairs=em_max_pairs)
    with err.status("training") as status:

        def progress(message: str) -> None:
            say(f"  {message}")
            status.update(f"training: {message}")

        try:
            model = train(loaded.records, options, progress)
        except ModelError as error:
            raise HubError(f"training produced an unusable model: {error}") from None
    try:
        model.save(out)
    except OSError as error:
        raise UsageError(f"{out}: cannot be written: {error.strerror}") from None
    summary: dict[str, Any] = {
        "model": str(out),
        "version": model.version,
        "records": len(loaded.records),
        "rejected": loaded.rejected,
        "rejected_reasons": loaded.reasons,
        "comparisons": [c.name for c in model.comparisons],
        "probability_two_random_records_match": model.prior,
        "seconds": round(time.monotonic() - began, 1),
    }
    say(f"model {model.version} written to {out} in {summary['seconds']}s")
    typer.echo(orjson.dumps(summary).decode())


@app.command("explain")
def explain_command(
    *,
    model_path: Annotated[Path, typer.Option("--model", help="model JSON")],
    input_path: InputOption,
    first: Annotated[str, typer.Option("--a", help="record_id of the first record")],
    second: Annotated[str, typer.Option("--b", help="record_id of the second record")],
    mapping: MapOption = None,
) -> None:
    """Print the match-weight waterfall of two records as JSON (of the last row of each
    record_id, as hub link uses)."""
    from hub.link import read_input, report_rejected
    from matchers.scorer import Scorer

    first, second = first.strip(), second.strip()  # (as the file's record ids are read)
    if not (first and second):
        raise UsageError("--a and --b each need a record_id")
    scorer = Scorer(load_model(model_path))
    wanted = {first, second}
    records, rejected = read_input(input_path, mapping)
    report_rejected(input_path, rejected)
    found = {r.record_id: r for r in records if r.record_id in wanted}
    missing = sorted(wanted - set(found))
    if missing:
        raise UsageError(
            f"{input_path}: no record with record_id {', '.join(missing)}"
            + (" (rows were rejected: see above)" if rejected else "")
        )
    explanation = scorer.explain(standardise(found[first]), standardise(found[second]))
    typer.echo(orjson.dumps(explanation.as_dict(), option=orjson.OPT_INDENT_2).decode())


def load_model(path: Path) -> Model:
    try:
        return Model.load(path)
    except ModelError as error:
        raise UsageError(f"{path}: {error}") from None
