"""Contract of :class:`loop.storage.calls.CallStorage`, run against every backend: call
URLs (loop-api.md §4.10, D12), calls (§4.11) and call progress (§6.4)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from loop.storage import Storage
from loop.storage.calls import (
    Call,
    CallProgress,
    CallUrl,
    CallUrlNotFound,
    NotCallUrlOwner,
)
from loop.storage.quotas import RateLimit
from loop.storage.testing.factories import T0, canonical, make_session, open_session

RATE = (RateLimit(key="hawk-1", limit=3, period=60),)
LIVE = range(1, 7)


def make_url(token: str = "url-1", *, user: str = "alice", **changes: Any) -> CallUrl:
    url = CallUrl(token=token, user=user, issuer="Alice", timestamp=T0, expires=T0 + 3600)
    return dataclasses.replace(url, **changes)


def make_call(call_id: str = "call-1", *, timestamp: int = T0, ttl: float = 60) -> Call:
    return Call(
        call_id=call_id,
        call_type="audio-video",
        timestamp=timestamp,
        expires_at=timestamp + ttl,
        api_key="key",
        session_id="session",
        callee_token="callee-media-token",
        ws_caller_token=f"ws-caller-{call_id}",
        ws_callee_token=f"ws-callee-{call_id}",
        caller_id="alice@example.com",
        subject="hi",
    )


async def reachable(storage: Storage, user: str, target: str) -> None:
    """Give ``user`` a device with a ``calls`` push target."""
    await open_session(
        storage, make_session(f"dev-{user}", user_mac=user), targets={"calls": target}
    )


class CallUrlContract:
    async def test_created_url_is_read_back(self, storage: Storage) -> None:
        await storage.create_call_url(make_url(subject="s", caller_id="c"), now=T0, limits=RATE)
        assert await storage.get_call_url("url-1", now=T0) == make_url(subject="s", caller_id="c")

    async def test_url_lives_until_expires(self, storage: Storage) -> None:
        await storage.create_call_url(make_url(), now=T0, limits=RATE)
        assert await storage.get_call_url("url-1", now=T0 + 3599) is not None
        assert await storage.get_call_url("url-1", now=T0 + 3600) is None
        assert await storage.list_call_urls("alice", now=T0 + 3600) == []

    async def test_listing_is_per_user_by_timestamp(self, storage: Storage) -> None:
        for token, stamp, user in (
            ("b", T0 + 2, "alice"),
            ("a", T0 + 5, "alice"),
            ("c", T0, "bob"),
        ):
            url = make_url(token, user=user, timestamp=stamp)
            await storage.create_call_url(url, now=T0, limits=RATE)
        listed = await storage.list_call_urls("alice", now=T0)
        assert [url.token for url in listed] == ["b", "a"]

    async def test_update_overwrites_the_owners_url(self, storage: Storage) -> None:
        await storage.create_call_url(make_url(subject="old"), now=T0, limits=RATE)
        new = make_url(issuer="", timestamp=T0 + 5, expires=T0 + 99)
        await storage.update_call_url(new, now=T0 + 5)
        assert await storage.get_call_url("url-1", now=T0 + 5) == new

    async def test_update_and_delete_check_existence_then_owner(self, storage: Storage) -> None:
        with pytest.raises(CallUrlNotFound):
            await storage.update_call_url(make_url(), now=T0)
        with pytest.raises(CallUrlNotFound):
            await storage.delete_call_url("url-1", user="alice", now=T0)
        await storage.create_call_url(make_url(), now=T0, limits=RATE)
        with pytest.raises(NotCallUrlOwner):
            await storage.update_call_url(make_url(user="bob"), now=T0)
        with pytest.raises(NotCallUrlOwner):
            await storage.delete_call_url("url-1", user="bob", now=T0)
        await storage.delete_call_url("url-1", user="alice", now=T0)
        assert await storage.get_call_url("url-1", now=T0) is None
        assert await storage.list_call_urls("alice", now=T0) == []


class CallsContract:
    async def test_call_goes_to_reachable_callees_only(self, storage: Storage) -> None:
        await reachable(storage, "bob", "http://push/bob")
        created = await storage.create_call(
            make_call(), callees=["bob", "carol"], reachable_only=True, now=T0
        )
        assert created.callees == ("bob",)
        assert canonical(created.push_targets) == canonical(["http://push/bob"])
        assert await storage.get_call("call-1", now=T0) == make_call()
        assert await storage.list_calls("carol", since=0, now=T0) == []

    async def test_nobody_reachable_stores_nothing(self, storage: Storage) -> None:
        created = await storage.create_call(
            make_call(), callees=["carol"], reachable_only=True, now=T0
        )
        assert created.callees == ()
        assert await storage.get_call("call-1", now=T0) is None

    async def test_link_calls_are_filed_without_push_targets(self, storage: Storage) -> None:
        created = await storage.create_call(
            make_call(), callees=["alice"], reachable_only=False, now=T0
        )
        assert created == type(created)(("alice",), ())
        assert await storage.list_calls("alice", since=0, now=T0) == [make_call()]

    async def test_listing_filters_version_expiry_and_termination(self, storage: Storage) -> None:
        for i in range(3):
            call = make_call(f"call-{i}", timestamp=T0 + i)
            await storage.create_call(call, callees=["alice"], reachable_only=False, now=T0 + i)
        listed = await storage.list_calls("alice", since=T0 + 1, now=T0 + 2)
        assert [call.call_id for call in listed] == ["call-1", "call-2"]
        await storage.terminate_call("call-2", reason="cancel", when=LIVE, now=T0 + 3)
        listed = await storage.list_calls("alice", since=0, now=T0 + 3)
        assert [call.call_id for call in listed] == ["call-0", "call-1"]
        alive = await storage.list_calls("alice", since=0, now=T0 + 60)
        assert alive == [make_call("call-1", timestamp=T0 + 1)]
        assert await storage.get_call("call-0", now=T0 + 60) is None


class ProgressContract:
    async def _call(self, storage: Storage) -> None:
        await storage.create_call(make_call(), callees=["bob"], reachable_only=False, now=T0)

    async def test_markers_count_and_duplicates_do_not(self, storage: Storage) -> None:
        await self._call(storage)
        first = await storage.join_call(
            "call-1", party="caller", marker="init.caller", when={1, 2}, now=T0
        )
        assert first == CallProgress(markers=2, previous=1)
        again = await storage.join_call(
            "call-1", party="caller", marker="init.caller", when={1, 2}, now=T0
        )
        assert again == CallProgress(markers=2, previous=2)
        refused = await storage.mark_call("call-1", marker="connecting", when={3}, now=T0)
        assert refused == CallProgress(markers=2, previous=2)

    async def test_terminate_keeps_the_first_reason(self, storage: Storage) -> None:
        await self._call(storage)
        done = await storage.terminate_call("call-1", reason="busy", when=LIVE, now=T0)
        assert done == CallProgress(markers=0, previous=1, reason="busy")
        later = await storage.terminate_call("call-1", reason="cancel", when=LIVE, now=T0)
        assert later == CallProgress(markers=0, previous=0, reason="busy")
        assert await storage.mark_call("call-1", marker="x", when=LIVE, now=T0) == later

    async def test_conditional_terminate(self, storage: Storage) -> None:
        await self._call(storage)
        kept = await storage.terminate_call("call-1", reason="timeout", when={2}, now=T0)
        assert kept == CallProgress(markers=1, previous=1)

    async def test_last_device_leaving_terminates(self, storage: Storage) -> None:
        await self._call(storage)
        for _ in range(2):
            await storage.join_call("call-1", party="callee", marker="m", when=(), now=T0)
        left = await storage.leave_call("call-1", party="callee", reason="closed", now=T0)
        assert left == CallProgress(markers=1, previous=1)
        last = await storage.leave_call("call-1", party="callee", reason="closed", now=T0)
        assert last == CallProgress(markers=0, previous=1, reason="closed")

    async def test_steps_on_dead_calls_answer_none(self, storage: Storage) -> None:
        assert await storage.mark_call("nope", marker="m", when=LIVE, now=T0) is None
        await self._call(storage)
        assert await storage.leave_call("call-1", party="caller", reason="x", now=T0 + 60) is None

    async def test_subscribers_see_changes_in_order(self, storage: Storage) -> None:
        await self._call(storage)
        seen: list[CallProgress] = []
        subscription = await storage.subscribe_call("call-1", seen.append)
        try:
            await storage.mark_call("call-1", marker="a", when=LIVE, now=T0)
            await storage.mark_call("call-1", marker="a", when=LIVE, now=T0)
            await storage.terminate_call("call-1", reason="cancel", when=LIVE, now=T0)
            await _until(lambda: len(seen) >= 2)
        finally:
            await subscription.close()
        assert [(p.markers, p.reason) for p in seen] == [(2, None), (0, "cancel")]

    async def test_closed_subscription_hears_nothing(self, storage: Storage) -> None:
        await self._call(storage)
        seen: list[CallProgress] = []
        kept: list[CallProgress] = []
        subscription = await storage.subscribe_call("call-1", seen.append)
        other = await storage.subscribe_call("call-1", kept.append)
        await subscription.close()
        await subscription.close()
        await storage.mark_call("call-1", marker="a", when=LIVE, now=T0)
        await _until(lambda: len(kept) == 1)
        await other.close()
        assert seen == []


async def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll (pub/sub delivery is asynchronous on Redis) until ``condition()`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "timed out waiting for pub/sub delivery"
        await asyncio.sleep(0.01)


class CallContract(CallUrlContract, CallsContract, ProgressContract):
    pass


FAULT_CALLS: dict[str, Callable[[Storage], Awaitable[Any]]] = {
    "create_call_url": lambda s: s.create_call_url(make_url(), now=T0, limits=RATE),
    "get_call_url": lambda s: s.get_call_url("url-1", now=T0),
    "list_call_urls": lambda s: s.list_call_urls("alice", now=T0),
    "update_call_url": lambda s: s.update_call_url(make_url(), now=T0),
    "delete_call_url": lambda s: s.delete_call_url("url-1", user="alice", now=T0),
    "create_call": lambda s: s.create_call(
        make_call(), callees=["bob"], reachable_only=True, now=T0
    ),
    "get_call": lambda s: s.get_call("call-1", now=T0),
    "list_calls": lambda s: s.list_calls("bob", since=0, now=T0),
    "join_call": lambda s: s.join_call(
        "call-1", party="caller", marker="init.caller", when=LIVE, now=T0
    ),
    "mark_call": lambda s: s.mark_call("call-1", marker="connecting", when=LIVE, now=T0),
    "terminate_call": lambda s: s.terminate_call("call-1", reason=None, when=LIVE, now=T0),
    "leave_call": lambda s: s.leave_call("call-1", party="callee", reason="closed", now=T0),
    "subscribe_call": lambda s: s.subscribe_call("call-1", lambda progress: None),
}
"""Every :class:`~loop.storage.calls.CallStorage` method, for the fault tests."""
