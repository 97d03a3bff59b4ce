"""Private helpers shared by lrlib's core: argument checks, plain-number conversion and
the config registry. Only the standard library is imported.

Every check raises ``ValueError`` naming the parameter and the allowed range. numpy
scalars and 0-d torch (or jax) tensors are numbers here: :func:`plain` turns them (and
arrays, lists, tuples of them) into plain Python values, so a schedule built from numpy
inputs stores ``int``/``float``/``tuple`` and its checkpoint loads with
``torch.load(weights_only=True)``. They are recognised by duck typing (the ``numbers``
ABCs, which numpy registers with, then ``ndim`` with ``item()``/``tolist()``), so
neither numpy nor torch is ever imported here.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

__all__ = ["plain", "check_real", "check_int", "check_bool", "check_choice", "check_step",
           "Configurable", "from_config", "MAX_CONFIG_DEPTH"]


# --------------------------------------------------------------------------- numbers
def plain(value: Any) -> Any:
    """``value`` as plain Python: numpy/torch scalars become ``int``/``float``/``bool``,
    arrays, lists and tuples become tuples of plain values; anything else is returned as is."""
    t = type(value)
    if t is int or t is float or t is bool or t is str or value is None:
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, numbers.Integral):  # numpy integers register here
        return int(value)
    if isinstance(value, numbers.Real):  # numpy floats (np.float64 subclasses float)
        return float(value)
    ndim = getattr(value, "ndim", None)
    if ndim == 0 and hasattr(value, "item"):  # 0-d torch tensor or numpy array, numpy bool
        return plain(value.item())
    if ndim is not None and hasattr(value, "tolist"):  # arrays and tensors of any rank
        return plain(value.tolist())
    if isinstance(value, (list, tuple)):
        return tuple(plain(v) for v in value)
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _interval(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    lo_s = "-inf" if lo is None else repr(lo)
    hi_s = "inf" if hi is None else repr(hi)
    return f"{'(' if lo_open or lo is None else '['}{lo_s}, {hi_s}{')' if hi_open or hi is None else ']'}"


def check_real(name: str, value: Any, lo: float | None = None, hi: float | None = None,
               lo_open: bool = False, hi_open: bool = False) -> float:
    """Return ``float(value)`` if it is a finite real inside the interval, else raise ``ValueError``."""
    value = plain(value)
    if not _is_number(value) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite real number in "
                         f"{_interval(lo, hi, lo_open, hi_open)}, got {value!r}")
    if (lo is not None and (value < lo or (lo_open and value == lo))) or \
            (hi is not None and (value > hi or (hi_open and value == hi))):
        raise ValueError(f"{name} must be in {_interval(lo, hi, lo_open, hi_open)}, got {value!r}")
    return float(value)


def check_int(name: str, value: Any, lo: int = 0) -> int:
    """Return ``value`` as an ``int`` if it is an integer ``>= lo``, else raise ``ValueError``."""
    value = plain(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {value!r}")
    return value


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is ``True`` or ``False`` (numpy bools included)."""
    value = plain(value)
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def check_step(step: Any) -> int | float:
    """Validate a step given to a schedule: a finite real ``>= 0`` (numpy and 0-d tensors too)."""
    if type(step) is int and step >= 0:  # the common case, kept cheap
        return step
    step = plain(step)
    if not _is_number(step) or not math.isfinite(step) or step < 0:
        raise ValueError(f"step must be a finite number >= 0, got {step!r}")
    return step


# --------------------------------------------------------------------------- configs
_REGISTRY: dict[str, type] = {}
MAX_CONFIG_DEPTH = 64


def _config_name(cls: type) -> str:
    """lrlib's own classes by bare name; any other subclass by module and qualified name,
    so a user's ``class Cosine(lrlib.Cosine)`` can never stand in for lrlib's."""
    if cls.__module__.split(".")[0] == "lrlib":
        return cls.__name__
    return f"{cls.__module__}.{cls.__qualname__}"


class Configurable:
    """Mixin for frozen dataclasses: plain-number fields, ``to_config()`` and a registry entry.

    Subclasses put their validation in ``_check()``; ``__post_init__`` first turns numpy and
    torch numbers in the fields into plain Python values, then calls it.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _REGISTRY[_config_name(cls)] = cls

    def __post_init__(self) -> None:
        import dataclasses

        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            p = plain(v)
            if p is not v:
                object.__setattr__(self, f.name, p)
        self._check()

    def _check(self) -> None:
        """Validate the fields; raise ``ValueError`` naming the bad one."""

    def to_config(self) -> dict[str, Any]:
        """A JSON-able dict (nested objects become nested dicts); :func:`from_config` inverts it."""
        import dataclasses

        config: dict[str, Any] = {"name": _config_name(type(self))}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            config[f.name] = _encode(getattr(self, f.name))
        return config


def _encode(v: Any) -> Any:
    if isinstance(v, Configurable):
        return v.to_config()
    if isinstance(v, tuple):
        return [_encode(x) for x in v]
    return v


def _decode(v: Any, depth: int) -> Any:
    if isinstance(v, dict) and "name" in v:
        return from_config(v, _depth=depth + 1)
    if isinstance(v, (list, tuple)):
        if depth > MAX_CONFIG_DEPTH:
            raise ValueError(f"config is nested more than {MAX_CONFIG_DEPTH} levels deep")
        return tuple(_decode(x, depth + 1) for x in v)
    return v


def from_config(config: dict[str, Any], *, _depth: int = 0) -> Any:
    """Rebuild a schedule (or a :class:`~lrlib.Plateau`) from its ``to_config()`` output.

    Args:
        config: a dict with a ``"name"`` key naming an lrlib class (or a user subclass by its
            module and qualified name) and one key per field; nested schedules are nested dicts.

    Unknown names or keys, missing fields, bad values and configs nested more than
    ``MAX_CONFIG_DEPTH`` levels deep raise ``ValueError``.

    >>> import lrlib
    >>> lrlib.from_config({"name": "Cosine", "total_steps": 100, "end": 0.1})
    Cosine(total_steps=100, end=0.1)
    """
    if _depth > MAX_CONFIG_DEPTH:
        raise ValueError(f"config is nested more than {MAX_CONFIG_DEPTH} levels deep")
    if not isinstance(config, dict) or "name" not in config:
        raise ValueError(f"config must be a dict with a 'name' key, got {config!r:.200}")
    name = config["name"]
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"config['name'] must be one of {sorted(_REGISTRY)}, got {name!r:.200}")
    cls = _REGISTRY[name]
    import dataclasses

    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(config) - fields - {"name"})
    if unknown:
        raise ValueError(f"config for {name} has unknown keys {unknown}; allowed: {sorted(fields)}")
    kwargs = {k: _decode(v, _depth) for k, v in config.items() if k != "name"}
    try:
        return cls(**kwargs)
    except TypeError as e:  # a missing required field
        raise ValueError(f"config for {name} is incomplete: {e}") from None
