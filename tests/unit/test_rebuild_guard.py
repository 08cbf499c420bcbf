"""`hub state rebuild` refuses a store that is not the workers' (it would empty the state),
and only such a store: in-memory stand-ins for the store and the Redis state."""

from __future__ import annotations

import pytest

from hub.errors import HubError
from hub.state_cli import _check_store_is_the_states

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


class Store:
    safe_url = "sqlite:///elsewhere/hub.db"

    def __init__(self, holds: bool) -> None:
        self.holds = holds

    def holds_anything(self) -> bool:
        return self.holds


class State:
    def __init__(self, version: int, pending: list[int]) -> None:
        self.version, self.pending = version, pending

    async def current_version(self) -> int:
        return self.version

    async def pending_outbox(self) -> list[tuple[int, bytes]]:
        return [(version, b"") for version in self.pending]


@pytest.mark.parametrize(
    ("holds", "version", "pending", "refused"),
    [
        (False, 7, [], True),  # another folder's store, or a typing error in the URL
        (False, 7, [6, 7], True),  # (batches 1 to 5 went to some other store)
        (False, 3, [1, 2, 3], False),  # no batch was ever stored: the rebuild stores them
        (False, 0, [], False),  # nothing to lose
        (True, 7, [], False),  # the workers' store
    ],
)
async def test_only_a_store_that_cannot_be_the_states_is_refused(
    holds: bool, version: int, pending: list[int], refused: bool
) -> None:
    check = _check_store_is_the_states(Store(holds), State(version, pending))
    if refused:
        with pytest.raises(HubError, match=r"holds nothing, but the identity state in Redis"):
            await check
    else:
        await check
