"""The `hub` command line. Each area registers its commands here; errors become one line."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

import typer

# (typer 0.29 carries its own click: these are its exceptions, not click's)
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

from hub.bench import app as bench_app
from hub.bench_bootstrap import bench_bootstrap
from hub.bench_pipeline import bench_pipeline
from hub.bench_scorer import bench_scorer
from hub.bootstrap import bootstrap_command
from hub.console import err
from hub.errors import HubError
from hub.evaluate import eval_command
from hub.explain import app as explain_app
from hub.link import link_command
from hub.model_cli import app as model_app
from hub.person_cli import person_command
from hub.reset import reset_command
from hub.resolve import resolve_command
from hub.review_cli import app as review_app
from hub.run import run_command
from hub.stack import cli as stack_cli
from hub.state_cli import app as state_app
from hub.worker_cli import worker_command
from schemas import cli as schemas_cli
from sources.cli import cdc_command, publish_command
from sources.simulator.cli import simulate_command

app = typer.Typer(
    help="Residents Hub: a streaming residents index for UK councils.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(stack_cli.app, name="stack")
app.command("eval")(eval_command)
app.add_typer(model_app, name="model")
app.add_typer(explain_app, name="explain")
app.add_typer(bench_app, name="bench")
app.add_typer(schemas_cli.app, name="schemas")
bench_app.command("codec")(schemas_cli.codec_bench_command)
bench_app.command("scorer")(bench_scorer)
bench_app.command("bootstrap")(bench_bootstrap)
bench_app.command("pipeline")(bench_pipeline)
app.command("publish")(publish_command)
app.command("cdc")(cdc_command)
app.command("link")(link_command)
app.command("simulate")(simulate_command)
app.command("worker")(worker_command)
app.command("resolve")(resolve_command)
app.command("person")(person_command)
app.add_typer(state_app, name="state")
app.add_typer(review_app, name="review")
stack_cli.app.command("reset")(reset_command)
app.command("run")(run_command)
app.command("bootstrap")(bootstrap_command)


@app.command()
def smoke() -> None:
    """Prove an event goes through Kafka: publish one event and read it back."""
    from hub.settings import load_settings
    from hub.smoke import round_trip

    round_trip(load_settings())


def main() -> None:
    try:
        # usage errors are raised to us, to print on one line
        code = app(prog_name="hub", standalone_mode=False)
    except NoArgsIsHelpError as error:  # a bare `hub` or `hub bench`: its help (printed)
        sys.exit(error.exit_code)
    except UsageError as error:
        hint = f" (see `{error.ctx.command_path} --help`)" if error.ctx else ""
        err.print(f"error: {error.format_message()}{hint}", markup=False)
        sys.exit(error.exit_code)
    except ClickException as error:  # a file argument that cannot be opened and the like
        err.print(f"error: {error.format_message()}", markup=False)
        sys.exit(error.exit_code)
    except HubError as error:
        err.print(f"error: {error}", markup=False)
        sys.exit(error.exit_code)
    except typer.Abort:  # a question at a prompt left unanswered (no input)
        err.print("aborted", markup=False)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        sys.exit(130)
    except Exception as error:
        if _interrupted(error):  # Ctrl-C inside C code (a Kafka client's callback)
            err.print("interrupted", markup=False)
            sys.exit(130)
        if os.environ.get("HUB_DEBUG"):
            raise
        # the type and where, never the message: it may quote a resident's values
        err.print(
            f"internal error: {type(error).__name__} at {_where(error)} "
            "(set HUB_DEBUG=1 for a traceback)",
            markup=False,
        )
        sys.exit(70)
    # a command returns None; typer.Exit(n) (and Ctrl-C: Typer makes it Exit(130)) returns n
    sys.exit(code if type(code) is int else 0)


_OURS = Path(__file__).resolve().parents[1]  # the project's folder


def _where(error: BaseException) -> str:
    """The file and line an exception was raised at: the innermost frame in the project's
    code (a library's own file says little), else the innermost."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "an unknown place"
    ours = [f for f in frames if Path(f.filename).resolve().is_relative_to(_OURS)]
    frame = (ours or frames)[-1]
    return f"{Path(frame.filename).name}:{frame.lineno}"


def _interrupted(error: BaseException) -> bool:
    """Whether a KeyboardInterrupt is behind ``error`` (C code turns one into another
    error, "returned a result with an exception set")."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False
