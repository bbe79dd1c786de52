"""The ``deltaprop`` command line: each command's parsing and plumbing (nothing in the library
imports this package)."""

from deltaprop.cli.main import main

__all__ = ["main"]
