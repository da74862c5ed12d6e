"""The schema and every statement of the SQLite backend, as module constants so sqlite3's
statement cache prepares each once. Lists of values travel as one JSON parameter expanded
by ``json_each`` (``IN_JSON``), which keeps every statement's text constant."""

from __future__ import annotations

SCHEMA_VERSION = 1

SCHEMA = (
    "CREATE TABLE secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE heartbeat (id INTEGER PRIMARY KEY CHECK (id = 1), at REAL NOT NULL)",
    """CREATE TABLE sessions (hawk_id_hmac TEXT PRIMARY KEY, hawk_key TEXT NOT NULL,
        user_mac TEXT, encrypted_identity TEXT, expires_at REAL NOT NULL)""",
    "CREATE INDEX sessions_by_expiry ON sessions (expires_at)",
    """CREATE TABLE nonces (hawk_id_hmac TEXT NOT NULL, nonce TEXT NOT NULL,
        expires_at REAL NOT NULL, PRIMARY KEY (hawk_id_hmac, nonce))""",
    "CREATE INDEX nonces_by_expiry ON nonces (expires_at)",
    """CREATE TABLE push (user TEXT NOT NULL, device TEXT NOT NULL, topic TEXT NOT NULL,
        target TEXT NOT NULL, PRIMARY KEY (user, device, topic))""",
    "CREATE INDEX push_by_device ON push (device)",
    """CREATE TABLE rooms (token TEXT PRIMARY KEY, owner TEXT NOT NULL,
        room_owner TEXT NOT NULL, max_size INTEGER NOT NULL, expires_in INTEGER NOT NULL,
        creation_time INTEGER NOT NULL, update_time INTEGER NOT NULL,
        expires_at INTEGER NOT NULL, channel TEXT NOT NULL, session_id TEXT NOT NULL,
        api_key TEXT NOT NULL, room_name TEXT, context TEXT,
        generation INTEGER NOT NULL DEFAULT 0)""",
    "CREATE INDEX rooms_by_owner ON rooms (owner, update_time, token)",
    "CREATE INDEX rooms_by_expiry ON rooms (expires_at)",
    """CREATE TABLE participants (seq INTEGER PRIMARY KEY, token TEXT NOT NULL,
        id TEXT NOT NULL, connection_id TEXT NOT NULL, display_name TEXT NOT NULL,
        client_max_size INTEGER NOT NULL, expires_at REAL NOT NULL, user TEXT, account TEXT,
        UNIQUE (token, id))""",
    "CREATE INDEX participants_by_expiry ON participants (expires_at)",
    """CREATE TABLE deleted_rooms (owner TEXT NOT NULL, token TEXT NOT NULL,
        deleted_at REAL NOT NULL, expires_at REAL NOT NULL, PRIMARY KEY (owner, token))""",
    "CREATE INDEX deleted_rooms_by_expiry ON deleted_rooms (expires_at)",
)
TABLES = "secrets heartbeat sessions nonces push rooms participants deleted_rooms".split()

ROOM_FIELDS = (
    "token owner room_owner max_size expires_in creation_time update_time expires_at "
    "channel session_id api_key room_name context"
).split()
UPDATABLE_FIELDS = frozenset(ROOM_FIELDS) - {"token"}
ROOM_COLUMNS = ", ".join(ROOM_FIELDS)
PARTICIPANT_FIELDS = "id connection_id display_name client_max_size expires_at user account"
PARTICIPANT_COLUMNS = ", ".join(f"p.{name}" for name in PARTICIPANT_FIELDS.split())
IN_JSON = "IN (SELECT value FROM json_each(?))"
LIVE_TARGETS = """SELECT DISTINCT push.user, push.target FROM push
    JOIN sessions ON sessions.hawk_id_hmac = push.device
    WHERE push.user {user} AND push.topic = ? AND sessions.expires_at > ?
    ORDER BY push.user, push.target"""

# -- sessions and push ---------------------------------------------------------------------
INSERT_SESSION = """INSERT OR REPLACE INTO sessions
    (hawk_id_hmac, hawk_key, user_mac, encrypted_identity, expires_at) VALUES (?, ?, ?, ?, ?)"""
TOUCH_SESSION = """UPDATE sessions SET expires_at = ? WHERE hawk_id_hmac = ? AND expires_at > ?
    RETURNING hawk_key, user_mac, encrypted_identity"""
RECORD_NONCE = """INSERT INTO nonces (hawk_id_hmac, nonce, expires_at) VALUES (?, ?, ?)
    ON CONFLICT (hawk_id_hmac, nonce) DO UPDATE SET expires_at = excluded.expires_at
    WHERE nonces.expires_at <= ?"""
BIND_IDENTITY = """UPDATE sessions SET user_mac = ?, encrypted_identity = ?, expires_at = ?
    WHERE hawk_id_hmac = ? AND expires_at > ?"""
DELETE_SESSIONS = f"DELETE FROM sessions WHERE hawk_id_hmac {IN_JSON}"
DELETE_NONCES_OF = f"DELETE FROM nonces WHERE hawk_id_hmac {IN_JSON}"
DELETE_PUSH_OF = f"DELETE FROM push WHERE device {IN_JSON}"
UPSERT_PUSH = """INSERT INTO push (user, device, topic, target)
    SELECT ?, ?, key, value FROM json_each(?) WHERE true
    ON CONFLICT (user, device, topic) DO UPDATE SET target = excluded.target"""
