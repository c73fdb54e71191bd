"""The routers the domains declare their routes on.

FastAPI tries the included routers one after another, and each tries its routes in turn; a
route's check is not cheap (its own scope bookkeeping, then the path's regex), and a request
for the debrief POST passed some forty routes of other routers first. This router first asks
whether the path could be one of its routes' at all: every route's path starts with the
static part they share (up to the first `{`), so a path that does not is turned away at once.
What matches, and in which order, is as before. (The app includes these routers without a
prefix of its own, which their paths would not show: `tests/api/test_routing.py` holds that.)
"""

from __future__ import annotations

import os

from fastapi import APIRouter as FastAPIRouter
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.types import Scope


class APIRouter(FastAPIRouter):
    """FastAPI's router, turning away a path none of its routes can match before trying them."""

    _shared_start: tuple[int, str] | None = None  # (routes counted, their shared start)

    def shared_start(self) -> str:
        """The start every route's path has in common ("" when one has no path)."""
        known = self._shared_start
        if known is None or known[0] != len(self.routes):
            paths = [getattr(route, "path", None) for route in self.routes]
            start = ""
            if paths and all(isinstance(path, str) for path in paths):
                statics = [str(path).split("{", 1)[0] for path in paths]
                start = os.path.commonprefix(statics)  # noqa: RUF071 (a string's start is meant)
            known = self._shared_start = (len(self.routes), start)
        return known[1]

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and not get_route_path(scope).startswith(self.shared_start()):
            return Match.NONE, {}
        return super().matches(scope)
