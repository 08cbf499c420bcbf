"""`hub bench ...`: benchmarks that print JSON. Each area registers its commands here."""

from __future__ import annotations

import typer

app = typer.Typer(help="Benchmarks: speed and accuracy figures as JSON.", no_args_is_help=True)
