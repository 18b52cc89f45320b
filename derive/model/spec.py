"""Read and validate a network spec (TOML file or dict) into a ``derive.network.Network``.

The spec is user input: every problem becomes one ``SpecError`` whose single-line
message names the offending field (``layers[1].activation``, ``example.W[0]``) and
what was expected, so the user can fix the file without reading a traceback.
No other exception type escapes this module's public functions.
"""
from __future__ import annotations

import keyword
from decimal import Decimal
import math
import numbers
import os
import sys
import tomllib
from typing import Any, Mapping

import numpy as np

from .decimals import parse_decimal
from .example_spatial import spatial_example
from .exercise_spec import exercise_table
from .fields import IDENTIFIER, integer as _int, show as _show, table as _table
from .layer_spec import MAX_LAYERS, MAX_UNITS, input_shape, parse_layers
from ..errors import SpecError, did_you_mean, read_capped, toml_error
from .initialization import initialization_from_spec
from .losses import LOSSES, Loss, loss_accepts, loss_hint
from .network import Example, Layer, Network, Notation, count_params
from .optimizers import PLAIN_SGD, optimizer_from_table

MAX_PARAMS = 100_000_000   # 800 MB of double parameters; every array < 2**31 entries (README, Spec)
MAX_NAME = 64

TOP_KEYS = ("name", "input", "layers", "loss", "reduction", "l2", "init", "init_scale", "optimizer", "notation",
            "example", "exercise")
NOTATION_KEYS = ("input_layer", "brackets", "weight_symbol", "delta_symbol", "cost_symbol", "weight_convention")
#: the accepted words of each [notation] choice, with what each one means (for messages and docs)
NOTATION_CHOICES = {
    "brackets": {"square": "a^[l]", "paren": "a^(l)"},
    "weight_symbol": {"W": "matrix W, entries w_jk", "w": "w for both", "theta": "θ for both"},
    "delta_symbol": {"delta": "δ, batch Δ", "epsilon": "ε, batch ℰ"},
    "cost_symbol": {"C": "C", "J": "J", "R": "R", "E": "E"},
    "weight_convention": {"Wa": "z = W a + b, W is n_l × n_{l-1}",
                          "WTa": "z = Wᵀ a + b, W is n_{l-1} × n_l, as in lecture 003"},
}
EXAMPLE_KEYS = ("W", "b", "X", "Y", "learning_rate")

C_KEYWORDS = frozenset(
    "auto break case char const continue default do double else enum extern float for goto if "
    "inline int long register restrict return short signed sizeof static struct switch typedef "
    "union unsigned void volatile while _Bool _Complex _Imaginary".split())
#: a generated NAME.py on the import path hides the module of the same name: the standard library's, and
#: those the generated module or deltagen import
SHADOWING_NAMES = frozenset(sys.stdlib_module_names) | {"numpy", "sympy", "mpmath", "jinja2", "deltagen"}
#: the generated C's own identifiers that contain '_', by the spec name that would clash with them (NAME_real ...)
GENERATED_LOCALS = {"m": "m_real", "loss": "loss_sum", "learning": "learning_rate"}


# ---------------------------------------------------------------- public API

def load_spec(path: str | os.PathLike) -> Network:
    """Read a TOML spec file and validate it; any problem is a ``SpecError`` naming the file."""
    try:
        source = str(os.fspath(path))
    except TypeError:
        raise SpecError("", f"expected a file path, got {_show(path)}") from None
    text = None
    try:
        with open(source, "rb") as handle:
            text = read_capped(handle, source, "a spec file").decode("utf-8-sig")   # a BOM (Windows editors) is not TOML
        data = tomllib.loads(text)
    except SpecError:
        raise
    except FileNotFoundError:
        raise SpecError("", "expected an existing spec file, got no such file", source) from None
    except IsADirectoryError:
        raise SpecError("", "expected a spec file, got a directory", source) from None
    except OSError as exc:
        raise SpecError("", f"expected a readable spec file ({exc.strerror or exc})", source) from None
    except UnicodeDecodeError as exc:
        raise SpecError("", f"expected a UTF-8 text file ({exc.reason} at byte {exc.start})", source) from None
    except tomllib.TOMLDecodeError as exc:   # with its line, and a hint for an unquoted decimal comma
        raise toml_error(str(exc), text, source) from None
    except RecursionError:  # absurdly nested arrays
        raise SpecError("", "expected valid TOML (arrays or tables nested too deeply to read)", source) from None
    except Exception as exc:
        raise SpecError("", f"expected valid TOML ({type(exc).__name__})", source) from None
    return spec_from_dict(data, source=source)


