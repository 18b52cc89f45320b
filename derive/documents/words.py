"""The words of the documents, in English and Portuguese. Only words: every formula is printed elsewhere.

Each entry is LaTeX-ready text (no math of its own; ``{name}`` fields are filled in
by the document builders with printed math or names) and also valid Markdown.
"""
from __future__ import annotations

LANGUAGES = ("en", "pt")

_EN: dict[str, str] = {
    # derivation document
    "derivation_title": "Backpropagation for {name}",
    "network": "The network",
    "layer_item": "layer {number}: {units} {unit_word}, {activation}, {bias}",
    "unit": "unit",
    "units": "units",
    "with_bias": "with bias",
    "without_bias": "without bias",
    "network_summary": "Layer sizes {sizes} ({layers}). Loss {loss}; the cost is {reduction} "
                       "of the per-example losses{l2}.",
    "l2_term": ", plus an L2 term with {l2}",
    "no_l2": ", without L2 term",
    "reduction_mean": "the mean",
    "reduction_sum": "the sum",
    "notation_layers": "Layers are numbered from {first}: the input is {a0}, and the output layer is layer {L}.",
    "notation_standard": "Each layer computes {z}, with its weight matrix {W} of size "
                         "$n_l \\times n_{{l-1}}$: the weight {entry} links unit $k$ of layer $l-1$ to unit $j$ "
                         "of layer $l$.",
    "notation_transposed": "Each layer computes {z}, with its weight matrix {W} of size "
                           "$n_{{l-1}} \\times n_l$: the weight {entry} links unit $j$ of layer $l-1$ to unit $k$ "
                           "of layer $l$ (the convention of lecture 003). This changes only how weights are "
                           "named, not any value.",
    "figure_caption": "The network: one circle per unit, an arrow per weight.",
    "input_layer": "input (layer {number})",
    "hidden_layer": "layer {number}",
    "output_layer": "output (layer {number})",
    "forward": "Forward pass",
    "forward_intro": "For one example, unit by unit:",
    "layer": "Layer {number}",
    "matrix_form": "For a batch, with one example per column:",
    "cost": "Cost",
    "cost_intro": "The loss of one example, and the cost {C} over the $m$ examples of a batch:",
    "derivatives": "Activation derivatives",
    "derivatives_intro": "Each derivative is taken by SymPy.",
    "derivatives_through_a": "Where it can be written through the unit's own output $a = g(z)$, that form is "
                             "used, after SymPy proved it equal.",
    "output_delta": "Output layer: {delta} by the chain rule",
    "output_delta_intro": "The error of output unit $k$ is the derivative of the loss with respect to its "
                          "input, through the output activation, then simplified:",
    "canonical": "The product cancels: this output activation and loss are a canonical pair, so the error "
                 "is the output minus the target.",
    "matrix_form_batch": "For a batch (one column per example):",
    "output_delta_columns": "For a batch, column $i$ of {Delta} is {delta} of example $i$.",
    "recurrence": "Hidden layers: the recurrence",
    "recurrence_intro": "The error of a hidden unit is the derivative of its activation times the errors of "
                        "the next layer, weighted by the weights that leave the unit (the chain rule through "
                        "the next layer's inputs):",
    "matrix_form_batch_hadamard": "For a batch, with $\\odot$ the elementwise (Hadamard) product:",
    "gradients": "Gradients",
    "gradients_intro": "For one example, the gradient of a weight is the error of the unit it enters times "
                       "the activation it carries; the gradient of a bias is the error of its unit:",
    "gradients_matrix": "For the cost of a batch, with reduction factor {c} (and the L2 term, if any):",
    "update": "Gradient-descent step",
    "update_intro": "With learning rate $\\eta$:",
    "proof": "Proof",
    "proof_intro": "deltagen checks the derivation exactly (a symbolic zero, not a floating-point "
                   "comparison): every activation derivative, the output error against the derivative of "
                   "the loss, each recurrence step by the chain rule, and each gradient.",
    "proof_kinds_both": "layer by layer and end to end",
    "proof_kinds_local": "layer by layer",
    "proof_ok": "Verdict: all {count} gradients verified ({identities} identities, {kinds}).",
    "proof_failed": "Verdict: FAILED: {failed} of {total} identities do not hold ({kinds}).",
    # worked solution
    "solution_title": "Worked solution for {name}",
    "given": "Given",
    "given_intro": "The parameters, the data (one column per example) and the learning rate:",
    "given_no_rate": "The spec gives no learning rate, so no update step is computed.",
    "digits_note": "Results are rounded to {digits} significant digits; every step uses the unrounded "
                   "values of the steps before it.",
    "forward_example": "Forward pass, example {i}",
    "loss_example": "The loss of example {i}:",
    "total_cost": "Cost",
    "total_cost_mean": "The cost is the mean of the {m} losses:",
    "total_cost_sum": "The cost is the sum of the {m} losses:",
    "total_cost_l2": "plus the L2 term:",
    "backward_example": "Backward pass, example {i}",
    "output_error": "Output error:",
    "hidden_error": "Error of layer {number}:",
    "example_gradients": "Gradients of the loss of example {i}:",
    "batch_gradients": "Gradients of the cost",
    "batch_gradients_mean": "The gradient of the cost is the mean of the {m} per-example gradients:",
    "batch_gradients_sum": "The gradient of the cost is the sum of the {m} per-example gradients:",
    "batch_gradients_single": "With a single example, the gradients of the cost are those of its loss:",
    "batch_gradients_l2": "Each weight gradient also gets the L2 term {term}.",
    "updated": "Updated parameters",
    "updated_intro": "One gradient-descent step with {eta}:",
}

