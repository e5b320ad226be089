"""``python -m mlwright`` — the same as the ``mlwright`` command."""

from .cli import main

main()
