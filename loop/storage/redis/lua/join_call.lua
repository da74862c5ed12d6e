-- A call progress step (between progress_begin and progress_end).
-- ARGV: ..., party, marker, when (",1,2,").
redis.call('HINCRBY', KEYS[1], 'n:' .. ARGV[3], 1)
if allowed(ARGV[5], before) then redis.call('SADD', KEYS[2], ARGV[4]) end
