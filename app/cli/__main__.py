"""`python -m app.cli`: the `debrief` command."""

from app.cli.commands import main

main()
