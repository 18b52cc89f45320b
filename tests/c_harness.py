"""Compile generated C and call it through ctypes with the NumPy module's conventions.

``CNet`` takes and returns the same things as a generated NumPy module (params dict,
X of shape (n_in, m) with one example per column), converting to the C layout
(contiguous examples, a params struct of fixed arrays).
"""
from __future__ import annotations

import ctypes
import subprocess
from pathlib import Path

import numpy as np

STRICT = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror"]
FLOAT_STRICT = ["-Wdouble-promotion", "-Wfloat-conversion"]


def compile_c(sources: list[Path], output: Path, name: str, real: str = "double", flags: tuple[str, ...] = (),
              shared: bool = True, libraries: tuple[str, ...] = ()) -> Path:
    """Compile with the strict flags (and the float ones for a float build); raise with gcc's output on failure."""
    command = ["gcc", *STRICT, "-O2", *flags]
    if real == "float":
        command += [f"-D{name}_REAL=float", *FLOAT_STRICT]
    if shared:
        command += ["-shared", "-fPIC"]
        sources = [*sources, *_sizes_source(sources, output, name)]
    command += [*map(str, sources), "-o", str(output), *libraries, "-lm"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)}\n{result.stderr}")
    return output


def _sizes_source(sources: list[Path], output: Path, name: str) -> list[Path]:
    """A C file reporting sizeof(NAME_workspace) to ctypes (its tile buffers depend on NAME_REAL and NAME_TILE),
    compiled into the library with the same flags; none when the sources have no NAME.h beside them."""
    header = next((Path(source).parent / f"{name}.h" for source in sources
                   if (Path(source).parent / f"{name}.h").exists()), None)
    if header is None:
        return []
    sizes = output.with_name(output.name + ".sizes.c")
    sizes.write_text(f'#include "{header.resolve()}"\n'
                     f"unsigned long harness_workspace_bytes(void);\n"
                     f"unsigned long harness_workspace_bytes(void) {{ return (unsigned long)sizeof({name}_workspace); }}\n")
    return [sizes]


