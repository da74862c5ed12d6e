"""A seeded fuzz run over every HTTP endpoint of the Loop app, on both backends
(issue 12): ``LOOP_FUZZ_REQUESTS`` requests (10 000 by default), none answered 5xx, every
error the spec's JSON body.

The requests are mostly Hawk-signed with live sessions (a guest's, a BrowserID user's),
some with a participant's token, some anonymous, some with forged, stale or wrong-key
credentials; their paths name real rooms and links or hostile text, at ``/`` and under
``/v0``; their bodies are the API's own fields with good and hostile values, raw
literals JSON cannot round-trip, and malformed bytes. The app runs in a thread of its
own (an anyio portal) so Hypothesis draws in plain synchronous code.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import pytest
from anyio.from_thread import start_blocking_portal

from loop.app import create_app
from tests.fuzz.loop_world import ENDPOINTS, GOOD, PREFIXES, QUERIES, loop_targets, loop_world
from tests.fuzz.routes import missing
from tests.fuzz.runner import REQUESTS, fuzz
from tests.fuzz.values import rounds
from tests.support.app import make_settings
from tests.support.fxa_server import FxaServer
from tests.support.identities import Certifier

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")


@pytest.fixture(scope="module")
def certifier() -> Certifier:
    return Certifier.generate()


@pytest.fixture
def fxa() -> Iterator[FxaServer]:
    with FxaServer() as server:
        yield server


def test_every_route_has_a_strategy() -> None:
    """A new route without an entry in ``ENDPOINTS`` fails here, and the fuzz run would
    not start: no endpoint escapes it."""
    assert missing(create_app(make_settings("sqlite:///:memory:")), ENDPOINTS, PREFIXES) == set()


def test_no_request_gets_a_5xx(
    storage_url: str, certifier: Certifier, fxa: FxaServer, refused_port: int
) -> None:
    backend = storage_url.split(":", 1)[0]
    with start_blocking_portal() as portal:
        with portal.wrap_async_context_manager(
            loop_world(storage_url, certifier, fxa, refused_port)
        ) as (app, world):
            targets = loop_targets(app)

            fuzz(
                rounds(targets, GOOD, QUERIES), len(targets), partial(portal.call, world.send_all)
            )
    tally = world.tally
    print(tally.summary(backend))
    print("by credential and status:", dict(sorted(tally.credentials.items())))
    assert tally.failures == {}, "\n".join(f"{k}\n    {v}" for k, v in tally.failures.items())
    assert tally.requests >= REQUESTS
    assert set(tally.endpoints) == {target.name for target in targets}
