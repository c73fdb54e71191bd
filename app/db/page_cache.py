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
    does not stay in memory past the next refresh; beyond `size` pages of a model, the least
    recently used go."""

    def __init__(self, size: int = 128) -> None:
        self.size = size
        self._stamps: dict[str, int | None] = {}
        self._pages: dict[str, OrderedDict[Hashable, Any]] = {}

    def get(self, model: str, key: Hashable, stamp: int | None) -> Any | None:
        """The page kept under `key` if `stamp` is the one it was kept under, else None."""
        if stamp is None or self._stamps.get(model) != stamp:
            self._stamps[model] = stamp
            self._pages[model] = OrderedDict()
            return None
        pages = self._pages[model]
        page = pages.get(key)
        if page is not None:
            pages.move_to_end(key)
        return page

    def put(self, model: str, key: Hashable, stamp: int | None, page: Any) -> None:
        """Keep `page`, read after `stamp` was; unless another stamp was seen since."""
        if stamp is None or self._stamps.get(model) != stamp:
            return
        pages = self._pages[model]
        pages[key] = page
        pages.move_to_end(key)
        while len(pages) > self.size:
            pages.popitem(last=False)
