"""Parsing of the name-or-dict specifications the registries accept (activations, init)."""

from __future__ import annotations

from deltaprop.errors import InputError


def split_spec(spec, params: dict, what: str, accepted: str) -> tuple[str, dict]:
    """``("elu", {"beta": 0.5})`` from ``"elu"`` + params or ``{"name": "elu", "beta": 0.5}``.

    ``what`` names the argument and ``accepted`` the types it takes, for the error message.
    """
    if isinstance(spec, dict):
        params = {**{k: v for k, v in spec.items() if k != "name"}, **params}
        spec = spec.get("name", "")
    if not isinstance(spec, str):
        raise InputError(f"{what} must be {accepted}, got {type(spec).__name__}")
    return spec, params
