-- A Hawk request's session check riding on this call (loop/storage/checks.py): its two
-- keys (session, nonces) and five arguments ('<ts>:<nonce>:<mac>', session expiry, nonce
-- expiry, the user the caller remembered ('' for none), the time of the request) were
-- appended to the call's own,
-- and are taken off here before the script's part reads KEYS and ARGV. A failed check
-- is an error reply, and nothing of the call is done.
do
  local at = table.remove(ARGV)
  local expected = table.remove(ARGV)
  local nonce_expiry = table.remove(ARGV)
  local expiry = table.remove(ARGV)
  local member = table.remove(ARGV)
  local nonces = table.remove(KEYS)
  local key = table.remove(KEYS)
  local s = check_request(key, nonces, member, expiry, nonce_expiry, expected, at)
  if not s then return redis.error_reply('LOOPCHECK unknown') end
  if type(s) == 'string' then return redis.error_reply('LOOPCHECK ' .. s) end
end
