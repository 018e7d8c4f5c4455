"""In-memory caching primitives for the symbol store: an LRU bounded by count and bytes, single-flight loading."""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Value = TypeVar("Value")


class BoundedLru(Generic[Value]):
    """A least-recently-used map bounded by its number of entries and by their total size.

    `size_of` gives an entry's size in bytes, counted when it is put. Without `max_bytes`
    only the count is bounded. An entry larger than `max_bytes` by itself is not kept.
    `on_evict(reason)` is called with "count" or "bytes" for each entry dropped to keep
    a bound. Not thread-safe.
    """

    def __init__(
        self,
        max_size: int,
        max_bytes: int | None = None,
        size_of: Callable[[Value], int] = lambda value: 0,
        on_evict: Callable[[str], None] = lambda reason: None,
    ) -> None:
        if max_size < 1:
            raise ValueError(f"max_size must be at least 1, got {max_size}")
        if max_bytes is not None and max_bytes < 1:
            raise ValueError(f"max_bytes must be at least 1 or None, got {max_bytes}")
        self.max_size = max_size
        self.max_bytes = max_bytes
        self._size_of = size_of
        self._on_evict = on_evict
        self._entries: OrderedDict[Hashable, tuple[Value, int]] = OrderedDict()
        self.total_bytes = 0

    def get(self, key: Hashable) -> Value | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: Hashable, value: Value) -> None:
        size = self._size_of(value)
        self.pop(key)
        if self.max_bytes is not None and size > self.max_bytes:
            self._on_evict("bytes")
            return
        self._entries[key] = (value, size)
        self.total_bytes += size
        while len(self._entries) > self.max_size:
            self._evict_oldest("count")
        while self.max_bytes is not None and self.total_bytes > self.max_bytes:
            self._evict_oldest("bytes")

    def pop(self, key: Hashable) -> Value | None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return None
        self.total_bytes -= entry[1]
        return entry[0]

    def _evict_oldest(self, reason: str) -> None:
        _, (_, size) = self._entries.popitem(last=False)
        self.total_bytes -= size
        self._on_evict(reason)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries


class _Flight(Generic[Value]):
    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Value | None = None
        self.error: BaseException | None = None


class CachedLoader(Generic[Value]):
    """A thread-safe BoundedLru that loads each missing key once, however many threads ask.

    The first thread to miss a key runs `load`; the others wait for its outcome. A
    successful value goes into the LRU. An exception for which `is_permanent` returns
    True is cached too and raised again for that key until it drops out of the LRU,
    because retrying would fail the same way. Any other exception reaches every waiting
    thread and is not cached.
    """

    def __init__(
        self,
        max_size: int,
        is_permanent: Callable[[BaseException], bool] = lambda error: False,
        *,
        max_bytes: int | None = None,
        size_of: Callable[[Value], int] = lambda value: 0,
        on_evict: Callable[[str], None] = lambda reason: None,
    ) -> None:
        self._lock = threading.Lock()
        self._lru: BoundedLru[Value | BaseException] = BoundedLru(
            max_size, max_bytes, lambda entry: 0 if isinstance(entry, BaseException) else size_of(entry), on_evict
        )
        self._flights: dict[Hashable, _Flight[Value]] = {}
        self._is_permanent = is_permanent

    def get(self, key: Hashable, load: Callable[[], Value]) -> Value:
        with self._lock:
            cached = self._lru.get(key)
            flight = self._flights.get(key)
            is_leader = cached is None and flight is None
            if is_leader:
                flight = self._flights[key] = _Flight()
        if cached is not None:
            return _unwrap(cached)
        assert flight is not None
        if not is_leader:
            flight.done.wait()
            if flight.error is not None:
                raise _fresh_copy(flight.error)
            assert flight.value is not None
            return flight.value
        return self._load_as_leader(key, load, flight)

    def _load_as_leader(self, key: Hashable, load: Callable[[], Value], flight: _Flight[Value]) -> Value:
        try:
            flight.value = load()
        except BaseException as error:
            flight.error = error
            with self._lock:
                if self._is_permanent(error):
                    self._lru.put(key, error)
                del self._flights[key]
            flight.done.set()
            raise
        with self._lock:
            self._lru.put(key, flight.value)
            del self._flights[key]
        flight.done.set()
        return flight.value

    def discard(self, key: Hashable) -> None:
        with self._lock:
            self._lru.pop(key)

    @property
    def total_bytes(self) -> int:
        with self._lock:
            return self._lru.total_bytes

    def __len__(self) -> int:
        with self._lock:
            return len(self._lru)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._lru


def _unwrap(cached: Value | BaseException) -> Value:
    if isinstance(cached, BaseException):
        raise _fresh_copy(cached)
    return cached


def _fresh_copy(error: BaseException) -> BaseException:
    # Raising one stored instance again and again would grow its traceback each time.
    return copy.copy(error).with_traceback(None)
