"""Seeded Hypothesis fuzz runs over every endpoint (issue 12).

``test_loop_http`` and ``test_gateway_http`` send ``LOOP_FUZZ_REQUESTS`` requests (10 000,
the CI figure) per backend to the Loop app and the MSISDN gateway, built from each app's
own route table; ``test_sockets`` sends ``LOOP_FUZZ_SOCKET_EXAMPLES`` (150) short message
sequences to the two websockets. ``LOOP_FUZZ_SEED`` changes the seed. A long local run::

    LOOP_FUZZ_REQUESTS=100000 scripts/test tests/fuzz -s -q -o faulthandler_timeout=0

prints, per backend, the requests sent, endpoints reached, statuses seen and time taken.
(Without ``-o faulthandler_timeout=0`` the suite's two-minute stack dump fires during a
long run, and dumping Hypothesis's frames from the watchdog thread has crashed Python 3.11
here.)
"""
