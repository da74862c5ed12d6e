-- Nothing: what a session check rides on when a request made no other call.
return 1
