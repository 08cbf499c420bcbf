"""`hub person ID`: who a resident is, and who lives with them, as the store holds it now."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer

from hub.errors import HubError, UsageError
from hub.settings import load_settings


def person_command(
    wanted: Annotated[
        str,
        typer.Argument(
            metavar="ID",
            help="a person id (one merged into another is followed) or a source record id "
            "(<source_system>:<record id>)",
        ),
    ],
) -> None:
    """Print, as JSON, the person an id names: their golden record, identifiers (NHS, NI
    and pupil numbers, phones, emails) and source records by system, their household (its
    key, and every member with theirs) and the service groupings their records are in
    (family groups, claim units, council-tax accounts), each member resolved to a person.
    Reads the store the workers keep (HUB_DATABASE_URL); the output holds personal data."""
    from sinks.store import Store

    if not wanted.strip():
        raise UsageError("give a person id or a source record id (<source_system>:<record id>)")
    store = Store(load_settings().database_url, create=False)
    try:
        store.upgrade()
        found = store.person(wanted)
    finally:
        store.dispose()
    if found is None:
        raise HubError(f"the store holds no person or source record {wanted!r}")
    typer.echo(orjson.dumps(found).decode())
