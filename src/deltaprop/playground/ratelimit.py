"""Request-rate limits: one token bucket per client address and kind of request.

Examples
--------
>>> limiter = RateLimiter(rate=1.0, burst=2)
>>> [limiter.allow("127.0.0.1", now=0.0) for _ in range(3)]
[True, True, False]
>>> limiter.allow("127.0.0.1", now=1.0)
True
"""

from __future__ import annotations

import threading
import time

__all__ = ["RateLimiter"]


class RateLimiter:
    """Allow ``burst`` requests at once and ``rate`` per second on average, per key.

    Parameters
    ----------
    rate : float
        Tokens added per second.
    burst : int
        Bucket size: the most requests allowed in a burst.
    max_keys : int
        Buckets kept; the stalest are dropped beyond this (bounded memory).
    """

    def __init__(self, rate: float, burst: int, max_keys: int = 1024) -> None:
        self.rate, self.burst, self.max_keys = float(rate), float(burst), int(max_keys)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> bool:
        """Take a token for ``key``; False when its bucket is empty."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            if len(self._buckets) > self.max_keys:
                stalest = min(self._buckets, key=lambda k: self._buckets[k][1])
                del self._buckets[stalest]
            return allowed
