-- A call progress step. ARGV: ..., marker, when.
if allowed(ARGV[4], before) then redis.call('SADD', KEYS[2], ARGV[3]) end
