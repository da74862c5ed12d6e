-- KEYS: secrets. ARGV: now (unused), then the field/value pairs of this process's secrets
-- record (its generated secrets and ``fingerprint``). Writes each field the hash lacks (all
-- of them when Redis lost the record, so an emptied Redis is re-seeded before any other
-- command on the connection), then returns the stored fingerprint for the caller to compare.
for i = 2, #ARGV, 2 do
  redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
end
return redis.call('HGET', KEYS[1], 'fingerprint')
