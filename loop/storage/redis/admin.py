"""The Redis side of :class:`loop.storage.admin.AdminStorage`.

A mixin of :class:`loop.storage.redis.RedisStorage`. Unlike the request path (one script
per call), operator work walks the whole database: ``SCAN`` lists the keys, classified by
their shape (:mod:`.keys`), then pipelines read or write them in batches. The layout
written on import is the one the Lua scripts write, expiries included (``MARGIN_MS``
past the record's own expiry, and index keys only ever extended).

An export is not a snapshot: records written while it runs may or may not be in it. Stop
the servers (or accept a few seconds' fuzz) for an exact copy.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Any

from redis.asyncio.client import Pipeline

from loop.jsonutil import canonical
from loop.storage.admin import Activity, Record, StoreFigures, expires_at
from loop.storage.errors import BackendError
from loop.storage.redis import keys
from loop.storage.redis.codec import all_room_fields, decode_room, number
from loop.storage.redis.errors import DRIVER_ERRORS
from loop.storage.redis.errors import wrap_redis_error as _wrap
from loop.storage.redis.plumbing import RedisPlumbing
from loop.storage.redis.scripts import MARGIN_MS
from loop.storage.rooms import Participant, Room

BATCH = 500
"""Keys read or records written per pipeline."""
SCAN_COUNT = 1000

KEY_SHAPES = {
    "session": re.compile(r"s:\{([^}]*)\}"),
    "nonces": re.compile(r"s:\{([^}]*)\}:n"),
    "oauth": re.compile(r"s:\{([^}]*)\}:o"),
    "room": re.compile(r"r:\{([^}]*)\}"),
    "participants": re.compile(r"r:\{([^}]*)\}:p"),
    "call_url": re.compile(r"cu:\{([^}]*)\}"),
    "call": re.compile(r"c:\{([^}]*)\}"),
    "markers": re.compile(r"c:\{([^}]*)\}:m"),
    "user": re.compile(r"u:\{([^}]*)\}:(\w+)"),
}
"""What each key holds; ``user`` keys are ``(user, index name)``."""

EXTEND = """local ms = tonumber(ARGV[1])
local current = redis.call('PTTL', KEYS[1])
if current == -1 or current < ms then redis.call('PEXPIRE', KEYS[1], ms) end"""
"""The scripts' ``extend``: an index shared by several records lives as long as the
longest-lived of them."""


class KeyMap:
    """The database's keys by shape: names (the part in braces) per shape."""

    def __init__(self) -> None:
        self.names: dict[str, list[str]] = defaultdict(list)
        self.user_indexes: list[tuple[str, str]] = []
        self.total = 0

    def add(self, key: str) -> None:
        self.total += 1
        for shape, pattern in KEY_SHAPES.items():
            if match := pattern.fullmatch(key):
                if shape == "user":
                    self.user_indexes.append((match[1], match[2]))
                else:
                    self.names[shape].append(match[1])
                return


def ttl_ms(until: float, now: float) -> int:
    """As the scripts compute it: the time left, never negative, plus the margin."""
    return int(max(0.0, (float(until) - now) * 1000)) + MARGIN_MS