class CNet:
    """A compiled generated network, called like the generated NumPy module."""

    def __init__(self, library: Path, name: str, param_shapes: dict[str, tuple[int, ...]], real: str = "double",
                 state_buffers: tuple[str, ...] = (), dropout_layers: tuple[str, ...] = (),
                 n_in: int | None = None, trace_reals: int | None = None):
        """``n_in`` and ``trace_reals`` (the NAME_trace's reals, as the header states) are needed for a net with
        conv or pool layers, whose input and trace the param shapes do not tell; a conv W has 3 or 4 axes."""
        self.lib = ctypes.CDLL(str(library))
        self.name = name
        self.shapes = param_shapes
        self.ctype = ctypes.c_float if real == "float" else ctypes.c_double
        self.dtype = np.float32 if real == "float" else np.float64
        fields = []
        for key, shape in param_shapes.items():
            if key.startswith("b"):
                fields.append((key, self.ctype * shape[0]))
                continue
            array = self.ctype
            for n in reversed(shape):   # W1[C_out][C_in][kH][kW] of a conv layer, W1[rows][cols] of a dense one
                array = array * n
            fields.append((key, array))
        self.Params = type(f"{name}_params", (ctypes.Structure,), {"_fields_": fields})
        first_w = next(iter(param_shapes.values()))
        self.n_in = first_w[1] if n_in is None else n_in
        self.n_out = list(param_shapes.values())[-1][0]
        pointer = ctypes.POINTER(self.Params)
        real_p = ctypes.POINTER(self.ctype)
        self._forward = self._fn("forward", None, [pointer, real_p, real_p])
        self._cost = self._fn("cost", self.ctype, [pointer, ctypes.c_int, real_p, real_p])
        self._gradients = self._fn("gradients", None, [pointer, ctypes.c_int, real_p, real_p, pointer])
        self._sgd_step = self._fn("sgd_step", None, [pointer, ctypes.c_int, real_p, real_p, self.ctype])
        self._init = self._fn("init_params", None, [pointer, ctypes.c_ulong])
        # the optimizer: NAME_state's buffers are the spec's kind's (torch.optim's state keys, in its order)
        self.state_buffers = tuple(state_buffers)
        # a network with dropout keeps its generator (NAME_rng, one unsigned long long) at the end of the state
        self.dropout = tuple(dropout_layers)
        self.State = type(f"{name}_state", (ctypes.Structure,), {"_fields_": [
            ("step", ctypes.c_long), ("learning_rate", self.ctype), *((b, self.Params) for b in self.state_buffers),
            *([("rng", ctypes.c_ulonglong)] if self.dropout else [])]})
        # NAME_trace is z, a and δ of every layer (and a dropout layer's mask D and kept h): reals, one array
        # after another (no padding)
        if trace_reals is None:
            trace_reals = sum((5 if f"D{key[1:]}" in self.dropout else 3) * shape[0]
                              for key, shape in param_shapes.items() if key.startswith("W"))
        rest = ctypes.sizeof(self.ctype) * trace_reals      # after grad: the trace, then a tiled net's NAME_tile
        if hasattr(self.lib, "harness_workspace_bytes"):
            self.lib.harness_workspace_bytes.restype = ctypes.c_ulong
            rest = self.lib.harness_workspace_bytes() - ctypes.sizeof(self.Params)
        self.Workspace = type(f"{name}_workspace", (ctypes.Structure,), {"_fields_": [
            ("grad", self.Params), ("rest", ctypes.c_char * rest)]})
        state_p = ctypes.POINTER(self.State)
        self._state_init = self._fn("state_init", None, [state_p])
        self._update = self._fn("update", None, [pointer, pointer, state_p])
        self._train_step = self._fn("train_step", None, [pointer, state_p, ctypes.POINTER(self.Workspace),
                                                         ctypes.c_int, real_p, real_p])
        rng_p = ctypes.POINTER(ctypes.c_ulonglong)   # NAME_rng is a struct of one unsigned long long
        self._rng_init = self._fn("rng_init", None, [rng_p, ctypes.c_ulong, ctypes.c_ulong])
        self._shuffle = self._fn("shuffle", None, [rng_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int)])

    def _fn(self, suffix, restype, argtypes):
        fn = getattr(self.lib, f"{self.name}_{suffix}")
        fn.restype, fn.argtypes = restype, argtypes
        return fn

    # ------------------------------------------------------------ conversion
    def to_struct(self, params: dict) -> ctypes.Structure:
        struct = self.Params()
        for key, shape in self.shapes.items():
            view = np.ctypeslib.as_array(getattr(struct, key))
            view[...] = np.asarray(params[key], dtype=np.float64).reshape(view.shape)
        return struct

    def from_struct(self, struct: ctypes.Structure) -> dict:
        return {key: np.ctypeslib.as_array(getattr(struct, key)).astype(np.float64).reshape(shape)
                for key, shape in self.shapes.items()}

    def _examples(self, A: np.ndarray, rows: int):
        A = np.asarray(A, dtype=np.float64).reshape(rows, -1)
        flat = np.ascontiguousarray(A.T, dtype=self.dtype)   # example i is contiguous
        return flat, flat.ctypes.data_as(ctypes.POINTER(self.ctype)), A.shape[1]

    # ------------------------------------------------------------ the API
    def forward(self, params: dict, x) -> np.ndarray:
        flat, pointer, _ = self._examples(x, self.n_in)
        out = np.zeros(self.n_out, dtype=self.dtype)
        self._forward(ctypes.byref(self.to_struct(params)), pointer, out.ctypes.data_as(ctypes.POINTER(self.ctype)))
        return out.astype(np.float64)

    def cost(self, params: dict, X, Y) -> float:
        fx, px, m = self._examples(X, self.n_in)
        fy, py, _ = self._examples(Y, self.n_out)
        return float(self._cost(ctypes.byref(self.to_struct(params)), m, px, py))

    def gradients(self, params: dict, X, Y) -> dict:
        fx, px, m = self._examples(X, self.n_in)
        fy, py, _ = self._examples(Y, self.n_out)
        grad = self.Params()
        self._gradients(ctypes.byref(self.to_struct(params)), m, px, py, ctypes.byref(grad))
        return self.from_struct(grad)

    def sgd_step(self, params: dict, X, Y, learning_rate: float) -> dict:
        fx, px, m = self._examples(X, self.n_in)
        fy, py, _ = self._examples(Y, self.n_out)
        struct = self.to_struct(params)
        self._sgd_step(ctypes.byref(struct), m, px, py, learning_rate)
        return self.from_struct(struct)

    def init_params(self, seed: int) -> dict:
        struct = self.Params()
        self._init(ctypes.byref(struct), seed)
        return self.from_struct(struct)

    # ------------------------------------------------------------ the optimizer
    def rng_state(self, seed: int, skip: int = 0) -> int:
        """NAME_rng_init's generator state."""
        rng = ctypes.c_ulonglong(0)
        self._rng_init(ctypes.byref(rng), seed, skip)
        return rng.value

    def shuffle(self, rng: int, m: int) -> tuple[np.ndarray, int]:
        """(NAME_shuffle's order of 0..m-1 from generator state rng, the state after it)."""
        state, order = ctypes.c_ulonglong(rng), (ctypes.c_int * max(m, 1))()
        self._shuffle(ctypes.byref(state), m, order)
        return np.array(order[:m], dtype=np.intp), state.value

    def to_state(self, state: dict) -> ctypes.Structure:
        struct = self.State()
        struct.step, struct.learning_rate = int(state["step"]), float(state["learning_rate"])
        if self.dropout:
            struct.rng = int(state["rng"])
        for buffer in self.state_buffers:
            setattr(struct, buffer, self.to_struct(state[buffer]))
        return struct

    def from_state(self, struct: ctypes.Structure) -> dict:
        return {"step": int(struct.step), "learning_rate": float(struct.learning_rate),
                **{buffer: self.from_struct(getattr(struct, buffer)) for buffer in self.state_buffers},
                **({"rng": int(struct.rng)} if self.dropout else {})}

    def init_state(self) -> dict:
        """NAME_state_init on a state first filled with 0xAB bytes (so a field it leaves alone shows)."""
        struct = self.State()
        ctypes.memset(ctypes.byref(struct), 0xAB, ctypes.sizeof(struct))
        self._state_init(ctypes.byref(struct))
        return self.from_state(struct)

    def update(self, params: dict, grads: dict, state: dict) -> tuple[dict, dict]:
        struct, s = self.to_struct(params), self.to_state(state)
        self._update(ctypes.byref(struct), ctypes.byref(self.to_struct(grads)), ctypes.byref(s))
        return self.from_struct(struct), self.from_state(s)

    def train_step(self, params: dict, state: dict, X, Y) -> tuple[dict, dict]:
        fx, px, m = self._examples(X, self.n_in)
        fy, py, _ = self._examples(Y, self.n_out)
        struct, s, work = self.to_struct(params), self.to_state(state), self.Workspace()
        self._train_step(ctypes.byref(struct), ctypes.byref(s), ctypes.byref(work), m, px, py)
        return self.from_struct(struct), self.from_state(s)
