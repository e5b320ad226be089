"""``python -m mlwright`` — the same as the ``mlwright`` command."""

from mlwright.cli import main

main()
