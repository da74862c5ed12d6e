"""A process whose secrets diverged from the store's (decisions D31) refuses new signalling
sockets as unavailable: a token signed by another process would otherwise look forged."""

from __future__ import annotations

from loop.signalling.messages import CLOSE_UNAVAILABLE
from loop.storage.testing.lifecycle import held_by_another
from tests.signalling.conftest import ServerFactory
from tests.support.signalling import SignalSocket


async def test_new_sockets_are_refused_as_unavailable_while_the_secrets_diverged(
    live_server: ServerFactory,
) -> None:
    async with live_server() as server:
        _, room = await server.room()
        guest = await server.join(room)
        async with SignalSocket.open(server.url()) as before:
            await before.hello(guest.token)

        await held_by_another(server.services.storage)
        assert await server.services.storage.check_secrets() is False
        async with SignalSocket.open(server.url()) as socket:
            await socket.expect_refused("unavailable", CLOSE_UNAVAILABLE)
