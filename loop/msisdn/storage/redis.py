"""The gateway's Redis backend: one command per method (Lua where it must be atomic).

Keys are ``msisdn:<kind>:{<hawk_id_hmac>}`` (hash-tagged, so one client's keys share a
Redis Cluster slot). Records carry their own ``exp`` (Unix seconds) compared with the
caller's ``now`` in the scripts, as :mod:`loop.storage` requires; a relative ``PEXPIRE``
(the record's lifetime, never an absolute date from a clock Redis does not share) only
lets Redis reclaim the memory.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import redis.asyncio
from redis.exceptions import RedisError

from loop.msisdn.storage.base import (
    BindOutcome,
    CertificateRecord,
    CodeCheck,
    CodeOutcome,
    Credentials,
    GatewayStorage,
    window,
)
from loop.storage import DEFAULT_TIMEOUT
from loop.storage.redis.errors import wrap_redis_error

PREFIX = "msisdn:"
SECRETS = PREFIX + "secrets"
HEARTBEAT_TTL = 3600

CREDENTIALS = """
local s = redis.call('HMGET', KEYS[1], 'key', 'exp')
if s[1] and tonumber(s[2]) > tonumber(ARGV[1]) then return {s[1], '0'} end
local c = redis.call('GET', KEYS[2])
if c then return {cjson.decode(c)['hawkKey'], '1'} end
return false
"""
# KEYS: session, binding, code. ARGV: now, msisdn_mac, cipher, code_mac, exp, require, ttl_ms
BIND = """
local now = tonumber(ARGV[1])
if ARGV[6] == '1' then
  local exp = redis.call('HGET', KEYS[1], 'exp')
  if not exp or tonumber(exp) <= now then return 'no_session' end
end
local b = redis.call('HMGET', KEYS[2], 'mac', 'exp')
if b[1] and tonumber(b[2]) > now and b[1] ~= ARGV[2] then return 'other_number' end
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('HSET', KEYS[2], 'mac', ARGV[2], 'cipher', ARGV[3], 'exp', ARGV[5])
redis.call('HSET', KEYS[3], 'mac', ARGV[4], 'tries', 0, 'exp', ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[7])
redis.call('PEXPIRE', KEYS[3], ARGV[7])
return 'bound'
"""
# KEYS: session, binding, code, certificate. ARGV: now, code_mac, hawk_key, max_tries
CHECK_CODE = """
local now = tonumber(ARGV[1])
local c = redis.call('HMGET', KEYS[3], 'mac', 'tries', 'exp')
if not c[1] or tonumber(c[3]) <= now then return {'no_code'} end
if c[1] ~= ARGV[2] then
  if tonumber(c[2]) + 1 >= tonumber(ARGV[4]) then redis.call('DEL', KEYS[3])
  else redis.call('HINCRBY', KEYS[3], 'tries', 1) end
  return {'wrong'}
end
local b = redis.call('HMGET', KEYS[2], 'cipher', 'exp')
if not b[1] or tonumber(b[2]) <= now then return {'no_msisdn'} end
local stamp = math.floor(now * 1000)
redis.call('SET', KEYS[4], cjson.encode({cipherMsisdn = b[1], createdAt = stamp,
  lastUpdatedAt = stamp, hawkKey = ARGV[3]}))
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return {'verified', b[1]}
"""
USE_CERTIFICATE = """
local c = redis.call('GET', KEYS[1])
if not c then return false end
local record = cjson.decode(c)
record['lastUpdatedAt'] = tonumber(ARGV[1])
local encoded = cjson.encode(record)
redis.call('SET', KEYS[1], encoded)
return encoded
"""
ENSURE_SECRETS = """
for i = 1, #ARGV, 2 do redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) end
return redis.call('HGETALL', KEYS[1])
"""
HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"""


def keys(hawk_id_hmac: str) -> dict[str, str]:
    tag = "{" + hawk_id_hmac + "}"
    names = ("session", "sms", "code", "certificate")
    return {name: f"{PREFIX}{name}:{tag}" for name in names}