def batches(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


class RedisAdminStorage(RedisPlumbing):
    def _reap_index(self, token: str) -> str:
        """The reap index a room's participants are filed in (one per cluster bucket)."""
        return keys.PARTICIPANT_EXPIRY

    def _reap_indexes(self) -> Sequence[str]:
        return (keys.PARTICIPANT_EXPIRY,)

    async def _keys(self) -> KeyMap:
        found = KeyMap()
        async for key in self._client.scan_iter(count=SCAN_COUNT):
            found.add(key)
        return found

    async def _read(self, commands: Iterable[tuple[str, ...]]) -> list[Any]:
        pipe = self._client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        return list(await pipe.execute())

    # -- figures ---------------------------------------------------------------------------

    @_wrap
    async def activity(self, *, now: float) -> Activity:
        members = []
        for index in self._reap_indexes():
            self._count()
            members += await self._lane.execute("ZRANGEBYSCORE", index, f"({number(now)}", "+inf")
        rooms = {_text(member).split(" ", 1)[0] for member in members}
        return Activity(rooms=len(rooms), participants=len(members))

    @_wrap
    async def figures(self, *, now: float) -> StoreFigures:
        tally: dict[str, int] = defaultdict(int)
        users: set[str] = set()
        async for record in self._export(now):
            kind = record["kind"]
            tally[kind] += 1
            if kind == "session":
                tally["push"] += len(record["push"])
                if record["user_mac"] is not None:
                    users.add(record["user_mac"])
            elif kind == "room":
                tally["participants"] += len(record["participants"])
        size_bytes, key_count = await self._size()
        return StoreFigures(
            backend="redis",
            users=len(users),
            sessions=tally["session"],
            rooms=tally["room"],
            participants=tally["participants"],
            calls=tally["call"],
            call_urls=tally["call_url"],
            push_registrations=tally["push"],
            size_bytes=size_bytes,
            keys=key_count,
        )

    async def _size(self) -> tuple[int, int]:
        """Bytes of memory Redis uses, and its number of keys."""
        memory = await self._client.info("memory")
        return int(memory["used_memory"]), int(await self._client.dbsize())

    @_wrap
    async def holds_data(self, *, now: float) -> bool:
        found = await self._keys()
        return any(found.names.values()) or bool(found.user_indexes)

    # -- export ----------------------------------------------------------------------------

    async def export_records(self, *, now: float) -> AsyncIterator[Record]:
        try:
            async for record in self._export(now):
                yield record
        except DRIVER_ERRORS as error:
            raise BackendError(error) from error

    async def _export(self, now: float) -> AsyncIterator[Record]:
        secrets = await self._client.hgetall(keys.SECRETS)
        for name in sorted(secrets):
            yield {"kind": "secret", "name": name, "value": secrets[name]}
        found = await self._keys()
        for devices in batches(sorted(found.names["session"])):
            for record in await self._sessions(devices, now):
                yield record
        for tokens in batches(sorted(found.names["room"])):
            for record in await self._rooms(tokens, now):
                yield record
        for record in await self._deleted_rooms(found, now):
            yield record
        for tokens in batches(sorted(found.names["call_url"])):
            replies = await self._read(("HGETALL", keys.call_url(t)) for t in tokens)
            for reply in replies:
                if reply and float(reply["e"]) > now:
                    yield {"kind": "call_url", **json.loads(reply["d"])}
        filed = await self._call_users(found)
        for call_ids in batches(sorted(found.names["call"])):
            for record in await self._calls(call_ids, filed, now):
                yield record

    async def _sessions(self, devices: Sequence[str], now: float) -> list[Record]:
        commands = []
        for device in devices:
            commands += [
                ("HGETALL", keys.session(device)),
                ("ZRANGE", keys.nonces(device), "0", "-1", "WITHSCORES"),
                ("HGETALL", keys.oauth(device)),
            ]
        replies = await self._read(commands)
        records = []
        for index, device in enumerate(devices):
            fields, nonces, oauth = replies[3 * index : 3 * index + 3]
            if "k" in fields and float(fields["e"]) > now:
                records.append(_session(device, fields, nonces, oauth, now))
        return records

    async def _rooms(self, tokens: Sequence[str], now: float) -> list[Record]:
        commands = []
        for token in tokens:
            commands += [("HGETALL", keys.room(token)), ("HGETALL", keys.participants(token))]
        replies = await self._read(commands)
        records = []
        for index in range(len(tokens)):
            fields, members = replies[2 * index : 2 * index + 2]
            if "g" not in fields:
                continue
            room, generation = decode_room([item for pair in fields.items() for item in pair])
            if room.expires_at > now:
                records.append(_room(room, generation, members, now))
        return records

    async def _deleted_rooms(self, found: KeyMap, now: float) -> list[Record]:
        owners = sorted(user for user, index in found.user_indexes if index == "deleted")
        replies = await self._read(("HGETALL", keys.user(user, "deleted")) for user in owners)
        records = []
        for owner, log in zip(owners, replies, strict=True):
            for token in sorted(log):
                at, until = log[token].split("|", 1)
                if float(until) > now:
                    records.append(
                        {
                            "kind": "deleted_room",
                            **{"owner": owner, "token": token},
                            **{"deleted_at": float(at), "expires_at": float(until)},
                        }
                    )
        return records

    async def _call_users(self, found: KeyMap) -> dict[str, list[str]]:
        """Which users each call is filed under (the ``u:{user}:calls`` indexes)."""
        users = sorted(user for user, index in found.user_indexes if index == "calls")
        replies = await self._read(
            ("ZRANGE", keys.user(user, "calls"), "0", "-1") for user in users
        )
        filed: dict[str, list[str]] = defaultdict(list)
        for user, call_ids in zip(users, replies, strict=True):
            for call_id in call_ids:
                filed[call_id].append(user)
        return filed

    async def _calls(
        self, call_ids: Sequence[str], filed: dict[str, list[str]], now: float
    ) -> list[Record]:
        commands = []
        for call_id in call_ids:
            commands += [("HGETALL", keys.call(call_id)), ("SMEMBERS", keys.markers(call_id))]
        replies = await self._read(commands)
        records = []
        for index, call_id in enumerate(call_ids):
            fields, markers = replies[2 * index : 2 * index + 2]
            if "d" in fields and float(fields["e"]) > now:
                records.append(
                    {
                        "kind": "call",
                        "call": json.loads(fields["d"]),
                        "users": filed.get(call_id, []),
                        "markers": sorted(markers),
                        "reason": fields.get("r"),
                        "callers": int(fields.get("n:caller", 0)),
                        "callees": int(fields.get("n:callee", 0)),
                    }
                )
        return records

    # -- import ----------------------------------------------------------------------------

    @_wrap
    async def import_records(self, records: Sequence[Record], *, now: float) -> None:
        pipe = self._client.pipeline(transaction=False)
        for record in records:
            if record["kind"] == "room" and expires_at(record) > now:
                _write_room(pipe, record, now, reap_index=self._reap_index)
            elif expires_at(record) > now:
                _WRITERS[record["kind"]](pipe, record, now)
        await pipe.execute()

    # -- purge -----------------------------------------------------------------------------

    @_wrap
    async def purge_expired(self, *, now: float) -> dict[str, int]:
        """Redis drops expired keys by itself (a minute after their records expire); what
        lingers is index entries: departed participants in ``px`` and their rooms' hashes,
        old nonces, deletion-log entries, and index members whose record is gone."""
        removed: dict[str, int] = defaultdict(int)
        removed["participants"] += await self._purge_participants(now)
        found = await self._keys()
        await self._purge_expired_records(found, now, removed)
        await self._purge_indexes(found, now, removed)
        return {name: count for name, count in removed.items() if count}

    async def _purge_participants(self, now: float) -> int:
        indexes = self._reap_indexes()
        listed = await self._read(
            ("ZRANGEBYSCORE", index, "-inf", number(now)) for index in indexes
        )
        gone = [member for members in listed for member in members]
        pipe = self._client.pipeline(transaction=False)
        for member in gone:
            token, participant = member.split(" ", 1)
            pipe.hdel(keys.participants(token), participant)
        for index in indexes:
            pipe.zremrangebyscore(index, "-inf", number(now))
        await pipe.execute()
        return len(gone)

    async def _purge_expired_records(
        self, found: KeyMap, now: float, removed: dict[str, int]
    ) -> None:
        """Records past their expiry whose key has not reached its TTL yet."""
        shapes = {
            "sessions": (found.names["session"], keys.session, "e", keys.nonces, keys.oauth),
            "rooms": (found.names["room"], keys.room, "expires_at", keys.participants, None),
            "call URLs": (found.names["call_url"], keys.call_url, "e", None, None),
            "calls": (found.names["call"], keys.call, "e", keys.markers, None),
        }
        for label, (names, key_of, field, *satellites) in shapes.items():
            for chunk in batches(names):
                expiries = await self._read(("HGET", key_of(name), field) for name in chunk)
                dead = [n for n, e in zip(chunk, expiries, strict=True) if e and float(e) <= now]
                doomed = [key_of(n) for n in dead]
                doomed += [sat(n) for n in dead for sat in satellites if sat is not None]
                if doomed:
                    await self._client.delete(*doomed)
                removed[label] += len(dead)

    async def _purge_indexes(self, found: KeyMap, now: float, removed: dict[str, int]) -> None:
        for devices in batches(found.names["nonces"]):
            replies = await self._read(
                ("ZREMRANGEBYSCORE", keys.nonces(d), "-inf", number(now)) for d in devices
            )
            removed["nonces"] += sum(replies)
        record_key = {
            "sessions": keys.session,
            "push": keys.session,
            "rooms": keys.room,
            "urls": keys.call_url,
            "calls": keys.call,
        }
        for user, index in found.user_indexes:
            key = keys.user(user, index)
            if index == "deleted":
                (log,) = await self._read([("HGETALL", key)])
                old = [t for t, entry in log.items() if float(entry.split("|", 1)[1]) <= now]
                if old:
                    removed["deleted-room entries"] += await self._client.hdel(key, *old)
            elif index in record_key:
                removed["index entries"] += await self._prune(key, record_key[index])

    async def _prune(self, key: str, record_key: Any) -> int:
        """Drop the members of a set or sorted-set index whose record key is gone."""
        (kind,) = await self._read([("TYPE", key)])
        is_set = kind == "set"
        listing = ("SMEMBERS", key) if is_set else ("ZRANGE", key, "0", "-1")
        members: list[str] = list((await self._read([listing]))[0])
        exists = await self._read(("EXISTS", record_key(member)) for member in members)
        gone = [member for member, alive in zip(members, exists, strict=True) if not alive]
        if not gone:
            return 0
        (removed,) = await self._read([("SREM" if is_set else "ZREM", key, *gone)])
        return int(removed)


def _session(
    device: str, fields: dict[str, str], nonces: Sequence[Any], oauth: dict[str, str], now: float
) -> Record:
    push = []
    for name, value in sorted(fields.items()):
        if name.startswith("p:"):
            topic, user = name[2:].split(":", 1)
            push.append({"user": user, "topic": topic, "target": json.loads(value)})
    push.sort(key=lambda item: (item["user"], item["topic"]))
    return {
        "kind": "session",
        "device": device,
        "hawk_key": fields["k"],
        "user_mac": fields.get("u"),
        "encrypted_identity": fields.get("i"),
        "expires_at": float(fields["e"]),
        "push": push,
        "nonces": [
            {"member": member, "expires_at": float(score)}
            for member, score in nonces
            if float(score) > now
        ],
        "oauth": _oauth(oauth),
    }


def _oauth(fields: dict[str, str]) -> dict[str, Any] | None:
    if not fields:
        return None
    return {
        "state": fields.get("st"),
        "state_expires_at": float(fields.get("se", 0)),
        "token": fields.get("t"),
        "token_expires_at": float(fields.get("te", 0)),
    }


def _room(room: Room, generation: int, members: dict[str, str], now: float) -> Record:
    live = []
    for value in members.values():
        seq, until, body = value.split("|", 2)
        if float(until) > now:
            live.append((int(seq), {**json.loads(body), "expires_at": float(until)}))
    live.sort(key=lambda item: item[0])
    participants = [
        {name: values.get(name) for name in Participant.__dataclass_fields__} for _, values in live
    ]
    fields = {name: getattr(room, name) for name in Room.__dataclass_fields__}
    return {"kind": "room", **fields, "generation": generation, "participants": participants}


# -- writers: one per kind, the layout of :mod:`.keys` -------------------------------------


def _hset(pipe: Pipeline, key: str, fields: dict[str, str]) -> None:
    pipe.execute_command("HSET", key, *(item for pair in fields.items() for item in pair))


def _extend(pipe: Pipeline, key: str, ms: int) -> None:
    pipe.eval(EXTEND, 1, key, str(ms))


def _write_secret(pipe: Pipeline, r: Record, now: float) -> None:
    pipe.hset(keys.SECRETS, r["name"], r["value"])


def _write_session(pipe: Pipeline, r: Record, now: float) -> None:
    device = r["device"]
    key, ms = keys.session(device), ttl_ms(r["expires_at"], now)
    pipe.delete(key, keys.nonces(device), keys.oauth(device))
    fields: dict[str, str] = {"k": r["hawk_key"], "e": number(r["expires_at"])}
    if r["user_mac"] is not None:
        fields["u"] = r["user_mac"]
        pipe.sadd(keys.user(r["user_mac"], "sessions"), device)
        _extend(pipe, keys.user(r["user_mac"], "sessions"), ms)
    if r["encrypted_identity"] is not None:
        fields["i"] = r["encrypted_identity"]
    users = list(dict.fromkeys(push["user"] for push in r["push"]))
    for push in r["push"]:
        fields[f"p:{push['topic']}:{push['user']}"] = canonical(push["target"])
    if users:
        fields["pu"] = "\n".join(users)
    _hset(pipe, key, fields)
    pipe.pexpire(key, ms)
    for user in users:
        pipe.sadd(keys.user(user, "push"), device)
        _extend(pipe, keys.user(user, "push"), ms)
    _write_nonces(pipe, device, r["nonces"], now)
    if (oauth := r["oauth"]) is not None:
        _write_oauth(pipe, device, oauth, now)


def _write_nonces(pipe: Pipeline, device: str, nonces: Sequence[Any], now: float) -> None:
    live = {n["member"]: n["expires_at"] for n in nonces if n["expires_at"] > now}
    if live:
        pipe.zadd(keys.nonces(device), live)
        pipe.pexpire(keys.nonces(device), ttl_ms(max(live.values()), now))


def _write_oauth(pipe: Pipeline, device: str, oauth: Record, now: float) -> None:
    fields: dict[str, str] = {}
    if oauth["state"] is not None:
        fields |= {"st": oauth["state"], "se": number(oauth["state_expires_at"])}
    if oauth["token"] is not None:
        fields |= {"t": oauth["token"], "te": number(oauth["token_expires_at"])}
    if fields:
        _hset(pipe, keys.oauth(device), fields)
        until = max(oauth["state_expires_at"], oauth["token_expires_at"])
        pipe.pexpire(keys.oauth(device), ttl_ms(until, now))


def _write_room(
    pipe: Pipeline, r: Record, now: float, *, reap_index: Callable[[str], str]
) -> None:
    room = Room(**{name: r[name] for name in Room.__dataclass_fields__})
    key, token, ms = keys.room(room.token), room.token, ttl_ms(room.expires_at, now)
    pipe.delete(key, keys.participants(token))
    flat = ["g", str(r["generation"]), *all_room_fields(room)]
    pipe.execute_command("HSET", key, *flat)
    pipe.pexpire(key, ms)
    live = [p for p in r["participants"] if p["expires_at"] > now]
    for seq, p in enumerate(live, start=1):
        body = canonical({name: value for name, value in p.items() if name != "expires_at"})
        pipe.hset(keys.participants(token), p["id"], f"{seq}|{number(p['expires_at'])}|{body}")
        pipe.zadd(reap_index(token), {f"{token} {p['id']}": p["expires_at"]})
    if live:
        pipe.pexpire(keys.participants(token), ms)
    pipe.zadd(keys.user(room.owner, "rooms"), {token: room.update_time})
    _extend(pipe, keys.user(room.owner, "rooms"), ms)


def _write_deleted_room(pipe: Pipeline, r: Record, now: float) -> None:
    log = keys.user(r["owner"], "deleted")
    pipe.hset(log, r["token"], f"{number(r['deleted_at'])}|{number(r['expires_at'])}")
    _extend(pipe, log, ttl_ms(r["expires_at"], now))


def _write_call_url(pipe: Pipeline, r: Record, now: float) -> None:
    url = {name: value for name, value in r.items() if name != "kind"}
    ms = ttl_ms(r["expires"], now)
    record = json.dumps(url, separators=(",", ":"))
    pipe.hset(
        keys.call_url(r["token"]), mapping={"u": r["user"], "e": str(r["expires"]), "d": record}
    )
    pipe.pexpire(keys.call_url(r["token"]), ms)
    pipe.zadd(keys.user(r["user"], "urls"), {r["token"]: r["timestamp"]})
    _extend(pipe, keys.user(r["user"], "urls"), ms)


def _write_call(pipe: Pipeline, r: Record, now: float) -> None:
    call = r["call"]
    call_id, ms = call["call_id"], ttl_ms(call["expires_at"], now)
    key = keys.call(call_id)
    pipe.delete(key, keys.markers(call_id))
    fields = {
        "e": number(call["expires_at"]),
        "d": json.dumps(call, separators=(",", ":")),
        "n:caller": str(r["callers"]),
        "n:callee": str(r["callees"]),
    }
    if r["reason"] is not None:
        fields["r"] = r["reason"]
    _hset(pipe, key, fields)
    pipe.pexpire(key, ms)
    if r["markers"]:
        pipe.sadd(keys.markers(call_id), *r["markers"])
        pipe.pexpire(keys.markers(call_id), ms)
    for user in r["users"]:
        pipe.zadd(keys.user(user, "calls"), {call_id: call["timestamp"]})
        _extend(pipe, keys.user(user, "calls"), ms)


_WRITERS = {
    "secret": _write_secret,
    "session": _write_session,
    "deleted_room": _write_deleted_room,
    "call_url": _write_call_url,
    "call": _write_call,
}


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
