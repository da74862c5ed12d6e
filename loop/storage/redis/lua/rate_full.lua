-- Cluster only: is a rate window full? KEYS: the window. ARGV: now, its spec
-- ("limit period"). Returns the milliseconds it still lasts, or nil.
return full_for(windows(1, ARGV[2]))
