"""The words of quiz.xml (``moodle.py``), in English and Portuguese: one dict per language, the same keys."""
from __future__ import annotations

from typing import Any

WORDS: dict[str, dict[str, Any]] = {
    "en": {
        "name": "{spec} variant {variant}",
        "intro": "A neural network ({spec}, variant {variant}):",
        "input": "input: {shape}",
        "dense": "layer {layer}: dense, {units}, activation {activation}{bias}",
        "conv": "layer {layer}: convolution, {channels}, kernel {kernel}, stride {stride}, "
                "padding {padding}, activation {activation}{bias}",
        "pool": "layer {layer}: {mode} pooling, window {size}, stride {stride}",
        "no_bias": ", no bias",
        "loss": "loss: {loss}, {reduction} over {m}{l2}",
        "units": ("{n} unit", "{n} units"),
        "channels": ("{n} channel", "{n} channels"),
        "examples": ("the one example", "the {n} examples"),
        "l2": ", plus L2 with λ = {l2}",
        "mean": "mean",
        "sum": "sum",
        "max": "max",
        "average": "average",
        "optimizer": "optimizer {optimizer}, from its zero state",
        "given": "The numbers (examples are the columns of X and Y):",
        "channel": "channel {c}",
        "kernel_of": "output channel {c}, input channel {k}",
        "example_image": "example {i}",
        "asked": "Compute, giving every number to {places} (rounded, not cut off):",
        "decimals_n": "{n} decimals",
        "decimals_1": "1 decimal",
        "per_example": "example {i}",
        "step": "after step {k}",
        "entry": "entry ({entry})",
        "after": "after one step",
        "feedback": "A number is right within ±{tolerance} of the exact value (half a unit in its last "
                    "decimal), as deltagen check judges a number written to {places}. The worked solution "
                    "is {variant}/key.tex. The right values:",
    },
    "pt": {
        "name": "{spec} variante {variant}",
        "intro": "Uma rede neural ({spec}, variante {variant}):",
        "input": "entrada: {shape}",
        "dense": "camada {layer}: densa, {units}, ativação {activation}{bias}",
        "conv": "camada {layer}: convolução, {channels}, kernel {kernel}, passo {stride}, "
                "preenchimento {padding}, ativação {activation}{bias}",
        "pool": "camada {layer}: pooling {mode}, janela {size}, passo {stride}",
        "no_bias": ", sem viés",
        "loss": "perda: {loss}, {reduction} sobre {m}{l2}",
        "units": ("{n} unidade", "{n} unidades"),
        "channels": ("{n} canal", "{n} canais"),
        "examples": ("o único exemplo", "os {n} exemplos"),
        "l2": ", mais L2 com λ = {l2}",
        "mean": "média",
        "sum": "soma",
        "max": "máximo",
        "average": "média",
        "optimizer": "otimizador {optimizer}, a partir do estado zero",
        "given": "Os números (os exemplos são as colunas de X e Y):",
        "channel": "canal {c}",
        "kernel_of": "canal de saída {c}, canal de entrada {k}",
        "example_image": "exemplo {i}",
        "asked": "Calcule, dando cada número com {places} (arredondado, não truncado):",
        "decimals_n": "{n} casas decimais",
        "decimals_1": "1 casa decimal",
        "per_example": "exemplo {i}",
        "step": "após o passo {k}",
        "entry": "entrada ({entry})",
        "after": "após um passo",
        "feedback": "Um número está certo a ±{tolerance} do valor exato (meia unidade na sua última casa "
                    "decimal), como o deltagen check julga um número escrito com {places}. A solução "
                    "detalhada é {variant}/key.tex. Os valores certos:",
    },
}


def words(lang: str) -> dict[str, Any]:
    """The words of ``lang`` (en or pt)."""
    return WORDS[lang]


def count(n: int, forms: tuple[str, str]) -> str:
    """``1 unit``, ``3 units``: the singular or plural form, with the number put in."""
    return (forms[0] if n == 1 else forms[1]).format(n=n)
