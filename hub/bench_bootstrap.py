"""`hub bench bootstrap --records N`: time `hub bootstrap` on N simulated records.

The simulator's borough tops out near 100,000 residents (about 340,000 records: its
gazetteer runs out of postcodes beyond that), so N records come from several boroughs of
equal size with different seeds, kept apart as different places would be: record ids,
UPRNs and postcode districts are made distinct per borough (borough 0 is unchanged), and
a seeded sample of exactly N records is taken. People in different boroughs may still
share names, dates of birth and household e-mail addresses, as in any large city.

The model is trained once on a separate small borough (10,000 residents). Data and model
are cached in the data folder, so a rerun times the bootstrap alone. The bootstrap runs
against the stack's Redis under a fresh key prefix (removed afterwards) and a fresh
SQLite store in the data folder. The JSON line has the total and per-phase wall-clock and
CPU seconds, the peak memory, and the load average before and after (the machine is
shared: CPU seconds are the steadier figure). With ``--compare`` the in-process scorer
also scores Splink's candidate pairs, timed apart, and the two scorings are compared.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from hub.console import say
from hub.errors import UsageError
from hub.settings import Settings, load_settings

if TYPE_CHECKING:
    from sources.simulator import Simulation

RECORDS_PER_RESIDENT = 3.39  # measured on the simulator's boroughs (seed 1-3)
MAX_RESIDENTS = 100_000  # per borough: the simulator's postcodes run out beyond that
MODEL_RESIDENTS = 10_000
MODEL_SEED = 101
TARGET_S = 600.0  # the target for one million records
_AREAS = ("SE", "SW", "E", "W", "BR", "HA", "UB", "TW", "KT", "SM", "DA", "RM", "IG", "EN")


def _outward_map(area: str) -> Any:
    table: dict[str, str] = {}

    def mapped(outward: str) -> str:
        if outward not in table:
            table[outward] = f"{area}{len(table) + 1}"
        return table[outward]

    return mapped


def _relabel(row: dict[str, Any], borough: int, outward: Any) -> dict[str, Any]:
    """A record of borough ``borough`` made distinct from the other boroughs' records."""
    if borough == 0:
        return row
    system, _, own_id = row["record_id"].partition(":")
    row["record_id"] = f"{system}:B{borough}-{own_id}"
    if row.get("uprn"):
        row["uprn"] = f"{borough}{row['uprn']}"
    postcode = "".join((row.get("postcode") or "").split()).upper()
    if len(postcode) > 3:
        row["postcode"] = f"{outward(postcode[:-3])} {postcode[-3:]}"
    return row


def snapshot_rows(simulation: Simulation) -> list[dict[str, Any]]:
    """The simulation's snapshot as rows of source-record fields (empty ones left out)
    with ``source_version``: the version the record's last event carried, so that a
    bootstrap from these rows and the simulator's later events agree on versions."""
    versions: dict[str, int] = {}
    for change in simulation.person_changes:
        versions[change.record_id] = change.version
    rows = []
    for record in simulation.records.values():
        fields = orjson.loads(orjson.dumps(record.to_source_record()))
        row = {k: v for k, v in fields.items() if v is not None}
        row["source_version"] = versions[record.record_id]
        rows.append(row)
    return rows


def generate_records(records: int, out: Path, seed: int = 1) -> Path:
    """A Parquet file of exactly ``records`` simulated person records (see the module
    docstring), with a ``source_version`` column (the last version each record's
    events carried)."""
    from sources.simulator import SimulationConfig, simulate

    boroughs = max(1, math.ceil(records / (MAX_RESIDENTS * RECORDS_PER_RESIDENT)))
    residents = math.ceil(records / RECORDS_PER_RESIDENT / boroughs * 1.03)
    rows: list[dict[str, Any]] = []
    for borough in range(boroughs):
        say(f"simulating borough {borough + 1} of {boroughs}: {residents:,} residents")
        simulation = simulate(SimulationConfig(residents=residents, seed=seed + borough), day=1)
        outward = _outward_map(_AREAS[(borough - 1) % len(_AREAS)])
        rows.extend(_relabel(row, borough, outward) for row in snapshot_rows(simulation))
    if len(rows) < records:
        raise UsageError(f"the boroughs gave {len(rows):,} records, fewer than {records:,}")
    chosen = sorted(random.Random(seed).sample(range(len(rows)), records))  # noqa: S311
    return write_snapshot([rows[i] for i in chosen], out)


