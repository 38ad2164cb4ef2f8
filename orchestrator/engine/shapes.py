"""One codec between the JSON the orchestrator stores and the frozen dataclasses it means.

Event payloads, step outputs and pending-action data live in JSON columns, and rows written by
earlier versions must keep loading, so a shape's fields are the stored keys in their stored
order and formats (datetimes as `isoformat()`, tuples as lists). Reading back validates: a row
that does not fit raises `ShapeError`, which fails the one job or action that reads it.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from datetime import date, datetime
from typing import Any, Self, TypeVar

OMIT_IF_NONE = "omit_if_none"


class ShapeError(ValueError):
    """Stored JSON that does not have the shape its type declares."""


def optional_key() -> Any:
    """A field whose key is left out of the JSON while it is None (as the old dicts did)."""
    return field(default=None, metadata={OMIT_IF_NONE: True})


@dataclass(frozen=True)
class Shape:
    """Base of every stored shape; `to_json`/`from_json` are the only ways across."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        hints = _hints(type(self))
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.metadata.get(OMIT_IF_NONE):
                continue
            out[f.name] = _dump(hints[f.name], value)
        return out

    @classmethod
    def from_json(cls, data: object) -> Self:
        if not isinstance(data, Mapping):
            raise ShapeError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
        hints = _hints(cls)
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in data:
                values[f.name] = _load(hints[f.name], data[f.name], f"{cls.__name__}.{f.name}")
            elif f.default is MISSING and f.default_factory is MISSING:
                raise ShapeError(f"{cls.__name__}: missing {f.name!r}")
        return cls(**values)


S = TypeVar("S", bound=Shape)


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _dump(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, Shape):
        return value.to_json()
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    if isinstance(value, tuple | list):
        (item,) = typing.get_args(hint)[:1] or (Any,)
        return [_dump(item, v) for v in value]
    return value


def _load(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if origin is types.UnionType or origin is typing.Union:
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _load(inner, value, where)
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            raise ShapeError(f"{where}: expected a list, got {value!r}")
        item = typing.get_args(hint)[0]
        loaded = [_load(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(loaded) if origin is tuple else loaded
    if origin is dict:
        if not isinstance(value, dict):
            raise ShapeError(f"{where}: expected an object, got {value!r}")
        return value
    if isinstance(hint, type) and issubclass(hint, Shape):
        try:
            return hint.from_json(value)
        except ShapeError as exc:
            raise ShapeError(f"{where}: {exc}") from None
    if hint in (datetime, date):
        if not isinstance(value, str):
            raise ShapeError(f"{where}: expected an ISO date, got {value!r}")
        try:
            return hint.fromisoformat(value)
        except ValueError:
            raise ShapeError(f"{where}: not an ISO date: {value!r}") from None
    return _scalar(hint, value, where)


def _scalar(hint: Any, value: Any, where: str) -> Any:
    # bool is an int in Python but not in the JSON we wrote; an int is a fine float.
    ok = {
        str: isinstance(value, str),
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, int | float) and not isinstance(value, bool),
    }.get(hint)
    if ok is None:
        raise TypeError(f"{where}: no JSON codec for {hint!r}")
    if not ok:
        raise ShapeError(f"{where}: expected {hint.__name__}, got {value!r}")
    return value
