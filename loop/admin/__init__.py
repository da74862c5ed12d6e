"""``loop-server admin``: the operator's tools for a self-hosted server.

Each command loads the server's own settings (``--config FILE`` or ``$LOOP_CONFIG``, then
``LOOP_*`` variables), opens the storage they name, does one job and exits:

* ``stats [--json]``: live users, sessions, rooms, participants, calls, call URLs, push
  registrations, and the storage's size;
* ``purge``: remove expired data and stale index entries now;
* ``export FILE`` / ``import FILE [--force]``: a backend-neutral dump of every live record
  and the generated secrets (:mod:`.dump`), for backups and SQLite ↔ Redis moves;
* ``delete-user IDENTITY``: what ``DELETE /account`` does, for the user owning an e-mail
  address or phone number;
* ``secrets``: which secrets exist, where each comes from, what rotating it breaks.

Exit status: 0 done; 1 the work failed (storage unreachable, unreadable dump, non-empty
target), one line on stderr saying why; 2 usage or configuration error.
"""
