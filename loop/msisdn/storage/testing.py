"""The gateway storage contract: ``tests/msisdn/test_storage_*.py`` subclass
:class:`GatewayStorageContract` and provide two fixtures, ``storage`` (fresh and empty)
and ``broken_storage`` (whose backend is gone). Time only moves through ``now``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from loop.msisdn.storage import (
    BackendError,
    BindOutcome,
    CodeOutcome,
    Credentials,
    GatewayStorage,
)

T0 = 1_700_000_000.0
DAY = 86400.0
ID = "a" * 64
OTHER = "b" * 64


async def registered(storage: GatewayStorage, hawk_id_hmac: str = ID) -> None:
    await storage.create_session(hawk_id_hmac, hawk_key="key-1", now=T0, ttl=DAY)


async def bound(
    storage: GatewayStorage, msisdn_mac: str = "m1", code_mac: str = "c1", now: float = T0
) -> BindOutcome:
    return await storage.bind(
        ID,
        msisdn_mac=msisdn_mac,
        cipher_msisdn=f"cipher-{msisdn_mac}",
        code_mac=code_mac,
        now=now,
        ttl=DAY,
        require_session=False,
    )


async def check(storage: GatewayStorage, code_mac: str, now: float = T0 + 1) -> CodeOutcome:
    result = await storage.check_code(
        ID, code_mac=code_mac, hawk_key="key-1", now=now, max_tries=3
    )
    return result.outcome


class SessionsContract:
    async def test_session_credentials_until_expiry(self, storage: GatewayStorage) -> None:
        await registered(storage)
        assert await storage.credentials(ID, now=T0 + DAY - 1) == Credentials("key-1", False)
        assert await storage.credentials(ID, now=T0 + DAY) is None
        assert await storage.credentials(OTHER, now=T0) is None

    async def test_verified_session_falls_back_to_certificate(
        self, storage: GatewayStorage
    ) -> None:
        await registered(storage)
        await bound(storage)
        assert await check(storage, "c1") is CodeOutcome.VERIFIED
        assert await storage.credentials(ID, now=T0 + 10 * DAY) == Credentials("key-1", True)

    async def test_unregister_forgets_everything(self, storage: GatewayStorage) -> None:
        await registered(storage)
        await bound(storage)
        await check(storage, "c1")
        await storage.unregister(ID)
        await storage.unregister(ID)
        assert await storage.credentials(ID, now=T0) is None
        assert await storage.use_certificate(ID, now=T0) is None

    async def test_secrets_keep_the_first_value(self, storage: GatewayStorage) -> None:
        assert await storage.ensure_secrets({"a": "1"}) == {"a": "1"}
        assert await storage.ensure_secrets({"a": "2", "b": "3"}) == {"a": "1", "b": "3"}


class BindingContract:
    async def test_bind_requires_a_live_session_when_asked(self, storage: GatewayStorage) -> None:
        outcome = await storage.bind(
            ID, msisdn_mac="m", cipher_msisdn="c", code_mac="x", now=T0, ttl=DAY,
            require_session=True,
        )  # fmt: skip
        assert outcome is BindOutcome.NO_SESSION
        await registered(storage)
        outcome = await storage.bind(
            ID, msisdn_mac="m", cipher_msisdn="c", code_mac="x", now=T0, ttl=DAY,
            require_session=True,
        )  # fmt: skip
        assert outcome is BindOutcome.BOUND

    async def test_one_number_per_session(self, storage: GatewayStorage) -> None:
        assert await bound(storage, "m1", "c1") is BindOutcome.BOUND
        assert await bound(storage, "m1", "c2") is BindOutcome.BOUND
        assert await bound(storage, "m2", "c3") is BindOutcome.OTHER_NUMBER
        assert await check(storage, "c3") is CodeOutcome.WRONG
        assert await check(storage, "c2") is CodeOutcome.VERIFIED

    async def test_binding_expires(self, storage: GatewayStorage) -> None:
        await bound(storage, "m1")
        assert await bound(storage, "m2", now=T0 + DAY) is BindOutcome.BOUND


class CodesContract:
    async def test_no_code(self, storage: GatewayStorage) -> None:
        assert await check(storage, "c1") is CodeOutcome.NO_CODE

    async def test_wrong_tries_delete_the_code(self, storage: GatewayStorage) -> None:
        await bound(storage)
        assert [await check(storage, "bad") for _ in range(3)] == [CodeOutcome.WRONG] * 3
        assert await check(storage, "c1") is CodeOutcome.NO_CODE

    async def test_new_code_resets_the_counter(self, storage: GatewayStorage) -> None:
        await bound(storage)
        assert await check(storage, "bad") is CodeOutcome.WRONG
        assert await check(storage, "bad") is CodeOutcome.WRONG
        await bound(storage, code_mac="c2")
        assert await check(storage, "bad") is CodeOutcome.WRONG
        assert await check(storage, "bad") is CodeOutcome.WRONG
        assert await check(storage, "c2") is CodeOutcome.VERIFIED

    async def test_code_expires(self, storage: GatewayStorage) -> None:
        await bound(storage)
        assert await check(storage, "c1", now=T0 + DAY) is CodeOutcome.NO_CODE

    async def test_verification_writes_the_certificate_record(
        self, storage: GatewayStorage
    ) -> None:
        await registered(storage)
        await bound(storage)
        result = await storage.check_code(
            ID, code_mac="c1", hawk_key="key-1", now=T0 + 1, max_tries=3
        )
        assert result.cipher_msisdn == "cipher-m1"
        assert await check(storage, "c1") is CodeOutcome.NO_CODE
        record = await storage.use_certificate(ID, now=T0 + 5)
        assert record is not None
        assert (record.cipher_msisdn, record.hawk_key) == ("cipher-m1", "key-1")
        assert (record.created_at, record.last_updated_at) == (
            int((T0 + 1) * 1000),
            int((T0 + 5) * 1000),
        )


class RatesContract:
    async def test_fixed_window_counts(self, storage: GatewayStorage) -> None:
        counts = [await storage.hit("ip:1", now=T0 + i, period=60) for i in range(3)]
        end = (T0 // 60 + 1) * 60
        assert counts == [(1, end), (2, end), (3, end)]
        assert await storage.hit("ip:2", now=T0, period=60) == (1, end)
        assert await storage.hit("ip:1", now=end, period=60) == (1, end + 60)


Call = Callable[[GatewayStorage], Awaitable[Any]]
CALLS: dict[str, Call] = {
    "ensure_secrets": lambda s: s.ensure_secrets({"a": "1"}),
    "create_session": lambda s: s.create_session(ID, hawk_key="k", now=T0, ttl=1),
    "credentials": lambda s: s.credentials(ID, now=T0),
    "bind": bound,
    "check_code": lambda s: check(s, "c"),
    "use_certificate": lambda s: s.use_certificate(ID, now=T0),
    "unregister": lambda s: s.unregister(ID),
    "hit": lambda s: s.hit("b", now=T0, period=1),
    "flush": lambda s: s.flush(),
}


class FaultContract:
    @pytest.mark.parametrize("method", sorted(CALLS))
    async def test_backend_failure_raises_backend_error(
        self, broken_storage: GatewayStorage, method: str
    ) -> None:
        with pytest.raises(BackendError):
            await CALLS[method](broken_storage)

    async def test_ping_reports_failure(self, broken_storage: GatewayStorage) -> None:
        assert await broken_storage.ping(now=T0) is False

    async def test_ping(self, storage: GatewayStorage) -> None:
        assert await storage.ping(now=T0) is True


class GatewayStorageContract(
    SessionsContract, BindingContract, CodesContract, RatesContract, FaultContract
):
    """Everything a gateway backend must do."""