def write_snapshot(rows: list[dict[str, Any]], out: Path) -> Path:
    """Rows of source-record fields as a Parquet file (``source_version`` a number)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = sorted({k for row in rows for k in row})
    table = pa.table(
        {
            c: pa.array(
                [row.get(c) for row in rows],
                pa.int64() if c == "source_version" else pa.string(),
            )
            for c in columns
        }
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out)
    return out


def ensure_model(folder: Path) -> Path:
    """The benchmark's model, trained once on a small borough of its own."""
    from matchers.splink_adapter import train
    from matchers.standardise import standardise
    from sources.simulator import SimulationConfig, simulate

    path = folder / "model.json"
    if path.is_file():
        return path
    say(f"training the benchmark's model on a borough of {MODEL_RESIDENTS:,} residents")
    simulation = simulate(SimulationConfig(residents=MODEL_RESIDENTS, seed=MODEL_SEED), day=1)
    model = train([standardise(r.to_source_record()) for r in simulation.records.values()])
    folder.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return path


def bench_bootstrap(
    *,
    records: Annotated[int, typer.Option("--records", help="records to load", min=100)],
    as_json: Annotated[bool, typer.Option("--json", help="print only the JSON line")] = False,
    scorer: Annotated[str, typer.Option("--scorer", help="splink or hub")] = "splink",
    compare: Annotated[
        bool, typer.Option("--compare", help="also time the in-process scorer on Splink's pairs")
    ] = False,
    data: Annotated[
        Path | None, typer.Option("--data", help="folder for the cached data and model")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="seed of the first borough")] = 1,
) -> None:
    """Time `hub bootstrap` on N simulated records (target: 1,000,000 in 600 s)."""
    import redis

    from hub.bootstrap import Target, run_bootstrap
    from hub.wiring import redis_state, require_redis, store

    settings = load_settings()
    require_redis(settings)
    folder = data or settings.stack_dir / "bench-bootstrap"
    model_path = ensure_model(folder)
    records_path = folder / f"records-{records}-seed{seed}.parquet"
    if not records_path.is_file():
        generate_records(records, records_path, seed)
    run = folder / f"run-{uuid.uuid4().hex[:8]}"
    run.mkdir(parents=True)
    prefix = f"bench-bootstrap-{run.name}"
    bench_settings: Settings = settings.model_copy(
        update={
            "model_path": model_path,
            "redis_prefix": prefix,
            "database_url": f"sqlite:///{run / 'store.db'}",
        }
    )
    target = Target(redis_state(bench_settings), store(bench_settings))
    load_before = os.getloadavg()
    try:
        summary = run_bootstrap(
            [records_path],
            settings=bench_settings,
            target=target,
            scorer=scorer,
            compare_scorers=compare,
            show_progress=not as_json,
        )
    finally:
        client = redis.Redis.from_url(settings.redis_url)
        keys = list(client.scan_iter(f"{prefix}:*", count=1000))
        if keys:
            client.unlink(*keys)
        client.close()
        target.store.dispose()
        shutil.rmtree(run, ignore_errors=True)
    result: dict[str, Any] = {
        "benchmark": "bootstrap",
        **summary,
        "target_s": TARGET_S * records / 1_000_000,
        "meets_target": summary["seconds"] <= TARGET_S * records / 1_000_000,
        "cpu_count": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "data": str(records_path),
    }
    result.pop("rejected_reasons", None)
    if not as_json:
        say(
            f"bootstrapped {records:,} records in {summary['seconds']:.0f}s "
            f"({summary['records_per_second']:,} records/s); phases: "
            + ", ".join(f"{k} {v:.0f}s" for k, v in summary["phases_s"].items())
        )
    typer.echo(orjson.dumps(result).decode())
