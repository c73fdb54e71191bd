"""Pages of read models kept in the process (`Database.pages`), each good while its model's
stamp is unchanged (`app/db/stamps.py` says why that is exact across replicas)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any


class PageCache:
    """The pages of each read model kept under the last stamp this process read of it.

    A page is answered again while the model's stamp is that one. The first read of another
    stamp drops every page of the model, so what a change replaced (an erased person's name)
    does not stay in memory past the next refresh (or the next `check`, which each process's
    sweep tick runs). Beyond `max_pages` pages of a model, or `max_bytes` (their keepers' count
    plus `PAGE_OVERHEAD` a page: the key, the entry, the objects), the least recently used
    go."""

    PAGE_OVERHEAD = 4096

    def __init__(self, max_bytes: int = 16 << 20, max_pages: int = 1024) -> None:
        self.max_bytes = max_bytes
        self.max_pages = max_pages
        self._stamps: dict[str, int | None] = {}
        self._pages: dict[str, OrderedDict[Hashable, tuple[Any, int]]] = {}
        self._bytes: dict[str, int] = {}

    def get(self, model: str, key: Hashable, stamp: int | None) -> Any | None:
        """The page kept under `key` if `stamp` is the one it was kept under, else None."""
        if stamp is None or self._stamps.get(model) != stamp:
            self._stamps[model] = stamp
            self._pages[model] = OrderedDict()
            self._bytes[model] = 0
            return None
        pages = self._pages[model]
        kept = pages.get(key)
        if kept is None:
            return None
        pages.move_to_end(key)
        return kept[0]

    def put(self, model: str, key: Hashable, stamp: int | None, page: Any, size: int) -> None:
        """Keep `page` (`size` bytes), read after `stamp` was; unless another stamp was seen
        since, or it alone is larger than the model's share."""
        size += self.PAGE_OVERHEAD
        if stamp is None or self._stamps.get(model) != stamp or size > self.max_bytes:
            return
        pages = self._pages[model]
        replaced = pages.pop(key, None)
        self._bytes[model] += size - (replaced[1] if replaced else 0)
        pages[key] = (page, size)
        while self._bytes[model] > self.max_bytes or len(pages) > self.max_pages:
            _, (_, dropped) = pages.popitem(last=False)
            self._bytes[model] -= dropped

    def check(self, model: str, stamp: int | None) -> None:
        """Drop the model's pages if `stamp` is not the one they were kept under."""
        if self._stamps.get(model) != stamp:
            self._stamps.pop(model, None)
            self._pages.pop(model, None)
            self._bytes.pop(model, None)

    def count(self, model: str) -> int:
        """How many pages of the model are kept."""
        return len(self._pages.get(model, ()))
