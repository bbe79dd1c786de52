"""Draw docs/figures/architecture.svg from the code: the layers of the import-linter contract in
pyproject.toml, as boxes from top to bottom, and every import between packages that grimp finds
(function-level imports included), as arrows.

    python tools/architecture.py            # writes docs/figures/architecture.svg
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import grimp
import tomllib
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

ROOT = Path(__file__).resolve().parents[1]


def layers() -> list[list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contract = next(c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == "layers")
    return [[m.strip() for m in row.split("|")] for row in contract["layers"]]


def package_edges(names: list[str]) -> Counter:
    """(importer package, imported package) -> number of module-level import lines."""
    graph = grimp.build_graph("deltaprop")
    owner = {}
    for module in graph.modules:
        for name in names:
            if module == name or module.startswith(name + "."):
                owner[module] = name
    edges: Counter = Counter()
    for module, pkg in owner.items():
        for imported in graph.find_modules_directly_imported_by(module):
            target = owner.get(imported)
            if target is not None and target != pkg:
                edges[(pkg, target)] += 1
    return edges


def draw(out: Path) -> Path:
    rows = layers()
    names = [n for row in rows for n in row]
    edges = package_edges(names)
    fig = Figure(figsize=(9, 0.75 * len(rows) + 1.0))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 10)
    ax.set_ylim(-0.5, len(rows) + 0.2)
    ax.axis("off")
    centre = {}
    for i, row in enumerate(rows):
        y = len(rows) - 1 - i
        width = 4.0 / len(row)
        for j, name in enumerate(row):
            x = 0.5 + width * j + width / 2
            centre[name] = (x + width / 2 - 0.15, y)
            ax.add_patch(FancyBboxPatch((x - width / 2 + 0.15, y - 0.28), width - 0.3, 0.56,
                                        boxstyle="round,pad=0.02", fc="#e8f0fb", ec="#3a6ea5"))
            ax.text(x, y, name.replace("deltaprop.", ""), ha="center", va="center",
                    fontsize=11, family="monospace")
    for (src, dst), count in sorted(edges.items()):
        # every arrow leaves its box's right edge and bends out to the right, the longer the
        # drop the wider the bend, so arrows between far layers do not cross the boxes
        (x0, y0), (x1, y1) = centre[src], centre[dst]
        drop = y0 - y1
        ax.add_patch(FancyArrowPatch((x0, y0 - 0.05 * drop), (x1, y1 + 0.05 * drop),
                                     arrowstyle="-|>", mutation_scale=9,
                                     lw=0.4 + 0.15 * min(count, 10), color="#3a6ea5",
                                     alpha=0.5,
                                     connectionstyle=f"arc3,rad={-(0.35 + 0.02 * drop)}"))
    ax.text(0.5, -0.35, "arrows: imports between packages (width ~ number of imports); every "
            "arrow points down", ha="left", fontsize=8, color="#555555")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format=out.suffix.lstrip("."), metadata={"Date": None})
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs/figures/architecture.svg"
    print(draw(target))
