"""A read-only, picklable mapping for the frozen stage records."""

from __future__ import annotations

from collections.abc import Iterator, Mapping


class FrozenMap(Mapping):
    """``dict`` contents behind the read-only Mapping interface (picklable, unlike
    ``types.MappingProxyType``, so records can cross to worker processes)."""

    __slots__ = ("_data",)

    def __init__(self, *args, **kwargs):
        self._data = dict(*args, **kwargs)

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self) -> Iterator:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"
