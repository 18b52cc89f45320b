"""The update rule of a spec's [optimizer] in the derivation document and in `deltagen derive` (issue 14, item 8).

Expected lines are written here by hand from DESIGN.md's optimizer table (torch.optim's rules) in the
lecture's step notation θ_t = θ_{t−1} − η g_t (lecture 002). The step form is also run with numbers
and compared with an mpmath implementation of the table written here, so the lines say the rule
that is trained, not only its letters.
"""
from __future__ import annotations

import copy
import subprocess
import sys
import tomllib

import mpmath as mp
import pytest

from conftest import ROOT
from deltagen.derive import derive, spec_from_dict
from deltagen.derive.documents import derivation_document
from deltagen.derive.documents.describe import describe
from deltagen.derive.documents.updates import step_form
from deltagen.derive.model.optimizers import optimizer_from_table
from latex_tools import compile_latex, sections

XOR = tomllib.loads((ROOT / "generated" / "lecture_xor" / "spec.toml").read_text())
ADAM = {"kind": "adam", "learning_rate": 0.01, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-7,
        "decay": {"kind": "inverse_time", "rate": 0.5, "interval": 10}}


def with_optimizer(table: dict | None, name: str = "xor_opt") -> dict:
    spec = copy.deepcopy(XOR)
    spec["name"] = name
    if table is not None:
        spec["optimizer"] = table
    return spec


def document(table: dict | None, lang: str = "en") -> str:
    return derivation_document(derive(spec_from_dict(with_optimizer(table))), lang)


def section(doc: str, title_start: str) -> str:
    (body,) = [body for title, body in sections(doc) if title.startswith(title_start)]
    return body.split("\\end{document}")[0].strip()   # the last section runs to the end of the document


# ---------------------------------------------------------------- the document

ADAM_LINES = [
    r"m_{t} & = \beta_{1} m_{t-1} + \left(1 - \beta_{1}\right) g_{t}",
    r"v_{t} & = \beta_{2} v_{t-1} + \left(1 - \beta_{2}\right) g_{t}^{2}",
    r"\hat{m}_{t} & = \frac{m_{t}}{1 - \beta_{1}^{t}}",
    r"\hat{v}_{t} & = \frac{v_{t}}{1 - \beta_{2}^{t}}",
    r"\theta_{t} & = \theta_{t-1} - \frac{\eta \hat{m}_{t}}{\sqrt{\hat{v}_{t}} + \varepsilon}",
]


@pytest.mark.parametrize("lang", ["en", "pt"])
def test_adam_document_states_the_rule_and_compiles(lang, tmp_path):
    doc = document(ADAM, lang)
    body = section(doc, {"en": "Update rule", "pt": "Regra de atualização"}[lang])
    lines = body.split("\\begin{align*}\n")[1].split("\n\\end{align*}")[0].split(" \\\\\n")
    assert lines == ADAM_LINES
    assert r"m_{0} = v_{0} = 0" in body                       # the state starts at zero
    assert r"\eta_{e} & = \frac{\eta}{1 + r \left\lfloor{\frac{e}{k}}\right\rfloor}" in body
    numbers = {"en": [r"$\eta = 0.01$", r"$\beta_{1} = 0.8$", r"$\beta_{2} = 0.99$",
                      r"$\varepsilon = 1 \cdot 10^{-7}$", "$r = 0.5$", "$k = 10$"],
               "pt": [r"$\eta = 0{,}01$", r"$\beta_{1} = 0{,}8$", r"$\beta_{2} = 0{,}99$",
                      r"$\varepsilon = 1 \cdot 10^{-7}$", "$r = 0{,}5$", "$k = 10$"]}[lang]
    assert all(number in body for number in numbers), body
    words = {"en": ["first moment", "second moment", "bias corrections"],
             "pt": ["primeiro momento", "segundo momento", "correções de viés"]}[lang]
    assert all(word in body for word in words)
    assert "Gradient-descent step" not in doc and "Passo do gradiente descendente" not in doc
    compile_latex(doc, tmp_path, f"adam_{lang}")


