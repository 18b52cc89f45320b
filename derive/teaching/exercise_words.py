"""The words of exercise sheets and answers templates, per language (the documents' own are in words.py)."""
from __future__ import annotations

_EN = {
    "sheet_title": "Exercise: {name}, variant {variant}",
    "sheet_intro": "Compute the numbers below by hand (or with a calculator) for the network and the data "
                   "given. Every step uses the unrounded numbers of the steps before it.",
    "questions": "Questions",
    "round": "Give every number rounded to {decimals} decimals.",
    "round_zero": "Give every number rounded to a whole number.",
    "answers_file": "Write your answers into the file \\texttt{answers.toml} of this variant "
                    "(one \\texttt{value} per question, in the order below).",
    "compute": "Compute {what}",
    "for_example": " for example {example}",
    "entry": "the entry {entry} of ",
    "unit": "unit {unit} of ",
    "after_step": "{what} after one step of gradient descent with $\\eta = {eta}$",
    "after_optimizer": "{what} after the optimizer's first step",
    "loss_of": "the loss {what}",
    "cost": "the cost {what}",
    "derivative": "the derivative {what}",
    "state": "the optimizer's state {what} after its first step",
    "note_decimals": "to {decimals} decimals",
    "note_whole": "to a whole number",
    "note_numbers": "{count} numbers",
    "note_matrix": "a {rows}×{cols} matrix, as a list of rows",
    "note_shape": "shape {shape}, as nested lists",
    "template_title": "{name}, variant {variant}",
}

_PT = {
    "sheet_title": "Exercício: {name}, variante {variant}",
    "sheet_intro": "Calcule os números abaixo à mão (ou com uma calculadora) para a rede e os dados dados. "
                   "Cada passo usa os números não arredondados dos passos anteriores.",
    "questions": "Questões",
    "round": "Dê cada número arredondado para {decimals} casas decimais.",
    "round_zero": "Dê cada número arredondado para um número inteiro.",
    "answers_file": "Escreva suas respostas no arquivo \\texttt{answers.toml} desta variante "
                    "(um \\texttt{value} por questão, na ordem abaixo).",
    "compute": "Calcule {what}",
    "for_example": " para o exemplo {example}",
    "entry": "a entrada {entry} de ",
    "unit": "a unidade {unit} de ",
    "after_step": "{what} após um passo de descida do gradiente com $\\eta = {eta}$",
    "after_optimizer": "{what} após o primeiro passo do otimizador",
    "loss_of": "a perda {what}",
    "cost": "o custo {what}",
    "derivative": "a derivada {what}",
    "state": "o estado {what} do otimizador após o primeiro passo",
    "note_decimals": "com {decimals} casas decimais",
    "note_whole": "como número inteiro",
    "note_numbers": "{count} números",
    "note_matrix": "uma matriz {rows}×{cols}, como lista de linhas",
    "note_shape": "forma {shape}, como listas aninhadas",
    "template_title": "{name}, variante {variant}",
}

EXERCISE_WORDS = {"en": _EN, "pt": _PT}


def exercise_words(lang: str) -> dict[str, str]:
    """The exercise word table of ``lang`` (``en`` or ``pt``); ValueError naming the choices otherwise."""
    if lang not in EXERCISE_WORDS:
        raise ValueError(f"--lang: expected one of {', '.join(EXERCISE_WORDS)}, got {lang!r}")
    return EXERCISE_WORDS[lang]