def spec_from_dict(data: Mapping, source: str = "<dict>") -> Network:
    """Validate an already-parsed spec and build the ``Network`` it describes.

    ``source`` names where the data came from (the file, or ``<dict>``) in messages.
    """
    try:
        return _build(data, source)
    except SpecError as exc:
        raise exc.with_source(source) from None
    except Exception as exc:  # a bug or an input we did not foresee: still one clean line
        raise SpecError("", f"expected a valid spec ({type(exc).__name__}: {exc})", source) from None


# ---------------------------------------------------------------- building

def _build(data: Any, source: str) -> Network:
    _table(data, "", TOP_KEYS)
    for key in ("name", "input", "layers", "loss"):
        if key not in data:
            raise SpecError(key, f"expected a value (required; the spec keys are {', '.join(TOP_KEYS)})")
    name = check_name(data["name"])
    n_in, shape = input_shape(data["input"])
    layers = parse_layers(data["layers"], shape)
    sizes = (n_in,) + tuple(layer.units for layer in layers)
    n_params = count_params(n_in, layers)
    if n_params > MAX_PARAMS:
        raise SpecError("layers", f"expected at most {MAX_PARAMS} parameters, got {n_params}")
    loss = _loss(data["loss"], layers[-1])
    reduction = data.get("reduction", "mean")
    if not isinstance(reduction, str) or reduction not in ("mean", "sum"):
        hint = did_you_mean(reduction, ("mean", "sum"), {"average": "mean", "avg": "mean", "total": "sum"},
                            quote=True)
        raise SpecError("reduction", f"expected 'mean' or 'sum', got {_show(reduction)}{hint}")
    l2 = _number(data.get("l2", 0.0), "l2", lo=0.0)
    init = initialization_from_spec(data)   # init and init_scale
    notation = _notation(data.get("notation", {}))
    example = None
    if "example" in data and shape is not None:   # an image or sequence input: conv weights, X in its shape
        example = _shaped_example(data["example"], n_in, shape, layers, notation)
    elif "example" in data:
        example = _example(data["example"], sizes, layers, notation)
    if example is not None and loss.targets_sum_to_one and sizes[-1] > 1:
        _targets_sum_to_one(example.Y, loss.name)
    if "exercise" in data:      # the table's own fields; what it asks is checked by `deltagen exercise`
        exercise_table(data)
    return Network(name=name, n_in=n_in, input_shape=shape or (n_in,), layers=layers, loss=loss,
                   reduction=reduction, l2=l2, notation=notation, example=example, source=source, init=init,
                   optimizer=optimizer_from_table(data["optimizer"]) if "optimizer" in data else PLAIN_SGD)


def check_name(value: Any) -> str:
    """The spec's name becomes Python and C file/symbol names, so it must be a safe identifier in both."""
    rule = f"an ASCII identifier of at most {MAX_NAME} characters"
    if not isinstance(value, str) or not IDENTIFIER.fullmatch(value) or len(value) > MAX_NAME:
        raise SpecError("name", f"expected {rule}, got {_show(value)}")
    if keyword.iskeyword(value):
        raise SpecError("name", f"expected {rule} that is not a Python keyword, got {value!r}")
    if value in C_KEYWORDS:
        raise SpecError("name", f"expected {rule} that is not a C keyword, got {value!r}")
    if value.startswith("_"):
        raise SpecError("name", f"expected {rule} not starting with '_' (reserved in C at file scope: "
                                f"'_math' would take <math.h>'s header guard), got {value!r}")
    if value in SHADOWING_NAMES:
        raise SpecError("name", f"expected {rule} that is not the name of a Python module (the generated "
                                f"{value}.py would hide the module {value!r} from every import), got {value!r}")
    if value in GENERATED_LOCALS:
        raise SpecError("name", f"expected {rule} other than {value!r} (the generated C names its symbols "
                                f"{value}_..., and its own variable {GENERATED_LOCALS[value]} would clash), "
                                f"got {value!r}")
    return value