@pytest.mark.parametrize("table, expected", [
    ({"kind": "momentum", "momentum": 0.9, "dampening": 0.9},
     [r"b_{t} & = \mu b_{t-1} + \left(1 - \tau\right) g_{t}", r"\theta_{t} & = \theta_{t-1} - \eta b_{t}"]),
    ({"kind": "nesterov"},
     [r"b_{t} & = \mu b_{t-1} + g_{t}", r"\theta_{t} & = \theta_{t-1} - \eta \left(g_{t} + \mu b_{t}\right)"]),
    ({"kind": "adagrad"},
     [r"G_{t} & = G_{t-1} + g_{t}^{2}",
      r"\theta_{t} & = \theta_{t-1} - \frac{\eta g_{t}}{\sqrt{G_{t}} + \varepsilon}"]),
    ({"kind": "rmsprop", "alpha": 0.9},
     [r"v_{t} & = \alpha v_{t-1} + \left(1 - \alpha\right) g_{t}^{2}",
      r"\theta_{t} & = \theta_{t-1} - \frac{\eta g_{t}}{\sqrt{v_{t}} + \varepsilon}"]),
])
def test_each_kind_in_the_document(table, expected, tmp_path):
    body = section(document(table, "pt"), "Regra de atualização")
    assert body.split("\\begin{align*}\n")[1].split("\n\\end{align*}")[0].split(" \\\\\n") == expected
    if table["kind"] == "momentum":
        compile_latex(document(table, "pt"), tmp_path, "momentum_pt")


XOR_SGD_LINES = [
    r"W^{[1]} & \leftarrow W^{[1]} - \eta \frac{\partial J}{\partial W^{[1]}}",
    r"b^{[1]} & \leftarrow b^{[1]} - \eta \frac{\partial J}{\partial b^{[1]}}",
    r"W^{[2]} & \leftarrow W^{[2]} - \eta \frac{\partial J}{\partial W^{[2]}}",
    r"b^{[2]} & \leftarrow b^{[2]} - \eta \frac{\partial J}{\partial b^{[2]}}",
]


def test_without_optimizer_the_update_is_as_before():
    body = section(document(None), "Gradient-descent step")
    assert body == "With learning rate $\\eta$:\n\n\\begin{align*}\n" + " \\\\\n".join(XOR_SGD_LINES) \
        + "\n\\end{align*}"
    assert "torch.optim" not in document(None) and "Update rule" not in document(None)


def test_sgd_optimizer_keeps_the_update_and_adds_its_values():
    body = section(document({"kind": "sgd", "learning_rate": 0.5, "decay": {"kind": "exponential", "rate": 0.9}}),
                   "Gradient-descent step")
    assert "\\begin{align*}\n" + " \\\\\n".join(XOR_SGD_LINES) + "\n\\end{align*}" in body
    assert r"\eta_{e} & = \eta r^{e}" in body
    assert r"$\eta = 0.5$" in body and "$r = 0.9$" in body


# ---------------------------------------------------------------- deltagen derive (text)

def test_text_names_the_optimizer():
    text = describe(derive(spec_from_dict(with_optimizer(ADAM))))
    block = text.split("\n\nUpdate (optimizer adam")[1].splitlines()
    assert "m_0 = v_0 = 0" in block[0] and "∂J/∂θ at θ_(t−1)" in block[0]
    assert block[1:6] == ["  m_t = β₁ m_(t−1) + (1 − β₁) g_t",
                          "  v_t = β₂ v_(t−1) + (1 − β₂) (g_t)²",
                          "  m̂_t = m_t/(1 − β₁^t)",
                          "  v̂_t = v_t/(1 − β₂^t)",
                          "  θ_t = θ_(t−1) − η m̂_t/(√(v̂_t) + ε)"]
    assert block[6].startswith("  η_e = η/(1 + r ⌊e/k⌋)")
    assert block[7] == ("  η = 0.01 (learning_rate), β₁ = 0.8 (beta1), β₂ = 0.99 (beta2), ε = 1e-7 (epsilon), "
                        "r = 0.5 (decay.rate), k = 10 (decay.interval)")
    assert "Update (" not in describe(derive(spec_from_dict(with_optimizer(None))))


