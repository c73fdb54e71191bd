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
    does not stay in memory past the next refresh. Beyond `max_bytes` of a model's pages (as
    their keepers count them), the least recently used go."""

    def __init__(self, max_bytes: int = 8 << 20) -> None:
        self.max_bytes = max_bytes
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
        if stamp is None or self._stamps.get(model) != stamp or size > self.max_bytes:
            return
        pages = self._pages[model]
        replaced = pages.pop(key, None)
        self._bytes[model] += size - (replaced[1] if replaced else 0)
        pages[key] = (page, size)
        while self._bytes[model] > self.max_bytes:
            _, (_, dropped) = pages.popitem(last=False)
            self._bytes[model] -= dropped
