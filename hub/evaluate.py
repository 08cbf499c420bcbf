"""`hub eval`: pairwise and B-cubed accuracy of a predicted partition against the truth.

A record whose cluster is empty (in the truth or the prediction) is a cluster of its own:
the simulator's truth gives no household to people without an address, and `hub link`
writes an empty household for them. ``--pred-col household_id --truth-col household_id``
scores households that way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from hub.console import say
from hub.errors import UsageError
from hub.inputs import cell_problem, cell_text, read_rows
from matchers.evaluation import evaluate

# Prefix of the cluster given to a record with an empty cluster; it cannot collide with
# a value read from a file (a value holding a NUL character is refused).
ALONE = "\0alone:"


def _column_map(path: Path, id_col: str, value_col: str) -> tuple[dict[str, str], int]:
    """record id -> cluster, and how many records had an empty cluster (each is alone). A
    record id given twice with two clusters is a :class:`UsageError`."""
    mapping: dict[str, str] = {}
    first_line: dict[str, int] = {}
    alone = 0
    for line, row in read_rows(path):
        if isinstance(row, str):
            raise UsageError(f"{path}: line {line}: {row}")
        if id_col not in row or value_col not in row:
            missing = id_col if id_col not in row else value_col
            if mapping:  # (JSON Lines: an earlier line has it)
                raise UsageError(f"{path}: line {line}: no {missing!r}")
            raise UsageError(f"{path}: no column {missing!r}")
        for column in (id_col, value_col):
            problem = cell_problem(column, row[column])
            if problem is None and "\0" in (cell_text(row[column]) or ""):  # (see ALONE)
                problem = f"{column} holds a NUL character"
            if problem:  # (as hub link rejects such a value; the value is not shown)
                raise UsageError(f"{path}: line {line}: {problem}")
        key, value = cell_text(row[id_col]), cell_text(row[value_col])
        if key is None:
            raise UsageError(f"{path}: line {line}: empty {id_col}")
        if key in mapping:
            if cell_text(row[value_col]) != _shown(mapping[key]):
                raise UsageError(
                    f"{path}: line {line}: the {id_col} of line {first_line[key]} again, "
                    f"with another {value_col}"
                )
            continue
        if value is None:
            alone += 1
            value = ALONE + key
        mapping[key] = value
        first_line[key] = line
    if not mapping:
        raise UsageError(f"{path}: no rows")
    return mapping, alone


def _shown(cluster: str) -> str | None:
    """A cluster as the file gave it (None: empty)."""
    return None if cluster.startswith(ALONE) else cluster


def eval_command(
    pred: Annotated[Path, typer.Option("--pred", help="CSV with record_id,person_id")],
    truth: Annotated[Path, typer.Option("--truth", help="file holding the true cluster")],
    truth_col: Annotated[str, typer.Option("--truth-col", help="column of the true cluster")],
    truth_id: Annotated[
        str, typer.Option("--truth-id", help="column of the record id in the truth file")
    ] = "record_id",
    pred_col: Annotated[
        str, typer.Option("--pred-col", help="column of the predicted cluster")
    ] = "person_id",
) -> None:
    """Print pairwise and B-cubed precision, recall and F1 as JSON.

    A record with an empty cluster (no household, say) counts as a cluster of its own.
    """
    predicted, pred_alone = _column_map(pred, "record_id", pred_col)
    true, true_alone = _column_map(truth, truth_id, truth_col)
    missing = len(set(predicted) - set(true))
    unpredicted = len(set(true) - set(predicted))
    try:
        scores = evaluate(predicted, true)
    except ValueError as error:
        raise UsageError(str(error)) from None
    result: dict[str, Any] = scores.as_dict()
    result["records_without_truth"] = missing
    result["truth_records_not_predicted"] = unpredicted
    result["records_alone_in_truth"] = true_alone
    result["records_alone_in_prediction"] = pred_alone
    for count, where, other in ((missing, pred, truth), (unpredicted, truth, pred)):
        if count:
            say(f"{count:,} records of {where} are not in {other}: scored on the "
                f"{scores.records:,} records both hold")  # fmt: skip
    typer.echo(orjson.dumps(result).decode())
