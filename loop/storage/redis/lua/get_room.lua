-- KEYS: room, participants. ARGV: now. Visibility is checked in Python.
return {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2])}
