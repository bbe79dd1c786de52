"""The server's sessions: one per page, looked up by an unguessable id, bounded in number.

Examples
--------
>>> store = SessionStore(capacity=1)
>>> a = store.add("first"); b = store.add("second")
>>> store.get(a) is None, store.get(b)
(True, 'second')
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from typing import Any

__all__ = ["SessionStore"]


class SessionStore:
    """Sessions by id; adding beyond ``capacity`` drops the least recently used one."""

    def __init__(self, capacity: int = 16) -> None:
        self.capacity = int(capacity)
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, session: Any) -> str:
        """Store ``session`` and return its new id."""
        key = secrets.token_urlsafe(16)
        with self._lock:
            self._items[key] = session
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return key

    def get(self, key: str | None) -> Any:
        """The session with id ``key`` (marked as used), or None."""
        with self._lock:
            if not isinstance(key, str) or key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
