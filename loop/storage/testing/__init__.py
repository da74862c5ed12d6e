"""The storage contract suite: every backend's tests subclass :class:`StorageContract`.

Shipped inside the package (as Kinto does) so any backend, ours or a third party's, proves
itself against the same rules. The subclass provides two fixtures:

* ``storage``: a fresh, empty :class:`~loop.storage.Storage` (closed after the test);
* ``broken_storage``: one whose backend is unavailable, so every method must raise
  :class:`~loop.storage.BackendError` and ``ping`` must return ``False``.

Time is always an argument: no test sleeps, each moves ``now`` instead.
"""

from __future__ import annotations

from loop.storage.testing.accounts import AccountContract
from loop.storage.testing.calls import CallContract
from loop.storage.testing.deletion import DeletionContract
from loop.storage.testing.expiry import ExpiryContract
from loop.storage.testing.faults import FaultContract
from loop.storage.testing.lifecycle import LifecycleContract, SecretsContract
from loop.storage.testing.listing import ListingContract
from loop.storage.testing.participants import JoinContract, PresenceContract
from loop.storage.testing.push import PushContract
from loop.storage.testing.reaping import ReapContract
from loop.storage.testing.rooms import RoomsContract
from loop.storage.testing.sessions import SessionsContract
from loop.storage.testing.signalling import SignallingContract
from loop.storage.testing.webpush import WebPushContract


class ParticipantsContract(JoinContract, PresenceContract, ReapContract):
    """Joining, presence and reaping: the soft state of rooms."""


class StorageContract(
    SessionsContract,
    PushContract,
    RoomsContract,
    DeletionContract,
    ListingContract,
    ParticipantsContract,
    ExpiryContract,
    SecretsContract,
    LifecycleContract,
    FaultContract,
    CallContract,
    AccountContract,
    WebPushContract,
    SignallingContract,
):
    """Everything a backend must do; subclass it as ``Test<Backend>Storage``."""


__all__ = [
    "AccountContract",
    "CallContract",
    "WebPushContract",
    "DeletionContract",
    "ExpiryContract",
    "FaultContract",
    "LifecycleContract",
    "ListingContract",
    "ParticipantsContract",
    "PushContract",
    "ReapContract",
    "RoomsContract",
    "SecretsContract",
    "SessionsContract",
    "SignallingContract",
    "StorageContract",
]