def _loss(value: Any, output: Layer) -> Loss:
    if not isinstance(value, str) or value not in LOSSES:
        raise SpecError("loss", f"expected one of {', '.join(LOSSES)}, got {_show(value)}{loss_hint(value)}")
    loss = LOSSES[value]
    act = output.activation
    if not loss_accepts(loss, act.name, act.is_custom):
        if loss.outputs is None:
            accepted = "any output activation but softmax"
        else:
            accepted = "output " + " or ".join("a custom expression" if o == "*" else o for o in loss.outputs)
        reason = f" ({loss.why})" if loss.why else ""
        raise SpecError("loss", f"expected {accepted} for loss {value}, got {act.name!r} "
                                f"on the last layer{reason}")
    return loss


def _notation(value: Any) -> Notation:
    _table(value, "notation", NOTATION_KEYS)
    input_layer = value.get("input_layer", 0)
    if isinstance(input_layer, bool) or not isinstance(input_layer, numbers.Integral) or input_layer not in (0, 1):
        raise SpecError("notation.input_layer", f"expected 0 or 1, got {_show(input_layer)}")
    chosen = {key: _choice(value.get(key, getattr(Notation, key)), key) for key in NOTATION_CHOICES}
    return Notation(input_layer=int(input_layer), **chosen)


def _choice(value: Any, key: str) -> str:
    """One of the words ``NOTATION_CHOICES[key]`` accepts, else a SpecError listing them with their meaning."""
    choices = NOTATION_CHOICES[key]
    if not isinstance(value, str) or value not in choices:
        accepted = ", ".join(f"'{word}' ({meaning})" for word, meaning in choices.items())
        hint = did_you_mean(value, choices, quote=True) if isinstance(value, str) else ""
        raise SpecError(f"notation.{key}", f"expected one of {accepted}, got {_show(value)}{hint}")
    return value


def _targets_sum_to_one(Y: np.ndarray, loss: str) -> None:
    """softmax + cce's δ = a − y holds for targets that sum to 1 (one-hot, or a distribution); others are refused.

    Summed as the decimals the spec writes (0.2 + 0.8 is 1), so a written distribution is never refused."""
    for column in range(Y.shape[1]):
        total = sum(Decimal(repr(float(v))) for v in Y[:, column])
        if total != 1:
            raise SpecError("example.Y", f"expected each example's targets to sum to 1 for {loss} after softmax "
                                         f"(one-hot or a distribution), got a sum of {total} in column {column + 1} "
                                         f"(example {column + 1})")


def _example(value: Any, sizes: tuple[int, ...], layers: tuple[Layer, ...], notation: Notation) -> Example:
    _table(value, "example", EXAMPLE_KEYS)
    for key in ("W", "X", "Y"):
        if key not in value:
            raise SpecError(f"example.{key}", "expected a value (required in [example])")
    depth = len(layers)

    def label(kind: str, index: int) -> str:  # index is 0-based in the file's list of layers
        number = notation.layer_number(index + 1)
        return f"{kind}{number}, layer {number} with input_layer = {notation.input_layer}"

    def short(kind: str, index: int) -> str:
        return f"{kind}{notation.layer_number(index + 1)}"

    w_list = value["W"]
    if not isinstance(w_list, (list, tuple)) or len(w_list) != depth:
        got = f"{len(w_list)}" if isinstance(w_list, (list, tuple)) else _show(w_list)
        raise SpecError("example.W", f"expected a list of {depth} matrices (one per layer), got {got}")
    W = tuple(_matrix(w, f"example.W[{i}]", sizes[i + 1], sizes[i], label("W", i))
              for i, w in enumerate(w_list))

    biased = [i for i, layer in enumerate(layers) if layer.bias]
    b_list = value.get("b", [])
    if not isinstance(b_list, (list, tuple)):
        raise SpecError("example.b", f"expected a list of bias vectors, got {_show(b_list)}")
    if len(b_list) != len(biased):
        if not biased:
            expected = "no b (no layer has a bias)"
        else:
            expected = (f"{len(biased)} bias vectors, one per layer with a bias "
                        f"({', '.join(short('b', i) for i in biased)})")
        raise SpecError("example.b", f"expected {expected}, got {len(b_list)}")
    b: list[np.ndarray | None] = [None] * depth
    for j, (i, entry) in enumerate(zip(biased, b_list)):
        field = f"example.b[{j}]"
        if isinstance(entry, (list, tuple)) and entry and not any(isinstance(v, (list, tuple)) for v in entry):
            if len(entry) != sizes[i + 1]:
                raise SpecError(field, f"expected {sizes[i + 1]} numbers as [[v1], [v2], ...] or [v1, v2, ...] "
                                       f"({label('b', i)}), got {len(entry)}")
            entry = [[_number(v, f"{field}[{r}]")] for r, v in enumerate(entry)]  # flat list: the column sideways
        b[i] = _matrix(entry, field, sizes[i + 1], 1, label("b", i))

    X = _matrix(value["X"], "example.X", sizes[0], None, "one row per input, one column per example")
    Y = _matrix(value["Y"], "example.Y", sizes[-1], X.shape[1],
                "one row per output, one column per example, the same m as example.X")

    learning_rate = None
    if "learning_rate" in value:
        learning_rate = _number(value["learning_rate"], "example.learning_rate", lo=0.0, lo_open=True)
    return Example(W=W, b=tuple(b), X=X, Y=Y, learning_rate=learning_rate)


