"""A likely cause of a wrong number: a mistake's id and the details its sentence needs."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cause:
    """One mistake, by id, with the details its sentence needs (all strings, for reports and JSON)."""

    id: str
    details: tuple[tuple[str, str], ...] = ()

    def detail(self, name: str) -> str:
        return dict(self.details)[name]

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, **dict(self.details)}
