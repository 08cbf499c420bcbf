"""A whole identity state written into Redis at once (for `hub bootstrap`).

Workers change the state one commit at a time (:mod:`sinks.redis_state`); a bulk load
instead writes every table of a complete state, in the same layout (one hash per table,
the fields and values :func:`sinks.redis_state.encoded_fields` makes), so that a worker's
``load`` reads it as if the stream had built it. The load is atomic for the workers:

1. take the state lock (kept alive while the load runs) and check that the state is
   still at the version the caller planned for;
2. write every table into staging keys (``<prefix>:staging:t:<table>``) with pipelined
   ``HSET`` s: the live state is untouched meanwhile;
3. swap in one MULTI/EXEC, guarded by WATCH on the lock and the version (the lock renewed
   just before and no longer in the background: a renewal would abort it): drop the live
   tables (``UNLINK``, freed in the background), rename the staging keys over them, set
   the new version, and drop the change log and the outbox (they describe the old state);
4. release the lock.

A worker whose replica is older than the new version finds no change-log entries to catch
up with and reloads the whole state. A load that fails before the swap leaves the live
state as it was (and staging keys, which the next load clears first).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from redis.exceptions import WatchError

from sinks.redis_state import TABLE_BY_NAME, TABLES, RedisState, StateConflict, encoded_fields

FIELDS_PER_COMMAND = 1000  # fields per HSET
FIELDS_PER_ROUND_TRIP = 50_000  # fields sent before waiting for Redis's answers
LOCK_TTL_S = 30.0
_RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
)

Rows = Iterable[tuple[str, Any]]  # (key, value) of one table; values as the replica holds them


@dataclass(frozen=True)
class StateSummary:
    """What a state holds, enough to tell an empty one."""

    version: int
    records: int
    keys: int  # fields over every table
    outbox: int

    @property
    def empty(self) -> bool:
        return self.version == 0 and self.keys == 0 and self.outbox == 0


async def summarise(redis_state: RedisState) -> StateSummary:
    client = redis_state.client
    async with client.pipeline(transaction=False) as pipe:
        pipe.get(redis_state.version_key)
        pipe.hlen(redis_state.outbox_key)
        for table in TABLES:
            pipe.hlen(redis_state.table_key(table.name))
        version, outbox, *sizes = await pipe.execute()
    by_name = dict(zip((t.name for t in TABLES), sizes, strict=True))
    return StateSummary(int(version or 0), int(by_name["records"]), sum(sizes), int(outbox))


def staging_key(redis_state: RedisState, table: str) -> str:
    return f"{redis_state.prefix}:staging:t:{table}"


class Lease:
    """The state lock, held for a long job (a bulk load, a rebuild): renewed every third
    of its TTL in the background until the job settles it or ends."""

    def __init__(self, state: RedisState, token: str, ttl_s: float) -> None:
        self.state = state
        self.token = token
        self.ttl_s = ttl_s
        self.lost = False
        self._keeper: asyncio.Task[None] | None = None

    async def renew(self) -> None:
        renewed = await self.state.client.eval(
            _RENEW, 1, self.state.lock_key, self.token, int(self.ttl_s * 1000)
        )
        if not renewed:
            self.lost = True
            raise StateConflict("the identity state lock was lost (it expired)")

    async def _keep(self) -> None:
        with contextlib.suppress(StateConflict):  # (lost: the job finds out when it checks)
            while True:
                await asyncio.sleep(self.ttl_s / 3)
                await self.renew()

    def start(self) -> None:
        self._keeper = asyncio.ensure_future(self._keep())

    async def stop(self) -> None:
        """Stop renewing in the background."""
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
            self._keeper = None

    async def settle(self) -> None:
        """Stop renewing in the background, with the lock renewed now for a whole TTL:
        before the job's last transaction, which WATCHes the lock key. A renewal between
        its WATCH and EXEC would abort it (a bulk load once failed so, at its very end)."""
        await self.stop()
        await self.renew()


@contextlib.asynccontextmanager
async def held_lock(state: RedisState, ttl_s: float = LOCK_TTL_S) -> AsyncIterator[Lease]:
    """Hold the state lock for the body, renewed (see :class:`Lease`) until it ends."""
    lease = Lease(state, await state.acquire(ttl_s=ttl_s), ttl_s)
    lease.start()
    try:
        yield lease
    finally:
        await lease.stop()
        await state.release(lease.token)


def _hset(key: bytes, fields: list[tuple[bytes, bytes]]) -> bytes:
    """One ``HSET key field value ...`` in the Redis protocol (RESP)."""
    head = b"*%d\r\n$4\r\nHSET\r\n$%d\r\n%b\r\n" % (2 + 2 * len(fields), len(key), key)
    return head + b"".join(
        b"$%d\r\n%b\r\n$%d\r\n%b\r\n" % (len(f), f, len(v), v) for f, v in fields
    )


async def _stage(
    redis_state: RedisState, name: str, rows: Rows, progress: Callable[[int], None]
) -> int:
    """Write one table's rows into its staging key; how many fields (``progress`` is told
    how many rows: a member-wise table has a field per member).

    The commands are framed here and sent on one connection, a round trip of
    :data:`FIELDS_PER_ROUND_TRIP` fields at a time: redis-py's asyncio pipeline frames
    every argument in Python, which took longer than encoding the values."""
    key = staging_key(redis_state, name).encode()
    pool = redis_state.client.connection_pool
    connection = await pool.get_connection()
    written = rows_seen = rows_told = 0

    def counted() -> Rows:
        nonlocal rows_seen
        for row in rows:
            rows_seen += 1
            yield row

    try:
        commands: list[bytes] = []
        fields: list[tuple[bytes, bytes]] = []
        pending = 0

        async def flush() -> None:
            nonlocal written, pending, commands, rows_told
            if fields:
                commands.append(_hset(key, fields))
                fields.clear()
            if not commands:
                return
            await connection.send_packed_command(commands)
            for _ in commands:
                await connection.read_response()
            written += pending
            progress(rows_seen - rows_told)
            rows_told = rows_seen
            commands, pending = [], 0

        for field, value in encoded_fields(TABLE_BY_NAME[name], counted()):
            fields.append((field, value))
            pending += 1
            if len(fields) >= FIELDS_PER_COMMAND:
                commands.append(_hset(key, fields))
                fields.clear()
                if pending >= FIELDS_PER_ROUND_TRIP:
                    await flush()
        await flush()
        progress(rows_seen - rows_told)  # rows without a field (an empty set)
    finally:
        await pool.release(connection)
    return written


async def write_state(
    redis_state: RedisState,
    tables: Mapping[str, Rows],
    *,
    expected_version: int,
    new_version: int,
    configuration: Mapping[str, Any],
    progress: Callable[[int], None] = lambda _n: None,
) -> int:
    """Replace the whole state with ``tables`` (table name -> rows; tables left out end up
    empty) as ``new_version``, built under ``configuration`` (see
    :attr:`matchers.resolver.Resolver.configuration`), if the state is still at
    ``expected_version``. Returns the new version. ``progress`` is told how many fields
    were written, as they are."""
    if new_version <= expected_version:
        raise ValueError("a bulk load's version must be above the state's")
    unknown = set(tables) - set(TABLE_BY_NAME)
    if unknown:
        raise ValueError(f"unknown state tables: {', '.join(sorted(unknown))}")
    client = redis_state.client
    async with held_lock(redis_state) as lease:
        if await redis_state.current_version() != expected_version:
            raise StateConflict("the identity state changed while the bulk load was prepared")
        staged = [staging_key(redis_state, t.name) for t in TABLES]
        await client.delete(*staged)
        filled = [name for name, rows in tables.items() if await _stage(
            redis_state, name, rows, progress
        )]  # fmt: skip
        try:
            await lease.settle()
            async with client.pipeline(transaction=True) as pipe:
                await pipe.watch(redis_state.lock_key, redis_state.version_key)
                held = await pipe.get(redis_state.lock_key)
                current = int(await pipe.get(redis_state.version_key) or 0)
                if held is None or held.decode() != lease.token or current != expected_version:
                    raise StateConflict("the identity state lock expired during a bulk load")
                pipe.multi()
                for table in TABLES:
                    pipe.unlink(redis_state.table_key(table.name))
                for name in filled:
                    pipe.rename(staging_key(redis_state, name), redis_state.table_key(name))
                pipe.set(redis_state.version_key, new_version)
                pipe.set(redis_state.configuration_key, orjson.dumps(configuration))
                pipe.unlink(redis_state.log_key, redis_state.outbox_key)
                await pipe.execute()
        except WatchError:
            raise StateConflict("the identity state changed during a bulk load") from None
        finally:
            await client.delete(*staged)
    return new_version
