"""Who may change what every visitor shares (train, cancel, resume, activate): one check for all of them.

With no token configured (a local run) everyone may. Otherwise the token is compared in constant
time, and each wrong one makes every attempt wait (2 s, doubling with each wrong token in a row,
at most a minute), so guessing is hopeless. The gate is per server process: all sessions count
together.
"""
from __future__ import annotations

import hmac
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from .config import TOKEN_DELAY_S


class NotAllowed(Exception):
    """The action is refused; the message says why and what to do."""


@dataclass
class TokenGate:
    first_delay_s: float = TOKEN_DELAY_S[0]
    max_delay_s: float = TOKEN_DELAY_S[1]
    clock: Callable[[], float] = time.monotonic
    failures: int = 0  # wrong tokens in a row
    blocked_until: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def check(self, given: str | None, configured: str | None) -> None:
        """Return when allowed; raise NotAllowed otherwise."""
        if not configured:
            return
        with self._lock:
            wait = self.blocked_until - self.clock()
            if wait > 0:
                raise NotAllowed(f"Too many wrong tokens: try again in {math.ceil(wait)} s.")
            if hmac.compare_digest((given or "").encode(), configured.encode()):
                self.failures = 0
                return
            self.failures += 1
            delay = min(self.first_delay_s * 2 ** (self.failures - 1), self.max_delay_s)
            self.blocked_until = self.clock() + delay
        raise NotAllowed("Wrong retrain token: ask whoever runs this app for it.")


GATE = TokenGate()


def authorise(given: str | None, configured: str | None) -> None:
    """The one check before any action that changes shared state; NotAllowed when refused."""
    GATE.check(given, configured)
