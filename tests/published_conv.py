"""Published numbers for conv and pool layers (CS231n, deeplearning.ai), converted to this project's layout.

Each ``PublishedSet`` holds a source's inputs (regenerated exactly as the source does: ``np.linspace``,
or ``np.random.seed(1)`` + ``randn`` in the notebook's order, which is the legacy
``np.random.RandomState(1)``), a spec and params in DESIGN.md's layout, and the numbers the source
prints, copied as printed. ``tests/test_mp_conv_reference.py`` checks that tests/mp_conv_network.py
reproduces each printed number to the precision it was printed with.

Layouts. CS231n: x (N, C, H, W), w (F, C, HH, WW), b (F,): per example the same as ours (C order).
deeplearning.ai: A_prev (m, n_H, n_W, n_C) channels-last, W (f, f, n_C_prev, n_C), b (1, 1, 1, n_C):
X = A_prev.transpose(0, 3, 1, 2) flattened per example, W → W.transpose(3, 2, 0, 1), b → (n_C, 1);
outputs are read back channels-last to compare with the printed arrays.

Backward checks. deeplearning.ai's conv_backward(dZ = Z) is the gradient of C = ½ Σ Z² (half_sse,
Y = 0, reduction sum, identity activation); pool_backward(dA) is the gradient of C = Σ dA ⊙ A
(the reference's ``linear`` loss with Y = dA, reduction sum). Their means do not depend on the layout.

Sources: CS231n's assignment 2 as the course distributes it (the zip in its site's repository);
for deeplearning.ai, a learner's public copy of the course's notebooks with their outputs as run,
and public_tests.py, the course's test file shipped with the 2021 notebook.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

CS231N = ("https://github.com/cs231n/cs231n.github.io/blob/3d84654b14608fbccdff2393485631aaacfc9dab/"
          "assignments/2019/spring1819_assignment2.zip (assignment2/ConvolutionalNetworks.ipynb; "
          "the same checks in assignments/2025/assignment2_colab.zip)")
_DLAI = ("https://github.com/amanchadha/coursera-deep-learning-specialization/blob/{commit}/"
         "C4%20-%20Convolutional%20Neural%20Networks/Week%201/{file}")
DLAI_V1 = _DLAI.format(commit="24a54d7d32e733a48fade00e6035381355254d0c", file="Convolution_model_Step_by_Step_v1.ipynb")
DLAI_TESTS = _DLAI.format(commit="24a54d7d32e733a48fade00e6035381355254d0c", file="public_tests.py")
DLAI_V2A = _DLAI.format(commit="3f055e4a8db0d76efbfb6f5a0e7e854535a3e2ec", file="Convolution_model_Step_by_Step_v2a.ipynb")

_NUMBER = re.compile(r"-?\d+\.?\d*(?:e[+-]?\d+)?")


@dataclass(frozen=True)
class Check:
    """One printed quantity: ``select`` maps the reference's results to the printed order.

    ``array``: printed by numpy (8 decimals, of the mantissa in e-notation), else a Python scalar
    printed to its last digit. ``rel``: a floor on the tolerance, relative, for scalars printed
    with all 17 digits of a float64 loop result (its own rounding is ~1e-15).
    """
    label: str
    quantity: str          # forward | gradients | input_gradient | data
    select: Callable
    printed: str
    array: bool = True
    rel: float = 0.0

    def expected(self) -> list[tuple[float, float]]:
        """(value, tolerance) per printed number: half a unit of its last printed place."""
        out = []
        for text in _NUMBER.findall(self.printed):
            mantissa, _, exponent = text.partition("e")
            if self.array:
                unit = 1e-8 * 10.0 ** int(exponent or 0)
            else:
                decimals = len(mantissa.partition(".")[2])
                unit = 10.0 ** (int(exponent or 0) - decimals)
            value = float(text)
            out.append((value, max(unit / 2, self.rel * abs(value)) + 1e-15))
        return out


@dataclass(frozen=True)
class PublishedSet:
    name: str
    source: str
    spec: dict
    params: dict
    X: np.ndarray
    Y: np.ndarray | None
    checks: list[Check]
    data: dict = field(default_factory=dict)   # the source's own arrays, for checks of the regenerated inputs


# --- layout conversions ------------------------------------------------------------------------
def from_channels_last(A: np.ndarray) -> np.ndarray:
    """(m, H, W, C) → X (C·H·W, m), each column the example in C order (C, H, W)."""
    return A.transpose(0, 3, 1, 2).reshape(A.shape[0], -1).T.copy()


def to_channels_last(A: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """(C·H·W, m) → (m, H, W, C), the deeplearning.ai layout."""
    return A.T.reshape(-1, *shape).transpose(0, 2, 3, 1)


def dlai_params(W: np.ndarray, b: np.ndarray) -> dict:
    """W (f, f, n_C_prev, n_C), b (1, 1, 1, n_C) → W1 (n_C, n_C_prev, f, f), b1 (n_C, 1)."""
    return {"W1": W.transpose(3, 2, 0, 1).copy(), "b1": b.reshape(-1, 1).copy()}


def _conv_spec(c: int, h: int, w: int, channels: int, kernel: int, stride: int, padding: int, **extra) -> dict:
    return {"name": "published", "input": [c, h, w], "loss": "half_sse", "reduction": "sum",
            "layers": [{"kind": "conv", "channels": channels, "kernel": kernel, "stride": stride,
                        "padding": padding, "activation": "identity"}], **extra}


def _pool_spec(c: int, h: int, w: int, mode: str, size: int, stride: int, loss: str = "half_sse") -> dict:
    return {"name": "published", "input": [c, h, w], "loss": loss, "reduction": "sum",
            "layers": [{"kind": "pool", "mode": mode, "size": size, "stride": stride}]}


# --- CS231n ------------------------------------------------------------------------------------
def cs231n_conv_forward() -> PublishedSet:
    """conv_forward_naive: x (2, 3, 4, 4), w (3, 3, 4, 4), stride 2, pad 1 → out (2, 3, 2, 2)."""
    x = np.linspace(-0.1, 0.5, num=2 * 3 * 4 * 4).reshape(2, 3, 4, 4)
    w = np.linspace(-0.2, 0.3, num=3 * 3 * 4 * 4).reshape(3, 3, 4, 4)
    b = np.linspace(-0.1, 0.2, num=3)
    return PublishedSet(
        "cs231n_conv_forward_naive", CS231N, _conv_spec(3, 4, 4, 3, 4, 2, 1),
        {"W1": w, "b1": b.reshape(3, 1)}, x.reshape(2, -1).T.copy(), None,
        [Check("correct_out", "forward", lambda r: r["forward"].T, """
            -0.08759809 -0.10987781 -0.18387192 -0.2109216
             0.21027089  0.21661097  0.22847626  0.23004637
             0.50813986  0.54309974  0.64082444  0.67101435
            -0.98053589 -1.03143541 -1.19128892 -1.24695841
             0.69108355  0.66880383  0.59480972  0.56776003
             2.36270298  2.36904306  2.38090835  2.38247847""")])


def cs231n_max_pool_forward() -> PublishedSet:
    """max_pool_forward_naive: x (2, 3, 4, 4), 2×2 windows, stride 2 → out (2, 3, 2, 2)."""
    x = np.linspace(-0.3, 0.4, num=2 * 3 * 4 * 4).reshape(2, 3, 4, 4)
    return PublishedSet(
        "cs231n_max_pool_forward_naive", CS231N, _pool_spec(3, 4, 4, "max", 2, 2), {},
        x.reshape(2, -1).T.copy(), None,
        [Check("correct_out", "forward", lambda r: r["forward"].T, """
            -0.26315789 -0.24842105 -0.20421053 -0.18947368
            -0.14526316 -0.13052632 -0.08631579 -0.07157895
            -0.02736842 -0.01263158  0.03157895  0.04631579
             0.09052632  0.10526316  0.14947368  0.16421053
             0.20842105  0.22315789  0.26736842  0.28210526
             0.32631579  0.34105263  0.38526316  0.4""")])


# --- deeplearning.ai, "Convolutional Neural Networks: Step by Step" ----------------------------
def dlai_conv_single_step() -> PublishedSet:
    """conv_single_step: one 4×4×3 window (a 4×4 kernel on a 4×4 input, one output)."""
    rng = np.random.RandomState(1)
    a_slice, W, b = rng.randn(4, 4, 3), rng.randn(4, 4, 3), rng.randn(1, 1, 1)
    return PublishedSet(
        "dlai_conv_single_step", DLAI_V1, _conv_spec(3, 4, 4, 1, 4, 1, 0),
        dlai_params(W[..., None], b), from_channels_last(a_slice[None]), None,
        [Check("Z", "forward", lambda r: r["forward"], "-6.999089450680221", array=False, rel=1e-13)])


def _dlai_conv(m: int, source: str, mean: str, rel: float, at: tuple, at_text: str) -> PublishedSet:
    rng = np.random.RandomState(1)
    A_prev, W, b = rng.randn(m, 5, 7, 4), rng.randn(3, 3, 4, 8), rng.randn(1, 1, 1, 8)

    def Z(results: dict) -> np.ndarray:   # the output channels-last, (m, 3, 4, 8)
        return to_channels_last(results["forward"], (8, 3, 4))

    checks = [Check("cache_conv[0][1][2][3]", "data", lambda r: r["data"]["A_prev"][1][2][3],
                    "-1.1191154 1.9560789 -0.3264995 -1.34267579"),
              Check("Z's mean", "forward", lambda r: Z(r).mean(), mean, array=False, rel=rel),
              Check(f"Z[{at[0]},{at[1]},{at[2]}]", "forward", lambda r: Z(r)[at], at_text)]
    return PublishedSet(f"dlai_conv_forward_m{m}", source, _conv_spec(4, 5, 7, 8, 3, 2, 1), dlai_params(W, b),
                        from_channels_last(A_prev), None, checks, {"A_prev": A_prev})


def dlai_conv_forward() -> PublishedSet:
    """conv_forward (2021 notebook and public_tests.py): A_prev (2, 5, 7, 4), W (3, 3, 4, 8), pad 1, stride 2."""
    s = _dlai_conv(2, DLAI_V1 + " and " + DLAI_TESTS, "0.5511276474566768", 1e-13, (0, 2, 1),
                   "-2.17796037 8.07171329 -0.5772704 3.36286738 4.48113645 -2.89198428 10.99288867 3.03171932")
    s.checks.append(Check("expected_Z (public_tests.py)", "forward",
                          lambda r: to_channels_last(r["forward"], (8, 3, 4)), EXPECTED_Z))
    return s


def dlai_conv_forward_v2a() -> PublishedSet:
    """conv_forward (v2a notebook): A_prev (10, 5, 7, 4), W (3, 3, 4, 8), pad 1, stride 2; mean printed to 12 digits."""
    return _dlai_conv(10, DLAI_V2A, "0.692360880758", 0.0, (3, 2, 1),
                      "-1.28912231 2.27650251 6.61941931 0.95527176 8.25132576 2.31329639 13.00689405 2.34576051")


def dlai_pool_forward(mode: str, stride: int) -> PublishedSet:
    """pool_forward: A_prev (2, 5, 5, 3), f = 3; stride 1 from public_tests.py, stride 2 from the v2a notebook."""
    A_prev = np.random.RandomState(1).randn(2, 5, 5, 3)
    n = (5 - 3) // stride + 1
    printed = {("max", 1): EXPECTED_MAX_S1, ("average", 1): EXPECTED_AVERAGE_S1,
               ("max", 2): EXPECTED_MAX_S2, ("average", 2): EXPECTED_AVERAGE_S2}[mode, stride]
    return PublishedSet(
        f"dlai_pool_forward_{mode}_stride{stride}", DLAI_TESTS if stride == 1 else DLAI_V2A,
        _pool_spec(3, 5, 5, mode, 3, stride), {}, from_channels_last(A_prev), None,
        [Check("A", "forward", lambda r: to_channels_last(r["forward"], (3, n, n)), printed)])


def dlai_conv_backward() -> PublishedSet:
    """conv_backward(Z, cache): A_prev (10, 4, 4, 3), W (2, 2, 3, 8), pad 2, stride 2; C = ½ Σ Z²."""
    rng = np.random.RandomState(1)
    A_prev, W, b = rng.randn(10, 4, 4, 3), rng.randn(2, 2, 3, 8), rng.randn(1, 1, 1, 8)
    return PublishedSet(
        "dlai_conv_backward", DLAI_V1, _conv_spec(3, 4, 4, 8, 2, 2, 2), dlai_params(W, b),
        from_channels_last(A_prev), np.zeros((8 * 4 * 4, 10)),
        [Check("dA_mean", "input_gradient", lambda r: r["input_gradient"].mean(), "1.4524377775388075", False, 1e-13),
         Check("dW_mean", "gradients", lambda r: r["gradients"]["W1"].mean(), "1.7269914583139097", False, 1e-13),
         Check("db_mean", "gradients", lambda r: r["gradients"]["b1"].mean(), "7.839232564616838", False, 1e-13)])


def dlai_pool_backward(mode: str) -> PublishedSet:
    """pool_backward(dA, cache): A_prev (5, 5, 3, 2), f = 2, stride 1, dA = randn(5, 4, 2, 2); C = Σ dA ⊙ A."""
    rng = np.random.RandomState(1)
    A_prev = rng.randn(5, 5, 3, 2)
    dA = rng.randn(5, 4, 2, 2)
    printed = {"max": "0. 0. 5.05844394 -1.68282702 0. 0.",
               "average": "0.08485462 0.2787552 1.26461098 -0.25749373 1.17975636 -0.53624893"}[mode]
    return PublishedSet(
        f"dlai_pool_backward_{mode}", DLAI_V1, _pool_spec(2, 5, 3, mode, 2, 1, loss="linear"), {},
        from_channels_last(A_prev), from_channels_last(dA),
        [Check("mean of dA", "data", lambda r: r["data"]["dA"].mean(), "0.14571390272918056", False, 1e-15),
         Check("dA_prev[1,1]", "input_gradient", lambda r: to_channels_last(r["input_gradient"], (2, 5, 3))[1, 1],
               printed)],
        {"dA": dA})


def published_sets() -> list[PublishedSet]:
    """Every set this project reproduces."""
    return [cs231n_conv_forward(), cs231n_max_pool_forward(), dlai_conv_single_step(), dlai_conv_forward(),
            dlai_conv_forward_v2a(), *(dlai_pool_forward(mode, stride) for mode in ("max", "average") for stride in (1, 2)),
            dlai_conv_backward(), dlai_pool_backward("max"), dlai_pool_backward("average")]


# --- printed arrays, copied from the sources (channels-last, one line per innermost row) --------
EXPECTED_Z = """
-2.65112363 -0.37849177 -1.97054929 -1.96235299 -1.72259872 0.4676693 -6.43434016 1.10764994
4.67692928 4.29865415 -1.3608031 0.80532859 -2.88480108 8.95280034 5.32627807 -1.82635258
-2.05881174 3.40859795 0.3502282 0.68303626 -1.88328065 -1.87480174 5.8008721 0.0700918
-3.50141791 2.704286 0.28341346 4.15637411 -0.46575834 -0.43668824 -5.56866106 1.72288033
-2.32126108 0.91040602 2.31852532 0.98842271 3.31716611 4.05638832 -2.48135123 0.95872443
6.03978907 -6.96477888 -1.20799344 2.68913374 -4.35744033 10.59355329 3.20856901 13.98735978
-3.01280755 -2.90226517 -8.34171936 -5.26220853 5.6630696 1.08704033 2.20430705 -10.73218294
-6.24198266 -0.53158832 -3.29654954 -1.81865997 0.59196322 2.51134745 -4.24924673 5.21936641
-2.22187412 -0.95259173 -5.99441273 0.79147932 1.16919278 -0.17321161 -3.26346299 -3.62407578
-2.17796037 8.07171329 -0.5772704 3.36286738 4.48113645 -2.89198428 10.99288867 3.03171932
-12.49991261 5.26845833 -1.67648614 -8.65695762 -10.68157258 6.71492428 2.83839971 4.47259772
0.11421092 -1.90872424 -3.28117601 0.89922467 0.83985348 -0.25127044 -0.94409718 5.17244412
1.97649814 2.76743075 -6.39611007 2.95378171 -0.81235239 -0.53333631 0.71268871 4.91385105
-5.14401869 6.97041391 -4.53976469 5.89092653 -5.74606931 2.74256558 3.02124802 -10.04187592
5.53871187 -8.55886701 -4.70962135 2.55966738 -2.66959504 5.60010695 -8.37253342 4.18848278
0.63364517 -3.71848223 -3.67072772 4.34226476 -1.21894465 3.68929452 5.89166305 0.94256457
2.36049402 -3.09696204 8.33521755 3.04680748 3.7964542 0.66488788 1.9935476 1.54396221
-7.73457048 0.287562 7.97481218 3.32415996 -4.07121488 2.69182963 4.1356109 -5.16178423
-6.95635186 -0.10924121 -4.12526441 0.62578199 4.69492086 -3.52748877 3.63168271 0.64007629
7.94980014 5.71855659 3.49970333 12.7718152 8.84959478 2.37150319 -1.42531648 -0.51126641
-5.29658283 -4.20466999 -6.63067766 -9.87831724 -5.32130395 7.32417919 2.96011091 7.60669481
11.54630784 -1.93157244 2.26699242 7.62184275 5.40584348 -2.88837958 -1.46981877 7.91314719
5.94067877 3.50739649 0.82512202 4.80655489 -4.1044945 4.14358541 0.13194885 4.35397285
4.91298364 -1.44499772 5.9392078 -3.92690408 2.12840309 1.27237402 1.56992581 0.44270565
"""

EXPECTED_MAX_S1 = """
1.74481176 0.90159072 1.65980218
1.74481176 1.46210794 1.65980218
1.74481176 1.6924546 1.65980218
1.14472371 0.90159072 2.10025514
1.14472371 0.90159072 1.65980218
1.14472371 1.6924546 1.65980218
1.13162939 1.51981682 2.18557541
1.13162939 1.51981682 2.18557541
1.13162939 1.6924546 2.18557541
1.19891788 0.84616065 0.82797464
0.69803203 0.84616065 1.2245077
0.69803203 1.12141771 1.2245077
1.96710175 0.84616065 1.27375593
1.96710175 0.84616065 1.23616403
1.62765075 1.12141771 1.2245077
1.96710175 0.86888616 1.27375593
1.96710175 0.86888616 1.23616403
1.62765075 1.12141771 0.79280687
"""

EXPECTED_AVERAGE_S1 = """
-3.01046719e-02 -3.24021315e-03 -3.36298859e-01
1.43310483e-01 1.93146751e-01 -4.44905196e-01
1.28934436e-01 2.22428468e-01 1.25067597e-01
-3.81801899e-01 1.59993515e-02 1.70562706e-01
4.73707165e-02 2.59244658e-02 9.20338402e-02
3.97048605e-02 1.57189094e-01 3.45302489e-01
-3.82680519e-01 2.32579951e-01 6.25997903e-01
-2.47157416e-01 -3.48524998e-04 3.50539717e-01
-9.52551510e-02 2.68511000e-01 4.66056368e-01
-1.73134159e-01 3.23771981e-01 -3.43175716e-01
3.80634669e-02 7.26706274e-02 -2.30268958e-01
2.03009393e-02 1.41414785e-01 -1.23158476e-02
4.44976963e-01 -2.61694592e-03 -3.10403073e-01
5.08114737e-01 -2.34937338e-01 -2.39611830e-01
1.18726772e-01 1.72552294e-01 -2.21121966e-01
4.29449255e-01 8.44699612e-02 -2.72909051e-01
6.76351685e-01 -1.20138225e-01 -2.44076712e-01
1.50774518e-01 2.89111751e-01 1.23238536e-03
"""

EXPECTED_MAX_S2 = """
1.74481176 0.90159072 1.65980218
1.74481176 1.6924546 1.65980218
1.13162939 1.51981682 2.18557541
1.13162939 1.6924546 2.18557541
1.19891788 0.84616065 0.82797464
0.69803203 1.12141771 1.2245077
1.96710175 0.86888616 1.27375593
1.62765075 1.12141771 0.79280687
"""

EXPECTED_AVERAGE_S2 = """
-0.03010467 -0.00324021 -0.33629886
0.12893444 0.22242847 0.1250676
-0.38268052 0.23257995 0.6259979
-0.09525515 0.268511 0.46605637
-0.17313416 0.32377198 -0.34317572
0.02030094 0.14141479 -0.01231585
0.42944926 0.08446996 -0.27290905
0.15077452 0.28911175 0.00123239
"""
