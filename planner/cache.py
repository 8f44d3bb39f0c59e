"""The result cache: node results memoized by id in a byte-bounded LRU, so a sub-plan shared
by many programs over the same tables runs once."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import pandas as pd


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    evictions: int = 0
    entries: int = 0
    bytes: int = 0
    capacity: int = 0

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


def frame_bytes(frame) -> int:
    """Bytes a result holds: its column buffers (Arrow strings report their true size). Summed
    block by block: the same total as column by column (a block holds its columns' buffers, a
    view only its own part), without building a Series per column (20x the cost)."""
    if isinstance(frame, pd.DataFrame):
        blocks = getattr(getattr(frame, "_mgr", None), "blocks", None)
        if blocks is None:  # another pandas layout: the public, slower way
            return sum(column.array.nbytes for _, column in frame.items())
        return sum(block.values.nbytes for block in blocks)
    return 64


class LruDict(OrderedDict):
    """A mapping that keeps its ``capacity`` most recently used entries."""

    def __init__(self, capacity: int):
        super().__init__()
        self.capacity = capacity

    def remember(self, key, make):
        """The value for ``key``, made by ``make()`` the first time."""
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = self[key] = make()
        if len(self) > self.capacity:
            self.popitem(last=False)
        return value


class ResultCache:
    """Node results by id, least recently used evicted first once ``capacity`` bytes are held."""

    def __init__(self, capacity: int = 512 * 2**20):
        self._entries: OrderedDict[str, tuple[object, int]] = OrderedDict()
        self.stats = CacheStats(capacity=capacity)

    def get(self, node_id: str):
        entry = self._entries.get(node_id)
        if entry is None:
            self.stats.misses += 1
            return None
        self._entries.move_to_end(node_id)
        self.stats.hits += 1
        return entry[0]

    def put(self, node_id: str, frame, size: int | None = None) -> None:
        size = frame_bytes(frame) if size is None else size
        if size > self.stats.capacity or node_id in self._entries:
            return
        self._entries[node_id] = (frame, size)
        self.stats.bytes += size
        while self.stats.bytes > self.stats.capacity:
            _, (_, evicted) = self._entries.popitem(last=False)
            self.stats.bytes -= evicted
            self.stats.evictions += 1
        self.stats.entries = len(self._entries)

    def clear(self) -> None:
        self._entries.clear()
        self.stats = CacheStats(capacity=self.stats.capacity)
