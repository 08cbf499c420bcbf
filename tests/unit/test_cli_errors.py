"""The command line reports every problem as one line on stderr, with an exit code."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time

import pytest
import typer

from hub import cli
from matchers.splink_adapter import _stops_kept


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str):
    monkeypatch.setattr("sys.argv", ["hub", *args])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    out, err = capsys.readouterr()
    return exited.value.code, out, err


LINK = ("link", "--input", "a.csv", "--model", "m.json", "--out", "o.csv")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("link",), "error: Missing option '--input'. (see `hub link --help`)"),
        (("nosuch",), "error: No such command 'nosuch'. (see `hub --help`)"),
        (
            (*LINK, "--chunk", "0"),
            "error: Invalid value for '--chunk': Input should be greater than or equal to 1"
            " (see `hub link --help`)",
        ),
        (
            (*LINK, "--chunk", "9" * 20),
            "error: Invalid value for '--chunk': Input should be less than or equal to"
            " 1000000000 (see `hub link --help`)",
        ),
        (
            (*LINK, "--batch", "--chunk", "50"),  # (was ignored; 50 is the default)
            "error: --chunk sets how often the record-by-record run re-clusters, and --batch "
            "clusters once: give one of them",
        ),
        (
            ("simulate", "--out", "s", "--rates", "typo=0.1,typo=0.2"),  # (the last won)
            "error: --rates: typo is given twice",
        ),
        *(
            (
                (*command, option, value),
                f"error: Invalid value for '{option}': must be a number from 1 to {high}"
                f" (see `hub {name} --help`)",
            )
            for name, command, option, high in (
                (
                    "resolve",
                    ("resolve", "--input", "a.csv", "--out", "o.csv"),
                    "--timeout",
                    "86,400",
                ),
                (
                    "bench pipeline",
                    ("bench", "pipeline", "--records", "100"),
                    "--rate",
                    "1,000,000",
                ),
            )
            for value in ("nan", "inf", "0")  # (the bench ran flat out at 0, failed at NaN)
        ),
        *(
            (
                ("stack", "logs", "kafka", "-n", n),
                "error: Invalid value for '--lines' / '-n': Input should be greater than or"
                " equal to 1 (see `hub stack logs --help`)",
            )
            for n in ("0", "-1")  # (-1 printed all lines but the first; 0 all of them)
        ),
    ],
)
def test_a_usage_error_is_one_line_with_where_to_look(monkeypatch, capsys, args, message):
    code, out, err = run(monkeypatch, capsys, *args)
    assert (code, out, err) == (2, "", message + "\n")


@pytest.mark.parametrize("option", ["--max-pairs", "--em-max-pairs"])
def test_train_refuses_too_many_pairs_before_reading(monkeypatch, capsys, tmp_path, option):
    # (it trained, then could not write the count into the model: an internal error)
    train = ("model", "train", "--input", str(tmp_path / "a.csv"), "--out", str(tmp_path / "m"))
    code, out, err = run(monkeypatch, capsys, *train, option, "99999999999999999999")
    assert (code, out) == (2, "")
    assert err.startswith(f"error: Invalid value for '{option}': ")
    assert "1000000000" in err and err.count("\n") == 1


class StackStarted(AssertionError):
    pass


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--residents", "3"), "error: --residents must be from 10 to 1,000,000"),
        (("--residents", "9" * 20), "error: --residents must be from 10 to 1,000,000"),
        (("--seed", "-1"), "error: Invalid value for '--seed': Input should be greater than"),
        (("--seed", "9" * 23), "error: Invalid value for '--seed': Input should be less than"),
        *(
            (
                ("--rate", rate),
                "error: Invalid value for '--rate': must be a number from 1 to"
                " 1,000,000 (see `hub run --help`)",
            )
            for rate in ("0", "nan", "inf")
        ),
        (("--workers", "0"), "error: Invalid value for '--workers': Input should be greater"),
        *(
            (
                ("--timeout", timeout),
                "error: Invalid value for '--timeout': must be a number"
                " from 1 to 86,400 (see `hub run --help`)",
            )
            for timeout in ("-5", "nan")  # (NaN was said to be over the maximum)
        ),
        (("--workers", "3"), "error: 3 workers need metrics ports 65534 to 65536, past 65535"),
    ],
)
def test_run_refuses_bad_options_before_starting_anything(monkeypatch, capsys, args, message):
    def refuse(*_args, **_kwargs):
        raise StackStarted  # (the test must not start services)

    monkeypatch.setattr("hub.run.Stack", refuse)
    monkeypatch.setenv("HUB_METRICS_PORT", "65534")
    code, out, err = run(monkeypatch, capsys, "run", *args)
    assert (code, out) == (2, "")
    assert err.startswith(message) and err.count("\n") == 1


def test_help_exits_zero_and_a_bare_group_prints_its_help(monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, "link", "--help")
    assert code == 0 and "--input" in out
    code, out, err = run(monkeypatch, capsys, "bench")
    assert code == 2 and "pipeline" in out and err == ""


def test_a_hub_error_is_its_message_and_its_exit_code(monkeypatch, capsys, tmp_path):
    missing = tmp_path / "nothing.json"
    code, _, err = run(monkeypatch, capsys, "link", "--input", str(tmp_path / "a.csv"),
                       "--model", str(missing), "--out", str(tmp_path / "o.csv"))  # fmt: skip
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1


def test_an_internal_error_names_its_type_and_place_but_never_its_message(monkeypatch, capsys):
    def broken(*_args, **_kwargs):
        raise ValueError("Ada Lovelace, 10/12/1815")  # the kind of text a bug may carry

    monkeypatch.setattr(cli, "app", broken)
    monkeypatch.delenv("HUB_DEBUG", raising=False)
    code, out, err = run(monkeypatch, capsys)
    assert code == 70 and out == ""
    assert err.startswith("internal error: ValueError at test_cli_errors.py:")
    assert "Lovelace" not in err and err.count("\n") == 1


def test_hub_debug_shows_the_traceback(monkeypatch):
    def broken(*_args, **_kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(cli, "app", broken)
    monkeypatch.setenv("HUB_DEBUG", "1")
    with pytest.raises(ValueError, match="a bug"):
        cli.main()


def a_command_raising(error: BaseException) -> typer.Typer:
    """A real Typer app whose one command raises ``error`` (Typer handles some itself)."""
    app = typer.Typer()

    @app.command()
    def fail() -> None:
        raise error

    @app.command()
    def other() -> None:  # (two commands: the app takes the command's name)
        pass

    return app


def interrupted_in_c() -> SystemError:
    """What C code raises when Ctrl-C lands in a callback of Python code it called."""
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        try:
            raise SystemError("<built-in function poll> returned a result with an exception set")
        except SystemError as error:
            return error


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (KeyboardInterrupt(), (130, "")),  # Ctrl-C: Typer's own exit 130, quietly
        (EOFError(), (1, "aborted")),  # a prompt with no input (Typer ends its line first)
        (ValueError("Ada Lovelace"), (70, "internal error: ValueError at ")),
        (interrupted_in_c(), (130, "interrupted")),  # Ctrl-C inside a C callback
    ],
)
def test_an_interruption_an_unanswered_prompt_and_a_bug_through_typer(
    monkeypatch, capsys, raised, expected
):
    monkeypatch.setattr(cli, "app", a_command_raising(raised))
    monkeypatch.delenv("HUB_DEBUG", raising=False)
    code, _, err = run(monkeypatch, capsys, "fail")
    code_wanted, starts = expected
    lines = err.strip().splitlines()
    assert code == code_wanted
    assert (len(lines) == 1 and lines[0].startswith(starts)) if starts else lines == []
    if code == 70:  # the place is ours (this test's command, not Typer's), the text not
        assert "test_cli_errors.py:" in err and "Lovelace" not in err


def bench_sigterm(_signum: int, _frame: object) -> None:
    sys.exit(143)  # (hub bench pipeline's handler: it stops its services on the way out)


@pytest.mark.parametrize(
    ("signum", "handler", "expected"),
    [
        (signal.SIGINT, signal.default_int_handler, (130, "interrupted\n")),
        (signal.SIGTERM, bench_sigterm, (143, "")),
    ],
)
def test_a_stop_inside_splink_is_the_stop_not_an_internal_error(
    monkeypatch, capsys, signum, handler, expected
):
    # (Ctrl-C while a model trained: DuckDB swallows the KeyboardInterrupt, or a SIGTERM
    # handler's SystemExit, and raises "Query interrupted", which Splink wraps: the user
    # was told of an internal error)
    @_stops_kept
    def splink_call() -> None:
        with contextlib.suppress(KeyboardInterrupt, SystemExit):
            os.kill(os.getpid(), signum)
            time.sleep(5)  # (the signal's handler raises before this returns)
        raise RuntimeError("Query interrupted")  # (with nothing of the signal in its chain)

    previous = signal.getsignal(signum)
    signal.signal(signum, handler)
    try:
        monkeypatch.setattr(cli, "app", lambda **_: splink_call())
        code, _, err = run(monkeypatch, capsys, "fail")
        assert signal.getsignal(signum) is handler  # (the call's own handler is gone)
    finally:
        signal.signal(signum, previous)
    assert (code, err) == expected


def test_off_a_terminal_progress_is_a_line_now_and_then(capsys) -> None:
    from hub.console import counting_progress

    with counting_progress(every_s=0.05) as progress:  # (pytest's stderr is no terminal)
        task = progress.add_task("linking", total=34131)
        progress.advance(task, 12000)
        done = progress.add_task("reading", total=5)
        progress.advance(done, 5)  # (finished: not written again)
        time.sleep(0.3)
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines and all(line.startswith("linking: 12,000 of 34,131 after ") for line in lines)


def test_bootstrap_refuses_its_own_bad_options_before_asking_redis(monkeypatch, capsys, tmp_path):
    """Nothing listens at the Redis URL: an option no run could use is named first."""
    monkeypatch.setenv("HUB_REDIS_URL", "redis://127.0.0.1:1/0")
    snapshot = tmp_path / "s.csv"
    snapshot.write_text("record_id,last_name\nhousing:1,Okafor\n")
    code, _, err = run(monkeypatch, capsys, "bootstrap", "--input", str(snapshot), "--scorer", "x")
    assert (code, err) == (2, "error: --scorer must be one of: splink, hub\n")
    code, _, err = run(monkeypatch, capsys, "bootstrap", "--input", str(tmp_path / "none.csv"))
    assert (code, err) == (2, f"error: {tmp_path / 'none.csv'}: no such file\n")


@pytest.mark.parametrize("url", ["garbage", "ftp://x", "http://[::1", "http://hub:s3cret@h:99999"])
def test_a_bad_schema_registry_url_is_named_before_anything_is_published(
    monkeypatch, capsys, tmp_path, url
):
    monkeypatch.chdir(tmp_path)  # (no .env here)
    monkeypatch.setenv("HUB_SCHEMA_REGISTRY_URL", url)
    monkeypatch.setenv("HUB_KAFKA_BOOTSTRAP", "127.0.0.1:1")  # (never a real broker)
    snapshot = tmp_path / "s.csv"
    snapshot.write_text("record_id,last_name\nhousing:1,Okafor\n")
    code, out, err = run(monkeypatch, capsys, "publish", "--source", "housing",
                         "--input", str(snapshot))  # fmt: skip
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("error: bad settings: HUB_SCHEMA_REGISTRY_URL: ")
    assert "s3cret" not in err


def test_cdc_names_a_stack_folder_that_is_a_file(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)  # (no .env here)
    (tmp_path / "stack").write_text("")
    monkeypatch.setenv("HUB_STACK_DIR", str(tmp_path / "stack"))
    snapshot = tmp_path / "s.csv"
    snapshot.write_text("record_id,last_name\nhousing:1,Okafor\n")
    code, out, err = run(monkeypatch, capsys, "cdc", "--source", "housing",
                         "--snapshot", str(snapshot), "--loaded")  # fmt: skip
    state = tmp_path / "stack" / "cdc-state.db"
    assert (code, out) == (2, "")
    assert err == f"error: {state}: cannot be created: {tmp_path / 'stack'} is not a folder\n"


def test_cdc_loaded_fails_when_every_row_was_rejected(monkeypatch, capsys, tmp_path):
    """As a run that publishes: remembering nothing of a file is no success."""
    monkeypatch.chdir(tmp_path)  # (no .env here)
    monkeypatch.setenv("HUB_STACK_DIR", str(tmp_path / "stack"))
    snapshot = tmp_path / "s.csv"
    snapshot.write_text("record_id,source_system,last_name\n1,council_tax,Okafor\n2,,Ade\n")
    code, out, err = run(monkeypatch, capsys, "cdc", "--source", "housing",
                         "--snapshot", str(snapshot), "--loaded")  # fmt: skip
    assert (code, out) == (0, "")  # (one row is housing's)
    snapshot.write_text("record_id,source_system,last_name\n1,council_tax,Okafor\n")
    monkeypatch.setenv("HUB_STACK_DIR", str(tmp_path / "another"))
    code, out, err = run(monkeypatch, capsys, "cdc", "--source", "housing",
                         "--snapshot", str(snapshot), "--loaded", "--json")  # fmt: skip
    assert code == 2 and '"rejected":1' in out  # (as hub link and hub bootstrap exit)
    assert err.splitlines()[-1] == "error: s.csv: every row was rejected"


def test_colons_in_a_message_are_not_emoji(monkeypatch, capsys, tmp_path):
    """Rich turned ``:x:`` into ❌ and ``:b:`` into 🅱: a file named a:x:b.csv was misnamed."""
    from hub.console import out, say

    missing = tmp_path / "a:x:b.csv"
    code, _, err = run(monkeypatch, capsys, "publish", "--source", "s", "--input", str(missing))
    assert (code, err) == (2, f"error: {missing}: no such file\n")
    say("a:b:c")
    out.print("a:b:c :smile:", markup=False)
    assert capsys.readouterr() == ("a:b:c :smile:\n", "a:b:c\n")


def test_a_progress_description_is_plain_text() -> None:
    """A file's name in a bar is shown as it is: not emoji, not markup (``[/b]`` broke it)."""
    from rich.progress import TextColumn

    from hub.bootstrap import _progress
    from hub.console import counting_progress
    from sources.files import progress

    name = "reading a:x:b[/y].csv"
    with progress("", 10**9) as shown:
        bars = [counting_progress(), _progress(), shown._bar]  # type: ignore[attr-defined]
    for bar in bars:
        added = bar.add_task(name, total=1)
        task = next(task for task in bar.tasks if task.id == added)
        texts = [c.render(task).plain for c in bar.columns if isinstance(c, TextColumn)]
        assert [t.strip() for t in texts] == [name]


def test_a_source_name_too_long_for_a_topic_is_said_to_be_too_long(monkeypatch, capsys, tmp_path):
    rows = tmp_path / "r.csv"
    rows.write_text("record_id,last_name\n1,Okafor\n")
    code, _, err = run(monkeypatch, capsys, "publish", "--source", "x" + "y" * 70, "--input",
                       str(rows))  # fmt: skip
    assert (code, err) == (2, "error: source system 'xyyyyyyyyyyyyyyyyyyy'... is longer than 63 "
                              "characters\n")  # fmt: skip
    code, _, err = run(monkeypatch, capsys, "publish", "--source", "Bad", "--input", str(rows))
    assert code == 2 and "must be lower-case letters" in err


def test_a_source_name_ending_in_a_line_break_is_refused(monkeypatch, capsys, tmp_path):
    # (it passed the check, and Kafka refused its topic; bootstrap would have loaded it)
    rows = tmp_path / "r.csv"
    rows.write_text("record_id,last_name\n1,Okafor\n")
    code, _, err = run(monkeypatch, capsys, "publish", "--source", "housing\n", "--input",
                       str(rows))  # fmt: skip
    assert (code, err.count("\n")) == (2, 1) and "must be lower-case letters" in err, err
