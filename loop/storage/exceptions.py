"""The root of the storage exceptions, in a module of its own so the feature interfaces
(:mod:`loop.storage.calls`), imported by :mod:`loop.storage` before it defines the rest,
can derive their domain outcomes from it."""

from __future__ import annotations


class StorageError(Exception):
    """Base of everything a storage method raises."""