def _shaped_example(value: Any, n_in: int, shape: tuple[int, ...], layers: tuple, notation: Notation) -> Example:
    """[example] of a net with an image or sequence input (conv and pool layers): ``example_spatial``."""
    _table(value, "example", EXAMPLE_KEYS)
    for key in ("W", "X", "Y"):
        if key not in value:
            raise SpecError(f"example.{key}", "expected a value (required in [example])")
    return spatial_example(value, n_in, shape, layers, notation, _number, _matrix)


# ---------------------------------------------------------------- small checks

#: a number written as a string: "0,5" (decimal comma, as Portuguese writes it), "-0.25", "1e-3", "−1,5"


def _number(value: Any, field: str, lo: float | None = None, lo_open: bool = False) -> float:
    """A finite real number (int or float, not bool), optionally ``>= lo`` (or ``> lo``).

    In ``[example]`` (fields ``example.…``) a string is read as the number it writes, with a decimal point
    or a decimal comma ("0,5"), as an answers file's strings are. It becomes the float whose shortest
    decimal (``repr``) is the one written, and a worked solution computes with that decimal
    (``evaluation.numbers.to_mpf``), so "0,1" is 0.1 exactly.
    """
    bound = "" if lo is None else f" {'>' if lo_open else '>='} {lo:g}"
    expected = f"expected a finite number{bound}, got {_show(value)}"
    if isinstance(value, str) and field.startswith("example."):
        written = parse_decimal(value)      # the answers files' reader: "0,5", "−1.5", "1e-3"
        if written is None:
            raise SpecError(field, f"expected a finite number{bound} (such as 0.5, or \"0,5\" with a decimal "
                                   f"comma), got {_show(value)}")
        value = float(written)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SpecError(field, expected)
    try:
        number = float(value)
    except (OverflowError, ValueError, TypeError):
        raise SpecError(field, expected) from None
    if not math.isfinite(number) or (lo is not None and (number <= lo if lo_open else number < lo)):
        raise SpecError(field, expected)
    return number


def _matrix(value: Any, field: str, rows: int, cols: int | None, note: str) -> np.ndarray:
    """A list of ``rows`` lists of ``cols`` finite numbers (or strings such as "0,5", see ``_number``) as a
    float64 array; ``cols=None``: any m >= 1."""
    want = f"({rows}, {cols})" if cols is not None else f"({rows}, m) with m >= 1"
    expected = f"expected a matrix of shape {want} as a list of rows ({note})"
    if not isinstance(value, (list, tuple)) or not all(isinstance(row, (list, tuple)) for row in value):
        raise SpecError(field, f"{expected}, got {_show(value)}")
    lengths = [len(row) for row in value]
    if len(set(lengths)) > 1:
        raise SpecError(field, f"{expected}, got rows of lengths {lengths[:10]}")
    got = (len(value), lengths[0] if lengths else 0)
    if got[0] != rows or (cols is not None and got[1] != cols) or got[1] < 1:
        raise SpecError(field, f"{expected}, got shape {got}")
    return np.array([[_number(v, f"{field}[{r}][{c}]") for c, v in enumerate(row)]
                     for r, row in enumerate(value)], dtype=np.float64)


