-- A call progress step. ARGV: ..., reason ('' for none), when.
if before > 0 and allowed(ARGV[4], before) then terminate(ARGV[3]) end
