"""Reading record files for publishing: a progress bar sized to the file."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hub.console import LOGGED_EVERY_S, LoggedProgress, err
from hub.errors import UsageError
from hub.inputs import file_format

PROGRESS_MIN_ROWS = 10_000  # smaller files finish before a bar would help


def estimate_rows(path: Path) -> int | None:
    """Rows in the file, cheaply: Parquet metadata, or newlines for text (an upper bound)."""
    try:
        if file_format(path) == "parquet":
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(path).metadata.num_rows)
        lines = 0
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                lines += chunk.count(b"\n")
        return lines
    except (OSError, ValueError, UsageError):  # reading the rows reports the real error
        return None


class Progress:
    """A progress bar on stderr for a large file (off a terminal, a line now and then)."""

    def __init__(self, bar: object | None, task: object | None) -> None:
        self._bar = bar
        self._task = task

    def advance(self, rows: int = 1) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, rows)  # type: ignore[attr-defined]


@contextmanager
def progress(label: str, total: int | None) -> Iterator[Progress]:
    if total is None or total < PROGRESS_MIN_ROWS:
        yield Progress(None, None)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

    with LoggedProgress(
        TextColumn("{task.description}", markup=False),  # (it names a file)
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        every_s=LOGGED_EVERY_S,
    ) as bar:
        yield Progress(bar, bar.add_task(label, total=total))
