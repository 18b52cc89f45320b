"""The one exception type for bad input: it renders as a single line for the user."""
from __future__ import annotations


class SpecError(ValueError):
    """Invalid user input, reported as ``FILE: FIELD: expected ...`` on one line.

    ``source`` is the file (or ``<dict>``), ``field`` the dotted path of the
    offending field (``layers[1].activation``), ``expected`` what would be valid.
    """

    def __init__(self, field: str, expected: str, source: str = "<dict>") -> None:
        self.field = field
        self.expected = expected
        self.source = source
        super().__init__(self.line())

    def line(self) -> str:
        text = f"{self.source}: {self.field}: {self.expected}" if self.field else f"{self.source}: {self.expected}"
        return " ".join(text.split())  # always a single line

    def with_source(self, source: str) -> "SpecError":
        return SpecError(self.field, self.expected, source)
