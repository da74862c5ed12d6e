-- Cluster only: the due entries of one reap index bucket, removed by the script that
-- reads them so concurrent reapers never share one. KEYS: the bucket. ARGV: now, limit.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
return due
