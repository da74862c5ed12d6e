"""The Redis side of :class:`loop.storage.accounts.AccountStorage`.

A mixin of :class:`loop.storage.redis.RedisStorage`: it uses the backend's plumbing
(``_run`` for one EVALSHA per call); its scripts are ``lua/<name>.lua`` and its keys
those of :mod:`loop.storage.redis.keys` (the OAuth record shares its session's hash slot).
Account deletion finds the user's devices in ``u:{user}:sessions``, which the session
scripts maintain, and runs every concern's step (:data:`ACCOUNT_DELETION_STEPS`).
"""

from __future__ import annotations

from loop.storage.accounts import OAuthRecord
from loop.storage.redis import keys
from loop.storage.redis.codec import number
from loop.storage.redis.errors import wrap_redis_error as _wrap
from loop.storage.redis.plumbing import RedisPlumbing
from loop.storage.redis.scripts import load

START_OAUTH = load("start_oauth")
GET_OAUTH = load("get_oauth")
ROTATE_OAUTH_STATE = load("rotate_oauth_state")
SET_OAUTH_TOKEN = load("set_oauth_token")

ACCOUNT_DELETION_STEPS = (
    "delete_account_sessions",
    "delete_account_rooms",
    "delete_account_calls",
)
"""What forgetting a user removes, one ``lua/<step>.lua`` per concern that files data
under a user, run in this order in one script (``user`` and ``now`` in scope). A concern
that keeps per-user data adds its step here."""

DELETE_ACCOUNT = load("delete_account", "delete_account", *ACCOUNT_DELETION_STEPS)


class RedisAccountStorage(RedisPlumbing):
    @_wrap
    async def start_oauth(self, hawk_id_hmac: str, *, state: str, now: float, ttl: float) -> str:
        key = [keys.oauth(hawk_id_hmac)]
        stored: str = await self._run(START_OAUTH, key, number(now), state, number(now + ttl))
        return stored

    @_wrap
    async def get_oauth(self, hawk_id_hmac: str, *, now: float) -> OAuthRecord | None:
        state, state_expiry, token, token_expiry = await self._run(
            GET_OAUTH, [keys.oauth(hawk_id_hmac)], number(now)
        )
        if state is None or float(state_expiry) <= now:
            return None
        live_token = token if token is not None and float(token_expiry) > now else None
        return OAuthRecord(state=state, token=live_token)

    @_wrap
    async def rotate_oauth_state(
        self, hawk_id_hmac: str, *, state: str, now: float, ttl: float
    ) -> str | None:
        key = [keys.oauth(hawk_id_hmac)]
        previous: str | None = await self._run(
            ROTATE_OAUTH_STATE, key, number(now), state, number(now + ttl)
        )
        return previous

    @_wrap
    async def set_oauth_token(
        self, hawk_id_hmac: str, *, token: str, now: float, ttl: float
    ) -> None:
        key = [keys.oauth(hawk_id_hmac)]
        await self._run(SET_OAUTH_TOKEN, key, number(now), token, number(now + ttl))

    @_wrap
    async def delete_account(self, user: str, *, hawk_id_hmac: str, now: float) -> None:
        names = [keys.user(user, what) for what in ("sessions", "push", "rooms", "deleted")]
        await self._run(DELETE_ACCOUNT, names, number(now), user, hawk_id_hmac)
