"""Look things up by name; an unknown name answers "did you mean ...".

Used for formats, tasks, model aliases, optimizers and price entries.
"""
from __future__ import annotations

from typing import Generic, TypeVar

from tunewise.errors import UnknownNameError
from tunewise.typed_config import did_you_mean  # noqa: F401  (one wording everywhere)

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T | None = None):
        if item is not None:
            self._items[name] = item
            return item

        def deco(obj):
            self._items[name] = obj
            return obj
        return deco

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError(f"unknown {self.kind} {name!r}",
                                   fix=did_you_mean(name, self._items)) from None

    def names(self) -> list[str]:
        return list(self._items)

    def __contains__(self, name: str) -> bool:
        return name in self._items
