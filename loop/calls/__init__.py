"""Calls: click-to-call links, direct calls and the call-progress websocket
(loop-api.md §4.10-§4.11, §6; decisions D8, D12, D28, D30).

* :mod:`.call_urls` — creating, listing, updating and deleting links;
* :mod:`.calls` — starting calls (direct or from a link) and their views;
* :mod:`.identities` — who a direct call is for;
* :mod:`.progress` — the state machine: states, events, transition table (``states.dot``);
* :mod:`.progress_socket` — one websocket following that machine.
"""
