"""The storage contract suite: every backend's tests subclass :class:`StorageContract`.

Shipped inside the package (as Kinto does) so any backend, ours or a third party's, proves
itself against the same rules. One contract per concern (``<concern>.py``, or a package of
that name when its themes need several modules, as ``rooms``), each with the
``FAULT_CALLS`` the fault tests run; the backend's own lifecycle in :mod:`.lifecycle`.
The subclass provides two fixtures:

* ``storage``: a fresh, empty :class:`~loop.storage.Storage` (closed after the test);
* ``broken_storage``: one whose backend is unavailable, so every method must raise
  :class:`~loop.storage.BackendError` and ``ping`` must return ``False``.

Time is always an argument: no test sleeps, each moves ``now`` instead.
"""

from __future__ import annotations

from loop.storage.testing.accounts import AccountContract
from loop.storage.testing.admin import AdminContract
from loop.storage.testing.calls import CallContract
from loop.storage.testing.checks import SessionCheckContract
from loop.storage.testing.faults import FaultContract
from loop.storage.testing.lifecycle import (
    LifecycleContract,
    PinnedSecretsContract,
    SecretsContract,
)
from loop.storage.testing.quotas import QuotaContract
from loop.storage.testing.rooms import RoomContract
from loop.storage.testing.sessions import SessionContract
from loop.storage.testing.signalling import SignallingContract
from loop.storage.testing.webpush import WebPushContract


class StorageContract(
    SessionContract,
    SessionCheckContract,
    RoomContract,
    CallContract,
    AccountContract,
    WebPushContract,
    SecretsContract,
    PinnedSecretsContract,
    LifecycleContract,
    FaultContract,
    SignallingContract,
    QuotaContract,
    AdminContract,
):
    """Everything a backend must do; subclass it as ``Test<Backend>Storage``."""


__all__ = [
    "AccountContract",
    "AdminContract",
    "CallContract",
    "FaultContract",
    "LifecycleContract",
    "PinnedSecretsContract",
    "QuotaContract",
    "RoomContract",
    "SecretsContract",
    "SessionContract",
    "SignallingContract",
    "StorageContract",
    "WebPushContract",
]
