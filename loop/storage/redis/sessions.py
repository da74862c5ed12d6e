"""The Redis side of :class:`loop.storage.sessions.SessionStorage`.

A mixin of :class:`loop.storage.redis.RedisStorage`: it uses the backend's plumbing
(``_run`` for one EVALSHA per call); its scripts are ``lua/<method>.lua``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from loop.storage.quotas import RateLimit
from loop.storage.redis import codec, keys
from loop.storage.redis.codec import number
from loop.storage.redis.errors import wrap_redis_error
from loop.storage.redis.plumbing import RedisPlumbing
from loop.storage.redis.quotas import check, window_keys, window_spec
from loop.storage.redis.scripts import load
from loop.storage.sessions import NonceReplayed, PushTarget, Session, Topic, nonce_member

CREATE_SESSION = load("create_session")
AUTHENTICATE = load("authenticate")
BIND_IDENTITY = load("bind_identity")
DELETE_SESSION = load("delete_session")
REGISTER_PUSH = load("register_push")
UNREGISTER_PUSH = load("unregister_push")
PUSH_TARGETS = load("push_targets")


def _session_keys(hawk_id_hmac: str) -> list[str]:
    return [keys.session(hawk_id_hmac), keys.nonces(hawk_id_hmac)]


def _push_keys(session: Session) -> list[str]:
    return [keys.session(session.hawk_id_hmac), keys.user(session.user, "push")]


class RedisSessionStorage(RedisPlumbing):
    # -- Hawk sessions ---------------------------------------------------------------------

    @wrap_redis_error
    async def create_session(
        self,
        session: Session,
        *,
        now: float,
        ttl: float,
        limits: Sequence[RateLimit] = (),
        push: Mapping[Topic, PushTarget] | None = None,
    ) -> None:
        fields = codec.session_fields(session, now + ttl)
        names = [
            *_session_keys(session.hawk_id_hmac),
            *window_keys(limits),
            keys.user(session.user, "push"),
        ]
        pushed = "0" if push is None else "1"
        targets = codec.target_fields(push or {})
        spec = window_spec(limits)
        reply = await self._run(
            CREATE_SESSION, names, number(now), spec, str(len(fields)), pushed, *fields, *targets
        )
        check(reply)
        self.known_sessions.remember(session)

    @wrap_redis_error
    async def authenticate(
        self,
        hawk_id_hmac: str,
        *,
        timestamp: int,
        nonce: str,
        mac: str,
        now: float,
        ttl: float,
        nonce_until: float,
    ) -> Session | None:
        reply = await self._run(
            AUTHENTICATE,
            _session_keys(hawk_id_hmac),
            number(now),
            nonce_member(timestamp, nonce, mac),
            number(now + ttl),
            number(nonce_until),
        )
        if reply is None:
            return None
        if reply == "replayed":
            raise NonceReplayed()
        session = codec.session_from_reply(hawk_id_hmac, reply)
        self.known_sessions.remember(session)
        return session

    @wrap_redis_error
    async def bind_identity(
        self, hawk_id_hmac: str, *, user_mac: str, encrypted_identity: str, now: float, ttl: float
    ) -> None:
        await self._run(
            BIND_IDENTITY,
            [keys.session(hawk_id_hmac)],
            number(now),
            number(now + ttl),
            user_mac,
            encrypted_identity,
        )
        self.known_sessions.forget(hawk_id_hmac)

    @wrap_redis_error
    async def delete_session(self, hawk_id_hmac: str) -> None:
        await self._run(DELETE_SESSION, _session_keys(hawk_id_hmac), "0", hawk_id_hmac)
        self.known_sessions.forget(hawk_id_hmac)

    # -- push registrations ----------------------------------------------------------------

    @wrap_redis_error
    async def register_push(
        self, session: Session, targets: Mapping[Topic, PushTarget], *, now: float, ttl: float
    ) -> None:
        await self._run(
            REGISTER_PUSH,
            _push_keys(session),
            number(now),
            session.hawk_id_hmac,
            session.user,
            number(now + ttl),
            *codec.target_fields(targets),
        )

    @wrap_redis_error
    async def unregister_push(self, session: Session) -> None:
        await self._run(
            UNREGISTER_PUSH, _push_keys(session), "0", session.hawk_id_hmac, session.user
        )

    @wrap_redis_error
    async def push_targets(self, user: str, topic: Topic, *, now: float) -> list[PushTarget]:
        texts = await self._run(PUSH_TARGETS, [keys.user(user, "push")], number(now), user, topic)
        return list(codec.decode_targets(texts))