class RedisGatewayStorage(GatewayStorage):
    def __init__(self, client: redis.asyncio.Redis, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._redis = client
        self._timeout = timeout
        """Seconds one call may wait on Redis, its retries included (``storage.timeout``);
        then ``TimeoutError``, an ``OSError``, so ``BackendError``."""

    async def _eval(self, script: str, keys: list[str], *args: Any) -> Any:
        async with asyncio.timeout(self._timeout):
            return await self._redis.eval(script, len(keys), *keys, *args)

    @wrap_redis_error
    async def ensure_secrets(self, candidates: Mapping[str, str]) -> dict[str, str]:
        flat = [item for pair in candidates.items() for item in pair]
        values = await self._eval(ENSURE_SECRETS, [SECRETS], *flat)
        return dict(zip(values[::2], values[1::2], strict=True))

    @wrap_redis_error
    async def create_session(
        self, hawk_id_hmac: str, *, hawk_key: str, now: float, ttl: float
    ) -> None:
        key = keys(hawk_id_hmac)["session"]
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"key": hawk_key, "exp": repr(now + ttl)})
            pipe.pexpire(key, _ms(ttl))
            await pipe.execute()

    @wrap_redis_error
    async def credentials(self, hawk_id_hmac: str, *, now: float) -> Credentials | None:
        k = keys(hawk_id_hmac)
        found = await self._eval(CREDENTIALS, [k["session"], k["certificate"]], repr(now))
        return None if not found else Credentials(found[0], found[1] == "1")

    @wrap_redis_error
    async def bind(
        self,
        hawk_id_hmac: str,
        *,
        msisdn_mac: str,
        cipher_msisdn: str,
        code_mac: str,
        now: float,
        ttl: float,
        require_session: bool,
    ) -> BindOutcome:
        k = keys(hawk_id_hmac)
        args = (repr(now), msisdn_mac, cipher_msisdn, code_mac, repr(now + ttl))
        outcome = await self._eval(
            BIND,
            [k["session"], k["sms"], k["code"]],
            *args,
            "1" if require_session else "0",
            _ms(ttl),
        )
        return BindOutcome(outcome)

    @wrap_redis_error
    async def check_code(
        self, hawk_id_hmac: str, *, code_mac: str, hawk_key: str, now: float, max_tries: int
    ) -> CodeCheck:
        k = keys(hawk_id_hmac)
        result = await self._eval(
            CHECK_CODE, list(k.values()), repr(now), code_mac, hawk_key, max_tries
        )
        return CodeCheck(CodeOutcome(result[0]), result[1] if len(result) > 1 else None)

    @wrap_redis_error
    async def use_certificate(self, hawk_id_hmac: str, *, now: float) -> CertificateRecord | None:
        key = keys(hawk_id_hmac)["certificate"]
        encoded = await self._eval(USE_CERTIFICATE, [key], int(now * 1000))
        if not encoded:
            return None
        record = json.loads(encoded)
        return CertificateRecord(
            cipher_msisdn=record["cipherMsisdn"],
            created_at=int(record["createdAt"]),
            last_updated_at=int(record["lastUpdatedAt"]),
            hawk_key=record["hawkKey"],
        )

    @wrap_redis_error
    async def unregister(self, hawk_id_hmac: str) -> None:
        await self._redis.delete(*keys(hawk_id_hmac).values())

    @wrap_redis_error
    async def hit(self, bucket: str, *, now: float, period: float) -> tuple[int, float]:
        index, end = window(now, period)
        key = f"{PREFIX}rate:{bucket}:{index}"
        count = await self._eval(HIT, [key], _ms(end - now))
        return int(count), end

    async def ping(self, *, now: float) -> bool:
        try:
            async with asyncio.timeout(self._timeout):
                await self._redis.set(PREFIX + "heartbeat", repr(now), ex=HEARTBEAT_TTL)
        except (RedisError, OSError):
            return False
        return True

    @wrap_redis_error
    async def flush(self) -> None:
        await self._redis.flushdb()

    async def close(self) -> None:
        await self._redis.aclose()


def _ms(seconds: float) -> int:
    """A positive lifetime in milliseconds for ``PEXPIRE``."""
    return max(1, int(seconds * 1000))


def from_url(url: str, *, timeout: float = DEFAULT_TIMEOUT) -> RedisGatewayStorage:
    client = redis.asyncio.Redis.from_url(url, decode_responses=True)
    return RedisGatewayStorage(client, timeout=timeout)
