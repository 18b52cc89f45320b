"""The one exception type for bad input: it renders as a single line for the user.

Also the helpers that keep such lines right: ``printable`` (no raw control character reaches
the terminal), ``did_you_mean`` (a hint for a misspelt name) and ``toml_error`` (a TOML
syntax error with its line, and a hint when the line holds an unquoted decimal comma).
"""
from __future__ import annotations

import difflib
import re
import unicodedata
from pathlib import Path
from typing import Iterable, Mapping

#: characters that move the cursor or reorder text on a terminal without being control characters
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str) -> str:
    """``text`` with every control character (and bidi override) written as an escape such as ``\\x1b``.

    A message may quote user input (a file name, a key, TOML text); printed raw, an escape
    sequence in it would reach the terminal. Whitespace controls are left to the caller.
    """
    if text.isprintable():
        return text
    return "".join(_escaped(ch) if _hidden(ch) else ch for ch in text)


def _hidden(ch: str) -> bool:
    return (unicodedata.category(ch) == "Cc" and ch not in "\t\n\r") or ch in _BIDI


def _escaped(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


#: a word of a message longer than this is echoed input (a 100 000-character key): shown by its ends
MAX_ECHOED_WORD = 120


def _cut_echoes(text: str) -> str:
    return re.sub(rf"\S{{{MAX_ECHOED_WORD + 1},}}",
                  lambda word: f"{word[0][:80]}…({len(word[0])} characters)…{word[0][-20:]}", text)


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
        field, expected = _cut_echoes(self.field), _cut_echoes(self.expected)
        text = f"{self.source}: {field}: {expected}" if field else f"{self.source}: {expected}"
        return printable(" ".join(text.split()))  # always a single line, never a raw control character

    def with_source(self, source: str) -> "SpecError":
        return SpecError(self.field, self.expected, source)


def did_you_mean(word: str, choices: Iterable[str], synonyms: Mapping[str, str] | None = None,
                 quote: bool = False) -> str:
    """``"; did you mean relu?"`` for a misspelt or wrongly cased ``word``, or ``""`` when nothing is close.

    The comparison ignores case, ``-``/``_``/spaces (``ReLU``, ``Leaky-ReLU``); ``synonyms`` maps
    other libraries' names (lowercase, without separators) to the word meant (``logistic`` → sigmoid).
    ``quote`` writes the suggestion as 'mean', for messages that quote their choices.
    """
    if not isinstance(word, str) or not word.strip():
        return ""
    plain: dict[str, list[str]] = {}
    for choice in choices:
        plain.setdefault(_plain(choice), []).append(choice)
    key = _plain(word)
    if key in plain:
        found = plain[key]
    elif synonyms and key in synonyms:
        found = [synonyms[key]]
    else:
        found = [c for k in difflib.get_close_matches(key, list(plain), n=2, cutoff=0.75) for c in plain[k]]
    found = [repr(c) if quote else c for c in found if c != word]
    return f"; did you mean {' or '.join(found)}?" if found else ""


def _plain(word: str) -> str:
    return re.sub(r"[\s_\-]", "", word.lower())


#: a number with a decimal comma, as TOML reads it: 0,5017 outside a string
_DECIMAL_COMMA = re.compile(r"(?<![\w.\"'])[-+]?\d+,\d+(?:[eE][-+]?\d+)?(?![\w.])")
_TOML_PLACE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


def toml_error(message: str, text: str | None, source: str) -> SpecError:
    """A TOML syntax error as ``FILE: expected valid TOML at line N, column M (...)``, with a decimal-comma hint.

    ``message`` is tomllib's (it ends with ``(at line N, column M)``); ``text`` the file's text, whose
    line N is looked at: ``value = 0,5017`` reads as two values, so the hint says to quote the number.
    """
    place = _TOML_PLACE.search(message)
    if place is None:
        return SpecError("", f"expected valid TOML ({message})", source)
    number, column = int(place.group(1)), int(place.group(2))
    reason = message[:place.start()]
    lines = (text or "").split("\n")   # tomllib counts lines by newline only
    line = lines[number - 1] if 0 < number <= len(lines) else ""
    hint = ""
    comma = _DECIMAL_COMMA.search(_outside_strings(line))
    if comma:
        key = re.search(r"([A-Za-z0-9_-]+)\s*=\s*$", line[:comma.start()])
        quoted = f'"{comma.group()}"'
        hint = f"; a decimal comma must be quoted: {key.group(1) + ' = ' if key else ''}{quoted}"
    return SpecError("", f"expected valid TOML at line {number}, column {column} ({reason}){hint}", source)


def _outside_strings(line: str) -> str:
    """``line`` with its quoted strings and its comment blanked (same length), so only bare TOML is searched."""
    out, quote = [], ""
    for ch in line:
        if quote:
            out.append(" ")
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
            out.append(" ")
        elif ch == "#":
            break
        else:
            out.append(ch)
    return "".join(out)


#: spec and answers files are small; a larger input (or /dev/zero) is refused before it fills memory
MAX_INPUT_BYTES = 4 * 1024 * 1024


def read_capped(handle, source: str, what: str) -> bytes:
    """The bytes of an open input file, at most ``MAX_INPUT_BYTES`` (read no further: a device never ends)."""
    data = handle.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise SpecError("", f"expected {what} of at most {MAX_INPUT_BYTES // (1024 * 1024)} MiB, got a larger file",
                        source)
    return data


def make_directories(directory: Path) -> list[Path]:
    """Create ``directory`` and its missing parents; return those created, outermost first, so that a failed
    write removes exactly what it made (in reverse)."""
    missing = []
    current = directory
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        path.mkdir()
    return list(reversed(missing))
