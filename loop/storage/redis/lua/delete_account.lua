-- KEYS: the user's sessions index, push index, rooms index, deletion log. ARGV: now, user,
-- the caller's device. The loader appends the steps of
-- loop/storage/redis/accounts.py's ACCOUNT_DELETION_STEPS (``user`` and ``now`` in scope).
local user = ARGV[2]
