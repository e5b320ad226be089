"""``python -m mlwright.cli``: the same command line as ``mlwright``."""

from mlwright.cli import main

if __name__ == "__main__":
    main()
