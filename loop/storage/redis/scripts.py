"""Loads the Lua scripts behind every :class:`~loop.storage.redis.RedisStorage` method.

Each public storage method is one ``EVALSHA`` of one script, so a request costs one round
trip and the conditional ones (owner checks, join generations, nonces, reaping) are atomic
without ``WATCH`` retries. The sources are ``lua/<name>.lua`` files shipped as package
data; every script is ``lua/prelude.lua`` (the shared steps: TTLs, key helpers, push
targets, dropping a room...) followed by its parts, so the helpers are shared without Redis
Functions (which need Redis 7 and a ``FUNCTION LOAD`` step at deployment).

Times arrive as decimal strings from Python and are compared with ``tonumber``; they are
stored as received so no precision is lost in Lua's number formatting. Native TTLs are
computed from the caller's ``now`` plus :data:`MARGIN_MS`: they only reclaim memory,
visibility is always decided by the stored expiry. The key layout is
:mod:`loop.storage.redis.keys`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from importlib import resources

MARGIN_MS = 60_000
"""How long a record outlives its expiry before Redis reclaims it."""


@dataclasses.dataclass(frozen=True)
class Script:
    """A script's full source and the SHA1 that ``EVALSHA`` names it by, for a single Redis
    (``source``, ``sha``) and for a Redis Cluster (``cluster_source``, ``cluster_sha``: the
    same steps, run as a function whose reply is ``{reply, foreign writes}``)."""

    name: str
    source: str
    sha: str
    cluster_source: str
    cluster_sha: str
    parts: tuple[str, ...] = ()

    @functools.cached_property
    def checked(self) -> Script:
        """This script with a Hawk request's session check before its own part
        (``lua/check_session.lua``, :mod:`loop.storage.checks`): it takes two more KEYS
        and five more ARGV, last."""
        return load(f"{self.name}+check", "check_session", *self.parts)


@functools.cache
def _read(part: str) -> str:
    lua = resources.files("loop.storage.redis") / "lua"
    return (lua / f"{part}.lua").read_text(encoding="utf-8")


def load(name: str, *parts: str) -> Script:
    """The script ``name``: the prelude, then ``lua/<part>.lua`` for each of ``parts``
    (just ``lua/<name>.lua`` when none are given). The SHA1s are computed here, so nothing
    has to be loaded into Redis at start-up."""
    parts = parts or (name,)
    body = "\n".join(_read(part) for part in parts)
    source = "\n".join([_prelude(cluster=False), body])
    cluster_source = "\n".join(
        [
            "#!lua",  # flags declared: Redis then refuses any key outside the first's slot
            _prelude(cluster=True),
            "local function run()",
            body,
            "end",
            "local reply = run()",
            "if reply == nil then reply = false end",
            "if type(reply) == 'table' and reply.err then return reply end",
            "return {reply, FOREIGN}",
        ]
    )
    return Script(name, source, _sha(source), cluster_source, _sha(cluster_source), parts)


def _prelude(*, cluster: bool) -> str:
    flag = "true" if cluster else "false"
    return f"local MARGIN = {MARGIN_MS}\nlocal CLUSTER = {flag}\n{_read('prelude')}"


def _sha(source: str) -> str:
    return hashlib.sha1(source.encode()).hexdigest()
