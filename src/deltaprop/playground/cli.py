"""``deltaprop playground``: the command that starts the playground's server."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_cli", "run_cli"]


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535, got {text!r}")
    return port


def add_cli(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``deltaprop playground`` on an argparse ``subparsers`` object.

    The parser sets ``func=run_cli``; the caller runs ``args.func(args)``.
    """
    p = subparsers.add_parser(
        "playground", help="watch backpropagation learn, live in the browser",
        description="Serve a local web page on which deltaprop trains a network on 2-D data "
                    "and shows every epoch: decision boundary, neuron heatmaps, weights, "
                    "loss curves and diagnostics (docs/playground.md). Ctrl-C stops it.")
    p.add_argument("--port", type=_port, default=8000,
                   help="TCP port (default: 8000; 0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("--verbose", action="store_true", help="log every request")
    p.set_defaults(func=run_cli)
    return p


def run_cli(args: argparse.Namespace) -> int:
    """Run ``deltaprop playground`` for parsed ``args`` (returns when interrupted)."""
    from deltaprop.playground.server import serve

    serve(args.host, args.port, not args.no_browser, quiet=not args.verbose)
    return 0
