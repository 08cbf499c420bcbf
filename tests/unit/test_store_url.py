"""A store setting the hub cannot use is one line naming HUB_DATABASE_URL and what is wrong
with it, never its value (it may hold a password)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub import cli

pytestmark = pytest.mark.unit


def review_list(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, url: str
) -> tuple[int | str | None, str]:
    monkeypatch.chdir(tmp_path)  # (no developer's .env)
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    monkeypatch.setattr("sys.argv", ["hub", "review", "list"])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    out, err = capsys.readouterr()
    assert out == ""
    return exited.value.code, err


def test_a_value_that_is_not_a_url_is_not_echoed(monkeypatch, capsys, tmp_path):
    code, err = review_list(monkeypatch, capsys, tmp_path, "hub:S3cretPw@db.example/hub")
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("error: HUB_DATABASE_URL is not a database URL (")
    assert "S3cretPw" not in err and "db.example" not in err


@pytest.mark.parametrize(
    ("port", "says"),
    [
        ("abc", "port is not a number"),
        ("99999", "port is not from 1 to 65535"),
        ("0", "1 to 65535"),
    ],
)
def test_a_port_that_is_not_a_port_is_named(monkeypatch, capsys, tmp_path, port, says):
    url = f"postgresql+psycopg://u:S3cretPw@db.example:{port}/x"
    code, err = review_list(monkeypatch, capsys, tmp_path, url)
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("error: HUB_DATABASE_URL ") and says in err
    assert "S3cretPw" not in err


@pytest.mark.parametrize(
    "url",
    [
        "mysql://u:S3cretPw@h/x",  # a backend the hub does not keep its store in
        "postgres://u:S3cretPw@h/x",  # (SQLAlchemy's name is postgresql)
        "postgresql+nodriver://u:S3cretPw@h/x",  # no such driver
        "postgresql+psycopg2://u:S3cretPw@h/x",  # a driver not installed
        "postgresql+psycopg_async://u:S3cretPw@127.0.0.1:1/x",  # an asyncio driver
        "sqlite+pysqlcipher:///hub.db",
    ],
)
def test_a_database_the_hub_cannot_use_names_those_it_can(monkeypatch, capsys, tmp_path, url):
    (tmp_path / "hub.db").touch()  # (the driver is refused before the file is looked for)
    code, err = review_list(monkeypatch, capsys, tmp_path, url)
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("error: HUB_DATABASE_URL ") and "SQLite" in err and "PostgreSQL" in err
    assert "S3cretPw" not in err