_PT: dict[str, str] = {
    "derivation_title": "Retropropagação para {name}",
    "network": "A rede",
    "layer_item": "camada {number}: {units} {unit_word}, {activation}, {bias}",
    "unit": "unidade",
    "units": "unidades",
    "with_bias": "com viés",
    "without_bias": "sem viés",
    "network_summary": "Tamanhos das camadas {sizes} ({layers}). Perda {loss}; o custo é {reduction} "
                       "das perdas por exemplo{l2}.",
    "l2_term": ", mais um termo L2 com {l2}",
    "no_l2": ", sem termo L2",
    "reduction_mean": "a média",
    "reduction_sum": "a soma",
    "notation_layers": "As camadas são numeradas a partir de {first}: a entrada é {a0}, e a camada de saída "
                       "é a camada {L}.",
    "notation_standard": "Cada camada calcula {z}, com sua matriz de pesos {W} de tamanho "
                         "$n_l \\times n_{{l-1}}$: o peso {entry} liga a unidade $k$ da camada $l-1$ à unidade $j$ "
                         "da camada $l$.",
    "notation_transposed": "Cada camada calcula {z}, com sua matriz de pesos {W} de tamanho "
                           "$n_{{l-1}} \\times n_l$: o peso {entry} liga a unidade $j$ da camada $l-1$ à unidade $k$ "
                           "da camada $l$ (a convenção da aula 003). Isso muda só o nome dos pesos, nenhum valor.",
    "figure_caption": "A rede: um círculo por unidade, uma seta por peso.",
    "input_layer": "entrada (camada {number})",
    "hidden_layer": "camada {number}",
    "output_layer": "saída (camada {number})",
    "forward": "Propagação direta (feedforward)",
    "forward_intro": "Para um exemplo, unidade por unidade:",
    "layer": "Camada {number}",
    "matrix_form": "Para um lote, com um exemplo por coluna:",
    "cost": "Custo",
    "cost_intro": "A perda de um exemplo, e o custo {C} sobre os $m$ exemplos de um lote:",
    "derivatives": "Derivadas das ativações",
    "derivatives_intro": "Cada derivada é calculada pelo SymPy.",
    "derivatives_through_a": "Quando pode ser escrita pela própria saída da unidade, $a = g(z)$, usa-se essa "
                             "forma, depois de o SymPy provar que é igual.",
    "output_delta": "Camada de saída: {delta} pela regra da cadeia",
    "output_delta_intro": "O erro da unidade de saída $k$ é a derivada da perda em relação à sua entrada, "
                          "através da ativação de saída, depois simplificada:",
    "canonical": "O produto se cancela: esta ativação de saída e esta perda formam um par canônico, e o erro "
                 "é a saída menos o alvo.",
    "matrix_form_batch": "Para um lote (uma coluna por exemplo):",
    "output_delta_columns": "Para um lote, a coluna $i$ de {Delta} é {delta} do exemplo $i$.",
    "recurrence": "Camadas ocultas: a recorrência",
    "recurrence_intro": "O erro de uma unidade oculta é a derivada de sua ativação vezes os erros da camada "
                        "seguinte, ponderados pelos pesos que saem da unidade (regra da cadeia pelas entradas "
                        "da camada seguinte):",
    "matrix_form_batch_hadamard": "Para um lote, com $\\odot$ o produto elemento a elemento (de Hadamard):",
    "gradients": "Gradientes",
    "gradients_intro": "Para um exemplo, o gradiente de um peso é o erro da unidade em que ele entra vezes a "
                       "ativação que ele carrega; o gradiente de um viés é o erro de sua unidade:",
    "gradients_matrix": "Para o custo de um lote, com fator de redução {c} (e o termo L2, se houver):",
    "update": "Passo do gradiente descendente",
    "update_intro": "Com taxa de aprendizado $\\eta$:",
    "proof": "Prova",
    "proof_intro": "O deltagen verifica a derivação exatamente (um zero simbólico, não uma comparação em "
                   "ponto flutuante): cada derivada de ativação, o erro de saída contra a derivada da perda, "
                   "cada passo da recorrência pela regra da cadeia, e cada gradiente.",
    "proof_kinds_both": "camada a camada e de ponta a ponta",
    "proof_kinds_local": "camada a camada",
    "proof_ok": "Veredito: todos os {count} gradientes verificados ({identities} identidades, {kinds}).",
    "proof_failed": "Veredito: FALHOU: {failed} de {total} identidades não valem ({kinds}).",
    "solution_title": "Solução passo a passo para {name}",
    "given": "Dados",
    "given_intro": "Os parâmetros, os dados (um exemplo por coluna) e a taxa de aprendizado:",
    "given_no_rate": "A especificação não dá taxa de aprendizado, então nenhum passo de atualização é "
                     "calculado.",
    "digits_note": "Os resultados são arredondados para {digits} algarismos significativos; cada passo usa "
                   "os valores não arredondados dos passos anteriores.",
    "forward_example": "Propagação direta, exemplo {i}",
    "loss_example": "A perda do exemplo {i}:",
    "total_cost": "Custo",
    "total_cost_mean": "O custo é a média das {m} perdas:",
    "total_cost_sum": "O custo é a soma das {m} perdas:",
    "total_cost_l2": "mais o termo L2:",
    "backward_example": "Retropropagação, exemplo {i}",
    "output_error": "Erro de saída:",
    "hidden_error": "Erro da camada {number}:",
    "example_gradients": "Gradientes da perda do exemplo {i}:",
    "batch_gradients": "Gradientes do custo",
    "batch_gradients_mean": "O gradiente do custo é a média dos {m} gradientes por exemplo:",
    "batch_gradients_sum": "O gradiente do custo é a soma dos {m} gradientes por exemplo:",
    "batch_gradients_single": "Com um único exemplo, os gradientes do custo são os de sua perda:",
    "batch_gradients_l2": "Cada gradiente de pesos recebe também o termo L2 {term}.",
    "updated": "Parâmetros atualizados",
    "updated_intro": "Um passo do gradiente descendente com {eta}:",
}

_TABLES = {"en": _EN, "pt": _PT}


def words(lang: str) -> dict[str, str]:
    """The word table of ``lang`` (``en`` or ``pt``); ValueError naming the choices otherwise."""
    if lang not in _TABLES:
        raise ValueError(f"--lang: expected one of {', '.join(LANGUAGES)}, got {lang!r}")
    return _TABLES[lang]
