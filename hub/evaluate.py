"""`hub eval`: pairwise and B-cubed accuracy of a predicted partition against the truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from hub.errors import UsageError
from hub.inputs import read_rows
from matchers.evaluation import evaluate


def _column_map(path: Path, id_col: str, value_col: str) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for line, row in read_rows(path):
        if isinstance(row, str):
            raise UsageError(f"{path}: line {line}: {row}")
        if id_col not in row or value_col not in row:
            missing = id_col if id_col not in row else value_col
            raise UsageError(f"{path}: no column {missing!r}")
        key, value = _text(row[id_col]), _text(row[value_col])
        if key is None or value is None:
            raise UsageError(f"{path}: line {line}: empty {id_col if key is None else value_col}")
        mapping[key] = value
    if not mapping:
        raise UsageError(f"{path}: no rows")
    return mapping


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() or None


def eval_command(
    pred: Annotated[Path, typer.Option("--pred", help="CSV with record_id,person_id")],
    truth: Annotated[Path, typer.Option("--truth", help="file holding the true cluster")],
    truth_col: Annotated[str, typer.Option("--truth-col", help="column of the true cluster")],
    truth_id: Annotated[
        str, typer.Option("--truth-id", help="column of the record id in the truth file")
    ] = "record_id",
) -> None:
    """Print pairwise and B-cubed precision, recall and F1 as JSON."""
    predicted = _column_map(pred, "record_id", "person_id")
    true = _column_map(truth, truth_id, truth_col)
    missing = len(set(predicted) - set(true))
    try:
        scores = evaluate(predicted, true)
    except ValueError as error:
        raise UsageError(str(error)) from None
    result: dict[str, Any] = scores.as_dict()
    result["records_without_truth"] = missing
    typer.echo(orjson.dumps(result).decode())