UNREGISTER_PUSH = "DELETE FROM push WHERE user = ? AND device = ?"
SELECT_TARGETS = LIVE_TARGETS.format(user="= ?")
SELECT_OWNERS_TARGETS = LIVE_TARGETS.format(user=IN_JSON)

# -- rooms ---------------------------------------------------------------------------------
INSERT_ROOM = f"""INSERT INTO rooms ({ROOM_COLUMNS}, generation)
    VALUES ({", ".join(":" + name for name in ROOM_FIELDS)}, 0)
    ON CONFLICT (token) DO UPDATE SET {", ".join(f"{n} = excluded.{n}" for n in ROOM_FIELDS)},
    generation = 0 WHERE rooms.expires_at <= :now"""
SELECT_ROOM = f"SELECT {ROOM_COLUMNS}, generation FROM rooms WHERE token = ? AND expires_at > ?"
SELECT_OWNER = "SELECT owner FROM rooms WHERE token = ? AND expires_at > ?"
_UPDATES = ", ".join(
    f"{n} = CASE WHEN :set_{n} THEN :{n} ELSE {n} END" for n in sorted(UPDATABLE_FIELDS)
)
UPDATE_ROOM = f"""UPDATE rooms SET {_UPDATES}, generation = generation + 1
    WHERE token = :token AND owner = :caller AND expires_at > :now RETURNING {ROOM_COLUMNS}"""
DELETE_ROOMS = f"""DELETE FROM rooms WHERE owner = ? AND expires_at > ? AND token {IN_JSON}
    RETURNING token"""
LOG_DELETIONS = """INSERT INTO deleted_rooms (owner, token, deleted_at, expires_at)
    SELECT ?, value, ?, ? FROM json_each(?) WHERE true
    ON CONFLICT (owner, token) DO UPDATE SET
    deleted_at = excluded.deleted_at, expires_at = excluded.expires_at
    WHERE deleted_rooms.expires_at <= excluded.deleted_at"""
LIST_ROOMS = f"""SELECT {ROOM_COLUMNS}, generation FROM rooms
    WHERE owner = ? AND expires_at > ? AND update_time >= ? ORDER BY update_time, token"""
LIST_DELETED = """SELECT token FROM deleted_rooms
    WHERE owner = ? AND deleted_at >= ? AND expires_at > ? ORDER BY token"""

# -- participants --------------------------------------------------------------------------
SELECT_PARTICIPANTS = f"""SELECT p.token, {PARTICIPANT_COLUMNS} FROM participants p
    WHERE p.token = ? AND p.expires_at > ? ORDER BY p.seq"""
LIST_PARTICIPANTS = f"""SELECT p.token, {PARTICIPANT_COLUMNS} FROM participants p
    JOIN rooms r ON r.token = p.token
    WHERE r.owner = ? AND r.expires_at > ? AND r.update_time >= ? AND p.expires_at > ?
    ORDER BY p.seq"""
INSERT_PARTICIPANT = f"""INSERT OR REPLACE INTO participants
    (token, {PARTICIPANT_COLUMNS.replace("p.", "")}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"""
DELETE_PARTICIPANTS = f"DELETE FROM participants WHERE token {IN_JSON}"
TOUCH_FOR_JOIN = """UPDATE rooms SET generation = generation + 1, update_time = ?,
    expires_at = ?, session_id = coalesce(?, session_id), api_key = coalesce(?, api_key)
    WHERE token = ? AND expires_at > ? AND generation = ? RETURNING owner"""
LIVE_PARTICIPANT = """token = :token AND id = :id AND expires_at > :now
    AND EXISTS (SELECT 1 FROM rooms WHERE token = :token AND expires_at > :now)"""
REFRESH_PARTICIPANT = f"UPDATE participants SET expires_at = :until WHERE {LIVE_PARTICIPANT}"
LEAVE_ROOM = f"DELETE FROM participants WHERE {LIVE_PARTICIPANT}"
TOUCH_ROOMS = f"""UPDATE rooms SET update_time = ?, expires_at = ?
    WHERE expires_at > ? AND token {IN_JSON} RETURNING owner"""
REAP = """DELETE FROM participants WHERE seq IN
    (SELECT seq FROM participants WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)
    RETURNING token"""

# -- housekeeping --------------------------------------------------------------------------
INSERT_SECRETS = "INSERT OR IGNORE INTO secrets (name, value) SELECT key, value FROM json_each(?)"
SELECT_SECRETS = "SELECT name, value FROM secrets WHERE name IN (SELECT key FROM json_each(?))"
SELECT_SECRET = "SELECT value FROM secrets WHERE name = ?"
HEARTBEAT = "INSERT OR REPLACE INTO heartbeat (id, at) VALUES (1, ?)"
EXPIRED_SESSIONS = "SELECT hawk_id_hmac FROM sessions WHERE expires_at <= ? LIMIT ?"
EXPIRED_ROOMS = "SELECT token FROM rooms WHERE expires_at <= ? LIMIT ?"
PURGE_ROOMS = f"DELETE FROM rooms WHERE token {IN_JSON}"
PURGE = tuple(
    f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} WHERE expires_at <= ? LIMIT ?)"
    for table in ("nonces", "deleted_rooms")
)
