"""Push notifications to a user's devices (loop-api.md §7, D17).

The face of the package: :class:`PushNotifier` (:mod:`loop.push.notifier`) is what the
app holds and routes call; :class:`Sender` (:mod:`loop.push.base`) is what a push
protocol implements — :class:`SimplePushSender` and :class:`WebPushSender` are the two
there are. :class:`RetryPolicy` and :class:`Delivery` are the notifier's vocabulary for
"try again" and "what the push service said".
"""

from __future__ import annotations

from loop.push.base import Delivery, Kind, Sender
from loop.push.notifier import ForgetTarget, PushNotifier, status_url
from loop.push.retry import RetryPolicy
from loop.push.simplepush import SimplePushSender
from loop.push.webpush import WebPushSender

__all__ = [
    "Delivery",
    "ForgetTarget",
    "Kind",
    "PushNotifier",
    "RetryPolicy",
    "Sender",
    "SimplePushSender",
    "WebPushSender",
    "status_url",
]
