"""The SQLite side of :class:`loop.storage.sessions.SessionStorage`.

A mixin of :class:`loop.storage.sqlite.SQLiteStorage`: it uses the backend's plumbing
(``_transaction``, ``_run``). Its tables (``sessions``, ``nonces``, ``push``) are in the
core schema of :mod:`loop.storage.sqlite.statements`, which the purge also reclaims.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from loop.storage.checks import SessionCheck, SessionCheckFailed, armed
from loop.storage.quotas import RateLimit
from loop.storage.sessions import NonceReplayed, PushTarget, Session, Topic, nonce_member
from loop.storage.sqlite.codec import dumps, json_list
from loop.storage.sqlite.errors import wrap_sqlite_error
from loop.storage.sqlite.plumbing import SQLitePlumbing
from loop.storage.sqlite.quotas import consume
from loop.storage.sqlite.statements import (
    BIND_IDENTITY,
    DELETE_NONCES_OF,
    DELETE_PUSH_OF,
    DELETE_SESSIONS,
    INSERT_SESSION,
    RECORD_NONCE,
    SELECT_TARGETS,
    TOUCH_SESSION,
    UNREGISTER_PUSH,
    UPSERT_PUSH,
)

IN_DEVICES = "IN (SELECT value FROM json_each(:devices))"
ACCOUNT_DELETION = (
    f"DELETE FROM push WHERE user = :user OR device {IN_DEVICES}",
    f"DELETE FROM nonces WHERE hawk_id_hmac {IN_DEVICES}",
    f"DELETE FROM sessions WHERE hawk_id_hmac {IN_DEVICES}",
)
"""This concern's step of account deletion (:mod:`loop.storage.sqlite.accounts`): the
user's push registrations, and the devices in ``:devices`` with their nonces."""


class SQLiteSessionStorage(SQLitePlumbing):
    # -- Hawk sessions ---------------------------------------------------------------------

    @wrap_sqlite_error
    async def create_session(
        self,
        session: Session,
        *,
        now: float,
        ttl: float,
        limits: Sequence[RateLimit] = (),
        push: Mapping[Topic, PushTarget] | None = None,
    ) -> None:
        with self._transaction(now=now):
            consume(self._run, limits, now)
            user, identity = session.user_mac, session.encrypted_identity
            params = (session.hawk_id_hmac, session.hawk_key, user, identity, now + ttl)
            self._run(INSERT_SESSION, params)
            if push is not None:
                self._upsert_push(session, push)
        self.known_sessions.remember(session)

    @wrap_sqlite_error
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
        member = nonce_member(timestamp, nonce, mac)
        with self._transaction(now=now):  # a replay rolls the touch back
            row = self._check_request(hawk_id_hmac, member, now, now + ttl, nonce_until)
        if row is None:
            return None
        session = Session(hawk_id_hmac, *row)
        self.known_sessions.remember(session)
        return session

    @wrap_sqlite_error
    async def check_session(self, check: SessionCheck) -> None:
        with armed(check), self._transaction():
            pass

    def _check_request(
        self, hawk_id_hmac: str, member: str, now: float, expiry: float, nonce_until: float
    ) -> tuple[str, str | None, str | None] | None:
        """In a write transaction: the live session's ``(key, user, identity)``, touched,
        its request recorded; ``None`` without a live session; :class:`NonceReplayed`
        (the caller rolls the touch back) for a request seen already."""
        row = self._run(TOUCH_SESSION, (expiry, hawk_id_hmac, now)).fetchone()
        if row is None:
            return None
        if nonce_until > now:
            recorded = self._run(RECORD_NONCE, (hawk_id_hmac, member, nonce_until, now))
            if recorded.rowcount == 0:
                raise NonceReplayed(hawk_id_hmac)
        return row  # type: ignore[no-any-return]

    def _carry_check(self, check: SessionCheck) -> None:
        """A request's session check, first in the transaction of its first storage call
        (:mod:`loop.storage.checks`); raises :class:`SessionCheckFailed`."""
        try:
            row = self._check_request(
                check.hawk_id_hmac,
                check.member,
                check.now,
                check.now + check.ttl,
                check.nonce_until,
            )
        except NonceReplayed:
            raise SessionCheckFailed(replayed=True) from None
        if row is None or row[1] != check.user_mac:
            self.known_sessions.forget(check.hawk_id_hmac)
            raise SessionCheckFailed(stale=row is not None)

    @wrap_sqlite_error
    async def bind_identity(
        self, hawk_id_hmac: str, *, user_mac: str, encrypted_identity: str, now: float, ttl: float
    ) -> None:
        with self._transaction(now=now):
            params = (user_mac, encrypted_identity, now + ttl, hawk_id_hmac, now)
            self._run(BIND_IDENTITY, params)
        self.known_sessions.forget(hawk_id_hmac)

    @wrap_sqlite_error
    async def delete_session(self, hawk_id_hmac: str) -> None:
        with self._transaction():
            for sql in (DELETE_PUSH_OF, DELETE_NONCES_OF, DELETE_SESSIONS):
                self._run(sql, (json_list([hawk_id_hmac]),))
        self.known_sessions.forget(hawk_id_hmac)

    # -- push registrations ----------------------------------------------------------------

    @wrap_sqlite_error
    async def register_push(
        self, session: Session, targets: Mapping[Topic, PushTarget], *, now: float, ttl: float
    ) -> None:
        """Rows carry no expiry: a target is live exactly while its device's session is."""
        with self._transaction(now=now):
            self._upsert_push(session, targets)

    def _upsert_push(self, session: Session, targets: Mapping[Topic, PushTarget]) -> None:
        encoded = json.dumps({topic: dumps(target) for topic, target in targets.items()})
        self._run(UPSERT_PUSH, (session.user, session.hawk_id_hmac, encoded))

    @wrap_sqlite_error
    async def unregister_push(self, session: Session) -> None:
        with self._transaction():
            self._run(UNREGISTER_PUSH, (session.user, session.hawk_id_hmac))

    @wrap_sqlite_error
    async def push_targets(self, user: str, topic: Topic, *, now: float) -> list[PushTarget]:
        with self._transaction():
            return [json.loads(row[1]) for row in self._run(SELECT_TARGETS, (user, topic, now))]
