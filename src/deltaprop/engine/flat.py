"""Flat parameter buffers (performance): every W, b (and dW, db) of a network is a view of one
contiguous array, so an optimizer updates all of them with a few ufunc calls over one array.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def flatten_network(net) -> None:
    """Lay all parameters of ``net`` out in one contiguous buffer, and all gradients in another.

    Every ``W``, ``b``, ``dW``, ``db`` (and every other layer parameter named in
    ``layer.param_attrs``, e.g. BatchNorm's γ, β) becomes a view of its flat buffer, in the order of
    ``net.parameters()`` (``net._flat_params``, ``net._flat_grads``), so an optimizer can update
    all of them with a few ufunc calls over one array (see :func:`flat_view`) instead of a few
    per array.
    """
    for attr, grads in (("_flat_params", False), ("_flat_grads", True)):
        arrays = net.gradients() if grads else net.parameters()
        flat = np.empty(sum(a.size for a in arrays), dtype=net.dtype)
        pos = 0
        for layer in net.layers:
            for pair in layer.param_attrs:
                name = pair[1] if grads else pair[0]
                old = getattr(layer, name)
                if old is None:
                    continue
                view = flat[pos:pos + old.size].reshape(old.shape)
                view[...] = old
                setattr(layer, name, view)
                pos += old.size
        setattr(net, attr, flat)


def flat_view(arrays: Sequence[np.ndarray]) -> np.ndarray | None:
    """The 1-D buffer that ``arrays`` tile exactly, in order, or None.

    The network lays its parameters (and gradients) out this way (``Network._flatten``), so an
    optimizer can update all of them with one ufunc call per rule term instead of one per array.
    """
    if not arrays:
        return None
    base = arrays[0].base
    if base is None or base.ndim != 1 or not base.flags.c_contiguous:
        return None
    pos = start = base.__array_interface__["data"][0]
    for a in arrays:
        if a.base is not base or not a.flags.c_contiguous or a.dtype != base.dtype:
            return None
        if a.__array_interface__["data"][0] != pos:
            return None
        pos += a.nbytes
    return base if pos == start + base.nbytes else None


def flat_state(params, grads, slot_names, slots) -> tuple | None:
    """Flat optimizer state when ``params`` and ``grads`` each tile one buffer, else None.

    Returns ``((flat params, flat grads), {slot: flat array}, {slot: per-array views})``; the
    per-array views keep ``get_state`` unchanged, and values already in ``slots`` (restored
    from a checkpoint) are kept.
    """
    flat_p = flat_view(params)
    flat_g = None if grads is None else flat_view(grads)
    if (flat_p is None or flat_g is None or flat_g.dtype != flat_p.dtype
            or flat_g.size != flat_p.size):
        return None
    flat_slots, views = {}, {}
    for name in slot_names:
        state = np.zeros_like(flat_p)
        pieces, pos = [], 0
        for j, p in enumerate(params):
            view = state[pos:pos + p.size].reshape(p.shape)
            if name in slots:  # restored from a checkpoint: keep the values
                view[...] = slots[name][j]
            pieces.append(view)
            pos += p.size
        flat_slots[name], views[name] = state, pieces
    return (flat_p, flat_g), flat_slots, views
