"""`hub review`: the review queue, and a person's judgement of a pair of records."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import orjson
import typer

from hub.console import say
from hub.errors import HubError, UsageError
from hub.settings import load_settings

app = typer.Typer(help="The review queue: list the open items, record a person's judgement.")

MOST_ITEMS = 1_000_000_000  # (a larger --limit overflows a database's LIMIT)


@app.command("list")
def list_command(
    limit: Annotated[
        int,
        typer.Option(
            "--limit", min=1, max=MOST_ITEMS, help="how many items to show, longest waiting first"
        ),
    ] = 20,
) -> None:
    """Print the open review items as JSON: how many there are, and the LIMIT waiting
    longest (since they were last raised), each with its two record ids, reason
    (review_band, weak_bridge, constraint_conflict or ambiguous), match weight,
    per-comparison explanation and model version. An item is open until its pair is
    judged: by a person (`hub review judge`), or by a source that relates the two records
    (two people)."""
    from sinks.store import Store

    store = Store(load_settings().database_url, create=False)
    try:
        store.upgrade()
        count, items = store.open_review_items(limit)
    finally:
        store.dispose()
    typer.echo(orjson.dumps({"open": count, "items": items}).decode())


@app.command("judge")
def judge_command(
    record_id: Annotated[str, typer.Argument(help="one record: <source_system>:<record id>")],
    other_record_id: Annotated[str, typer.Argument(help="the other record")],
    *,
    same: Annotated[bool, typer.Option("--same", help="the two records are one resident")] = False,
    different: Annotated[
        bool, typer.Option("--different", help="the two records are two residents")
    ] = False,
    by: Annotated[
        str | None, typer.Option("--by", help="who judges: a user name or staff id")
    ] = None,
    unseen: Annotated[
        bool,
        typer.Option(
            "--unseen", help="judge records the store does not hold (yet): applied on arrival"
        ),
    ] = False,
) -> None:
    """Record a person's judgement of two records on hub.judgements. The workers apply it
    as a hard constraint that later evidence never overrides: --different parts the two
    records' person, --same joins their persons. For one pair the judgement made last
    wins. Both records must be in the store, unless --unseen. Needs Kafka; a worker
    applies it when it runs."""
    from schemas import topics
    from schemas.events import JudgementRecorded
    from sources.cli import connect_publisher
    from streams.topology import ensure_topics
    from streams.validation import why_invalid

    if same == different or by is None:
        raise UsageError(
            "say whether they are one resident (--same) or two (--different), not both, "
            "and who judges (--by NAME)"
        )
    now = dt.datetime.now(dt.UTC)
    event = JudgementRecorded(
        event_id=str(uuid.uuid4()),
        judged_at=now,
        record_id=record_id,
        other_record_id=other_record_id,
        same=same,
        judged_by=by,
    )
    problem = why_invalid(event, topics.HUB_JUDGEMENTS, now.date())
    if problem is not None:
        raise UsageError(problem)
    settings = load_settings()
    if not unseen:
        _check_held(settings.database_url, (record_id, other_record_id))
    ensure_topics(settings)
    publisher = connect_publisher(settings)
    key = "|".join(sorted((record_id, other_record_id)))
    publisher.send(topics.HUB_JUDGEMENTS, key, event)
    totals = publisher.flush()
    if totals.failed:
        raise HubError(f"the judgement was not published: {totals.first_error}")
    verdict = "the same resident" if same else "two residents"
    say(f"published to {topics.HUB_JUDGEMENTS}: {record_id} and {other_record_id} are {verdict}")


def _check_held(database_url: str, record_ids: tuple[str, str]) -> None:
    """Refuse, in one line, a judgement naming a record the store does not hold."""
    from sinks.store import Store

    store = Store(database_url, create=False)
    try:
        store.upgrade()
        held = store.held_records(record_ids)
    finally:
        store.dispose()
    missing = [repr(r) for r in record_ids if r not in held]
    if missing:
        raise UsageError(
            f"the store holds no record {' or '.join(missing)} (a typing error? "
            "--unseen judges it anyway, to apply when it arrives)"
        )
    deleted = [repr(r) for r in record_ids if not held[r]]
    if deleted:
        whose = (
            "was deleted by its source" if len(deleted) == 1 else "were deleted by their sources"
        )
        raise UsageError(
            f"{' and '.join(deleted)} {whose} (--unseen judges anyway, to apply if it comes back)"
        )
