-- Cluster only: count a request in a rate window. KEYS: the window. ARGV: now, its spec.
count_in(windows(1, ARGV[2]))
