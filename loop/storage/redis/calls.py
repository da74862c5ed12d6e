"""The Redis side of :class:`loop.storage.calls.CallStorage`.

A mixin of :class:`loop.storage.redis.RedisStorage`: it uses the backend's plumbing
(``_run`` for one EVALSHA per call); its scripts are ``lua/<name>.lua`` and its keys
those of :mod:`loop.storage.redis.keys`.

Progress scripts ``PUBLISH`` ``"<markers>|<reason>"`` on ``cp:<callId>`` when the markers
changed: the state change and its fan-out to every server process are one round trip.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from loop.storage.calls import (
    Call,
    CallCreated,
    CallProgress,
    CallSubscription,
    CallUrl,
    CallUrlNotFound,
    Listener,
    NotCallUrlOwner,
    Party,
)
from loop.storage.quotas import RateLimit
from loop.storage.redis import keys
from loop.storage.redis.codec import number
from loop.storage.redis.errors import wrap_redis_error as _wrap
from loop.storage.redis.plumbing import RedisPlumbing
from loop.storage.redis.pubsub import RedisHub
from loop.storage.redis.quotas import check, window_keys, window_spec
from loop.storage.redis.scripts import Script, load

CREATE_CALL_URL = load("create_call_url")
GET_LIVE = load("get_live")
LIST_CALL_URLS = load("list_call_urls")
CHANGE_CALL_URL = load("change_call_url")
CREATE_CALL = load("create_call")
LIST_CALLS = load("list_calls")


def _progress_script(name: str) -> Script:
    """A progress step between the shared head (is the call live? ``before``) and tail
    (publish the new count if it changed)."""
    return load(name, "progress_begin", name, "progress_end")


JOIN_CALL = _progress_script("join_call")
MARK_CALL = _progress_script("mark_call")
TERMINATE_CALL = _progress_script("terminate_call")
LEAVE_CALL = _progress_script("leave_call")


def _call_keys(call_id: str) -> list[str]:
    return [keys.call(call_id), keys.markers(call_id)]


def _encode_url(url: CallUrl) -> str:
    fields = {
        "token": url.token,
        "user": url.user,
        "issuer": url.issuer,
        "timestamp": url.timestamp,
        "expires": url.expires,
        "caller_id": url.caller_id,
        "subject": url.subject,
    }
    return json.dumps(fields, separators=(",", ":"))


def _decode_url(text: str) -> CallUrl:
    return CallUrl(**json.loads(text))


def _when(counts: Collection[int]) -> str:
    return "," + ",".join(str(count) for count in sorted(counts)) + ","


def _progress(reply: Any) -> CallProgress | None:
    if reply is None:
        return None
    before, after, reason = reply
    return CallProgress(markers=int(after), previous=int(before), reason=reason or None)


class RedisCallStorage(RedisPlumbing):
    # -- call URLs -------------------------------------------------------------------------

    @_wrap
    async def create_call_url(
        self, url: CallUrl, *, now: float, limits: Sequence[RateLimit] = ()
    ) -> None:
        names = [keys.call_url(url.token), keys.user(url.user, "urls"), *window_keys(limits)]
        args = (url.token, str(url.timestamp), str(url.expires), _encode_url(url))
        check(await self._run(CREATE_CALL_URL, names, number(now), *args, window_spec(limits)))

    @_wrap
    async def get_call_url(self, token: str, *, now: float) -> CallUrl | None:
        reply = await self._run(GET_LIVE, [keys.call_url(token)], number(now))
        return None if reply is None else _decode_url(reply)

    @_wrap
    async def list_call_urls(self, user: str, *, now: float) -> list[CallUrl]:
        replies = await self._run(LIST_CALL_URLS, [keys.user(user, "urls")], number(now), user)
        return [_decode_url(text) for text in replies]

    @_wrap
    async def update_call_url(self, url: CallUrl, *, now: float) -> None:
        put = ("put", str(url.timestamp), str(url.expires), _encode_url(url))
        await self._change_url(url.token, url.user, now, *put)

    @_wrap
    async def delete_call_url(self, token: str, *, user: str, now: float) -> None:
        await self._change_url(token, user, now, "delete")

    async def _change_url(self, token: str, user: str, now: float, *args: str) -> None:
        names = [keys.call_url(token), keys.user(user, "urls")]
        outcome = await self._run(CHANGE_CALL_URL, names, number(now), user, token, *args)
        if outcome == "notfound":
            raise CallUrlNotFound(token)
        if outcome == "owner":
            raise NotCallUrlOwner(token)

    # -- calls -----------------------------------------------------------------------------

    @_wrap
    async def create_call(
        self,
        call: Call,
        *,
        callees: Sequence[str],
        reachable_only: bool,
        now: float,
        limits: Sequence[RateLimit] = (),
    ) -> CallCreated:
        record = json.dumps(call.to_json(), separators=(",", ":"))
        reply = await self._run(
            CREATE_CALL,
            [*_call_keys(call.call_id), *window_keys(limits)],
            number(now),
            call.call_id,
            str(call.timestamp),
            number(call.expires_at),
            record,
            "1" if reachable_only else "0",
            window_spec(limits),
            *callees,
        )
        chosen, texts = check(reply)
        return CallCreated(tuple(chosen), tuple(json.loads(text) for text in texts))

    @_wrap
    async def get_call(self, call_id: str, *, now: float) -> Call | None:
        reply = await self._run(GET_LIVE, [keys.call(call_id)], number(now))
        return None if reply is None else Call.from_json(json.loads(reply))

    @_wrap
    async def list_calls(self, user: str, *, since: int, now: float) -> list[Call]:
        index = [keys.user(user, "calls")]
        replies = await self._run(LIST_CALLS, index, number(now), str(since))
        calls = [Call.from_json(json.loads(text)) for text in replies]
        return sorted(calls, key=lambda call: (call.timestamp, call.call_id))

    # -- progress --------------------------------------------------------------------------

    async def join_call(
        self, call_id: str, *, party: Party, marker: str, when: Collection[int], now: float
    ) -> CallProgress | None:
        return await self._step(JOIN_CALL, call_id, now, party, marker, _when(when))

    async def mark_call(
        self, call_id: str, *, marker: str, when: Collection[int], now: float
    ) -> CallProgress | None:
        return await self._step(MARK_CALL, call_id, now, marker, _when(when))

    async def terminate_call(
        self, call_id: str, *, reason: str | None, when: Collection[int], now: float
    ) -> CallProgress | None:
        return await self._step(TERMINATE_CALL, call_id, now, reason or "", _when(when))

    async def leave_call(
        self, call_id: str, *, party: Party, reason: str, now: float
    ) -> CallProgress | None:
        return await self._step(LEAVE_CALL, call_id, now, party, reason)

    @_wrap
    async def _step(
        self, script: Script, call_id: str, now: float, *args: str
    ) -> CallProgress | None:
        channel = keys.progress_channel(call_id)
        return _progress(await self._run(script, _call_keys(call_id), number(now), channel, *args))

    async def subscribe_call(self, call_id: str, listener: Listener) -> CallSubscription:
        self._count()
        return await self._call_hub().subscribe(keys.progress_channel(call_id), listener)

    def _call_hub(self) -> RedisHub[CallProgress]:
        hub: RedisHub[CallProgress] | None = getattr(self, "_calls_hub", None)
        if hub is None:
            hub = RedisHub(self._subscriber, decode=CallProgress.decode, timeout=self._timeout)
            self._calls_hub = hub
        return hub

    async def _close_call_hub(self) -> None:
        """Called by the backend's ``close``: stop the shared pub/sub reader."""
        hub: RedisHub[CallProgress] | None = getattr(self, "_calls_hub", None)
        if hub is not None:
            await hub.close()
