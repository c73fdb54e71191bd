"""The `debrief` command line: serve, migrate, keys, the OpenAPI document, CSV import."""

from app.cli.commands import main

__all__ = ["main"]