def test_cli_derive_prints_the_optimizer(tmp_path):
    spec = tmp_path / "xor_adam.toml"
    source = (ROOT / "generated" / "lecture_xor" / "spec.toml").read_text()
    spec.write_text(source.replace("[notation]", '[optimizer]\nkind = "momentum"\nmomentum = 0.5\n\n[notation]'))
    result = subprocess.run([sys.executable, "-m", "deltagen.cli", "derive", str(spec), "--no-end-to-end"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "  b_t = μ b_(t−1) + (1 − τ) g_t\n  θ_t = θ_(t−1) − η b_t\n" in result.stdout
    assert "μ = 0.5 (momentum), τ = 0 (dampening)" in result.stdout


# ---------------------------------------------------------------- the lines are the rule

def reference_step(kind: str, h: dict, theta, g, state: dict, t: int):
    """One step of DESIGN.md's table (torch.optim), written here in mpmath: returns (θ, state)."""
    eta, eps = h["learning_rate"], h.get("epsilon")
    if kind == "sgd":
        return theta - eta * g, state
    if kind == "momentum":
        b = h["momentum"] * state["b"] + (1 - h["dampening"]) * g
        return theta - eta * b, {"b": b}
    if kind == "nesterov":
        b = h["momentum"] * state["b"] + g
        return theta - eta * (g + h["momentum"] * b), {"b": b}
    if kind == "adagrad":
        G = state["G"] + g * g
        return theta - eta * g / (mp.sqrt(G) + eps), {"G": G}
    if kind == "rmsprop":
        v = h["alpha"] * state["v"] + (1 - h["alpha"]) * g * g
        return theta - eta * g / (mp.sqrt(v) + eps), {"v": v}
    m = h["beta1"] * state["m"] + (1 - h["beta1"]) * g
    v = h["beta2"] * state["v"] + (1 - h["beta2"]) * g * g
    m_hat, v_hat = m / (1 - h["beta1"] ** t), v / (1 - h["beta2"] ** t)
    return theta - eta * m_hat / (mp.sqrt(v_hat) + eps), {"m": m, "v": v}


TABLES = [{"kind": "sgd", "learning_rate": 0.1},
          {"kind": "momentum", "learning_rate": 0.1, "momentum": 0.9, "dampening": 0.3},
          {"kind": "nesterov", "learning_rate": 0.1, "momentum": 0.7},
          {"kind": "adagrad", "learning_rate": 0.1, "epsilon": 1e-3},
          {"kind": "rmsprop", "learning_rate": 0.1, "alpha": 0.9, "epsilon": 1e-3},
          {"kind": "adam", "learning_rate": 0.1, "beta1": 0.8, "beta2": 0.95, "epsilon": 1e-3}]


@pytest.mark.parametrize("table", TABLES, ids=lambda table: table["kind"])
def test_printed_step_is_the_rule(table, monkeypatch):
    """Four steps (t = 1..4) of the printed lines, each read by the name it prints as, against the table."""
    monkeypatch.setattr(mp.mp, "dps", 40)     # restored after the test: other modules' references need theirs
    form = step_form(optimizer_from_table(table))
    h = {key: mp.mpf(value) for key, value in table.items() if key != "kind"}
    letters = {"momentum": ["b"], "nesterov": ["b"], "adagrad": ["G"], "rmsprop": ["v"], "adam": ["m", "v"]}
    letters = letters.get(table["kind"], [])
    spec_key = {"η": "learning_rate", "μ": "momentum", "τ": "dampening", "α": "alpha", "β₁": "beta1",
                "β₂": "beta2", "ε": "epsilon"}
    theta = expected_theta = mp.mpf("0.3")
    state = {letter: mp.mpf(0) for letter in letters}
    expected_state = dict(state)
    for t, g in enumerate([mp.mpf("0.5"), mp.mpf("-1.25"), mp.mpf("2"), mp.mpf("0.125")], start=1):
        known = {"θ_(t−1)": theta, "g_t": g, "t": t}
        known.update({f"{letter}_(t−1)": state[letter] for letter in letters})
        known.update({name: h[key] for name, key in spec_key.items() if key in h})
        for target, value in form.lines:
            known[form.text[target]] = value.xreplace(
                {s: known[form.text[s]] for s in value.free_symbols}).evalf(40)
        theta = known["θ_t"]
        state = {letter: known[f"{letter}_t"] for letter in letters}
        expected_theta, expected_state = reference_step(table["kind"], h, expected_theta, g, expected_state, t)
        assert mp.almosteq(mp.mpf(str(theta)), expected_theta, 1e-30), (t, theta, expected_theta)
        for letter in letters:
            assert mp.almosteq(mp.mpf(str(state[letter])), expected_state[letter], 1e-30)
