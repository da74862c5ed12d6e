"""The Redis key layout: the one place Python names a key (the Lua scripts build the
keys they reach from the ones they are given, with the same shapes).

``{...}`` are Redis Cluster hash tags: a record and its satellites share a hash slot
(``r:{token}`` and ``r:{token}:p``; ``s:{device}``, ``s:{device}:n`` and ``s:{device}:o``;
``c:{callId}`` and ``c:{callId}:m``), and so do a user's indexes (``u:{user}:*``). Every
script is given keys of one slot; the keys it reaches in other slots (an owner's indexes,
a user's push index, the reap index) it names itself, and in a cluster hands its writes to
them back to the caller (:mod:`loop.storage.redis.clustered`).

Slots, per concern: a session and its nonces and OAuth record: the device's; a room and
its participants: the room's; a user's push devices, sessions, rooms, deletion log, call
URLs and calls: the user's; a call URL: its token's; a call and its markers: the call's;
a rate window: its own; ``secrets`` and ``heartbeat``: their own (one key each).

Sessions (:mod:`loop.storage.redis.sessions`):

* ``s:{device}`` hash: ``k`` Hawk key, ``u`` user mac, ``i`` encrypted identity, ``e``
  expiry, ``p:<topic>:<user>`` push target (canonical JSON) registered while the session
  acted as ``<user>`` (as the original's ``spurls.<user>.<device>``), ``pu`` those users,
  newline-separated; ``x`` (in a cluster only) the time the user indexes below were last
  kept alive until (the prelude's ``keep_indexes``); ``s:{device}:n`` zset of nonces
  scored by their expiry;
* ``u:{user}:push`` set of devices with push targets; ``u:{user}:sessions`` set of the
  devices bound to the user (account deletion).

Rooms (:mod:`loop.storage.redis.rooms`):

* ``r:{token}`` hash: one JSON value per :class:`~loop.storage.Room` field (``owner`` raw)
  plus ``g``, the join generation; ``r:{token}:p`` hash participant id ->
  ``"seq|expires_at|json"`` (``seq`` orders joins);
* ``u:{user}:rooms`` zset of room tokens scored by ``update_time``; ``u:{user}:deleted``
  hash token -> ``"at|expires"``;
* ``px`` zset ``"token participant"`` scored by expiry, what the reapers walk; in a
  cluster the 16 buckets of :data:`REAP_BUCKETS` instead, a room's in one of them.

Accounts (:mod:`loop.storage.redis.accounts`): ``s:{device}:o`` hash of an OAuth session,
``st``/``se`` state and its expiry, ``t``/``te`` token and its expiry.

Calls (:mod:`loop.storage.redis.calls`):

* ``cu:{token}`` hash: ``u`` owner, ``e`` expiry, ``d`` the call URL as JSON;
  ``u:{user}:urls`` zset of tokens scored by ``timestamp``;
* ``rl:{key}`` hash: ``e`` end of a rate window, ``n`` requests in it (its key a
  :class:`~loop.storage.quotas.RateLimit`'s, :mod:`loop.storage.redis.quotas`);
* ``c:{callId}`` hash: ``e`` expiry, ``d`` the call as JSON, ``r`` termination reason,
  ``n:caller``/``n:callee`` connected devices; ``c:{callId}:m`` set of progress markers;
  ``u:{user}:calls`` zset of call ids scored by ``timestamp``; ``cp:<callId>`` the pub/sub
  channel of its progress.

Signalling (:mod:`loop.storage.redis.signalling`): ``sg:{<channel>}:m`` hash peer id ->
JSON ``{"m": [peer, participant, role, data], "e": expiry, "t": listing time}``, the
channel's members; ``sg:<channel>`` the pub/sub channel of its messages.

The backend itself: ``secrets`` hash (the generated secrets and ``fingerprint``, decisions
D31), ``heartbeat`` string.
"""

from __future__ import annotations

import hashlib

SECRETS = "secrets"
HEARTBEAT = "heartbeat"
PARTICIPANT_EXPIRY = "px"
REAP_BUCKETS = tuple(f"px:{{{digit}}}" for digit in "0123456789abcdef")
"""In a cluster, the reap index is these 16 zsets (each its own hash tag, so spread over
the masters) instead of ``px``; a room's participants go to the bucket named by the first
hex digit of its token's SHA1 (:func:`reap_bucket`, ``reap_index`` in the Lua prelude)."""


def reap_bucket(token: str) -> str:
    return f"px:{{{hashlib.sha1(token.encode()).hexdigest()[0]}}}"


def session(device: str) -> str:
    return f"s:{{{device}}}"


def nonces(device: str) -> str:
    return f"{session(device)}:n"


def oauth(device: str) -> str:
    return f"{session(device)}:o"


def user(user: str, what: str) -> str:
    """``what``: ``push``, ``sessions``, ``rooms``, ``deleted``, ``urls`` or ``calls``."""
    return f"u:{{{user}}}:{what}"


def room(token: str) -> str:
    return f"r:{{{token}}}"


def participants(token: str) -> str:
    return f"{room(token)}:p"


def call_url(token: str) -> str:
    return f"cu:{{{token}}}"


def rate(key: str) -> str:
    return f"rl:{{{key}}}"


def call(call_id: str) -> str:
    return f"c:{{{call_id}}}"


def markers(call_id: str) -> str:
    return f"{call(call_id)}:m"


def progress_channel(call_id: str) -> str:
    return f"cp:{call_id}"


def signal_members(channel: str) -> str:
    return f"sg:{{{channel}}}:m"


def signal_channel(channel: str) -> str:
    return f"sg:{channel}"
