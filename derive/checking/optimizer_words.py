"""The report's words for the optimizer's checks (causes, "after k steps"), in English and Portuguese.

The one word table is ``derive/documents/words.py``; these entries sit beside it, read by
``report.cause_text`` and ``report.claim_name`` in the same way, until they move there.
"""
from __future__ import annotations

_EN = {
    "adam_no_bias_correction": "Adam's bias correction left out: m and v used where m̂ = m / (1 − β₁ᵗ) and "
                               "v̂ = v / (1 − β₂ᵗ) belong",
    "epsilon_inside_root": "ε inside the square root, {written} for {right}",
    "beta_swapped": "the weights of a moving average swapped ({weights}): {written}",
    "step_not_incremented": "the step count t not incremented: every step's bias correction computed with t = 1",
    "learning_rate_sign_optimizer": "the step taken uphill: the {optimizer} update added to θ instead of "
                                    "subtracted",
    "after_steps": "after {n} steps",
}

_PT = {
    "adam_no_bias_correction": "a correção de viés do Adam omitida: m e v usados onde cabem m̂ = m / (1 − β₁ᵗ) e "
                               "v̂ = v / (1 − β₂ᵗ)",
    "epsilon_inside_root": "ε dentro da raiz quadrada, {written} em vez de {right}",
    "beta_swapped": "os pesos de uma média móvel trocados ({weights}): {written}",
    "step_not_incremented": "o contador de passos t não incrementado: a correção de viés de cada passo "
                            "calculada com t = 1",
    "learning_rate_sign_optimizer": "passo no sentido do gradiente: a atualização do {optimizer} somada a θ "
                                    "em vez de subtraída",
    "after_steps": "após {n} passos",
}


def optimizer_words(lang: str) -> dict[str, str]:
    """The entries in ``lang`` ("en" or "pt")."""
    return _PT if lang == "pt" else _EN
