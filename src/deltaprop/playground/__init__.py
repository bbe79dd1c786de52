"""deltaprop playground: watch backpropagation learn, live in the browser.

``deltaprop playground`` serves a local web page on which deltaprop's own engine
(:func:`deltaprop.mlp`, :class:`deltaprop.Trainer`) trains a small network on 2-D data and
streams every epoch to the page: the decision boundary, each neuron's output over the input
plane, the weights, the loss curves and the diagnostics of 000 §9.3. See docs/playground.md.

>>> from deltaprop.playground import PlaygroundState
>>> PlaygroundState(layers="8,8").layers
(8, 8)
"""

from __future__ import annotations

from typing import Any

from deltaprop.playground.state import PlaygroundState

__all__ = ["PlaygroundState", "add_cli", "serve"]


def add_cli(subparsers: Any) -> Any:
    """Register ``deltaprop playground`` on an argparse ``subparsers`` object."""
    from deltaprop.playground.cli import add_cli as add

    return add(subparsers)


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = True) -> None:
    """Serve the playground on ``host:port`` until interrupted (prints the address)."""
    from deltaprop.playground.server import serve as run

    run(host, port, open_browser)
