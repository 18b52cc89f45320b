"""The one word table, in English and Portuguese: documents, worked solutions and check reports.

Only words: every formula is printed elsewhere. A document's entries are LaTeX-ready text
(no math of their own; ``{name}`` fields are filled in by the document builders with printed
math or names) and also valid Markdown; a check report's entries are plain text.
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
    # the update rule of a spec's [optimizer] (documents/updates.py); {kind} is the spec's name, in \texttt
    "optimizer_update": "Update rule: {kind}",
    "optimizer_intro": "The spec trains with {kind}, whose rule is that of torch.optim. It acts on each entry "
                       "{theta} of the parameters ({params}) on its own: {g} is that entry's gradient from the "
                       "previous section, taken at {theta_before}, the steps are numbered {steps}, and the state "
                       "starts at zero ({zeros}).",
    "optimizer_state_momentum": "{b} is the entry's momentum buffer (its velocity), not a bias; {mu} is the "
                                "momentum and {tau} the dampening ({tau} equal to {mu} gives the moving-average "
                                "form).",
    "optimizer_state_nesterov": "{b} is the entry's momentum buffer (its velocity), not a bias, and {mu} is the "
                                "momentum; Nesterov's step looks ahead along the new buffer.",
    "optimizer_state_adagrad": "{G} is the sum of the squares of the entry's gradients so far (not a matrix of "
                               "activation derivatives); {eps} is added outside the square root.",
    "optimizer_state_rmsprop": "{v} is the moving average of the entry's squared gradient, with decay {alpha}; "
                               "{eps} is added outside the square root.",
    "optimizer_state_adam": "{m} is the moving average of the gradient (first moment) and {v} that of its square "
                            "(second moment); {mhat} and {vhat} are their bias corrections, which undo the start at "
                            "zero ({t} is the step's number); {eps} is added outside the square root.",
    "optimizer_sgd": "The spec trains with {kind}: plain gradient descent, one step per batch.",
    "optimizer_values": "The spec's values: {values}.",
    "optimizer_decay": "The learning rate decays per epoch ({decay}): every step of epoch {e} (counted from 0) uses "
                       "{eta_e} in place of {eta}:",
    "decay_inverse_time": "inverse time",
    "decay_exponential": "exponential",
    # inside a formula's cases (relu): "z for z > 0, 0 otherwise"
    "cases_if": "for",
    "cases_otherwise": "otherwise",
    "proof": "Proof",
    "proof_intro": "deltagen checks the derivation exactly (a symbolic zero, not a floating-point "
                   "comparison): every activation derivative, the output error against the derivative of "
                   "the loss, each recurrence step by the chain rule, and each gradient.",
    "proof_kinds_both": "layer by layer and end to end",
    "proof_kinds_local": "layer by layer",
    "proof_ok": "Verdict: all {count} gradients verified ({identities} identities, {kinds}).",
    "proof_optimizer": "The closed forms of the {kind} update rule: {count} identities verified.",
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
    "optimizer_step": "One step of {kind}", "optimizer_step_epoch": "It is a step of epoch 0: {eta_0}.",
    "optimizer_step_intro": "The first step of {kind} from the zero state ($t$ goes from 0 to 1), with {values}. "
                            "Each line acts on every entry on its own: squares, square roots, quotients and sums "
                            "with a number are taken entry by entry. Where a line needs them, its numbers have more "
                            "digits, so that each line computed from the numbers shown gives the result shown.",
    "optimizer_step_parameter": "For {theta}: {theta_before}, {g} (above), {zeros}:",
    # worked solution: what is split to fit the page (layout.py)
    "columns_block": "columns {first} to {last}:",
    "split_note": "Some matrices are too wide for the page. Such a matrix is shown in blocks of columns, "
                  "each marked (columns 1 to 5, then the next ones), with the numbers that give those columns; "
                  "a product of wide matrices is written as the sum of the products of their blocks (columns "
                  "of the left factor times the same rows of the right one: for a batch, a group of examples "
                  "at a time); and a long line goes on in the next one.",
    # check report
    "title": "deltagen check: {answers} against {spec}",
    "order": "Claims in the order they are computed; the first wrong step is marked.",
    "example": "example {n}",
    "correct": "correct",
    "wrong": "wrong",
    "follows-through": "follows through",
    "rounding": "rounding",
    "unproven": "not decided",
    "first_wrong": "<- first wrong step",
    "right_value": "right value {value}",
    "from_yours": "what your earlier numbers give: {value}",
    "from_rounded": "what the rounded earlier numbers give: {value}",
    "truncated": "cut off instead of rounded",
    "rounded_from": "from {what} rounded to {value}",
    "judged_within": "yours is within {tolerance} of it",
    "judged_carried": "yours is {distance} from it: more than {tolerance}, but within what the rounding of "
                      "the earlier numbers it uses allows",
    "allowed": "{tolerance} allowed",
    "cause": "likely cause: {text}",
    "causes": "likely causes: {text}",
    "or": "; or ",
    "and": ", together with ",
    "no_cause": "no known cause",
    "summary": "Summary: {total} numbers and formulas: {parts}.",
    "first_step": "First wrong step: {name}.",
    "none_wrong": "No wrong step.",
    "formula_correct": "equal to the derivation's {derived} for every input",
    "formula_correct_layers": "equal to the derivation's for every input, at layers {layers}",
    "formula_wrong": "the derivation gives {derived}; at {point} the claim is {claimed_value} but it is "
                     "{derived_value}",
    "formula_unproven": "SymPy could not reduce the difference to 0, and found no point where they differ "
                        "(the derivation gives {derived})",
    "affine_correct": "every second derivative in x is 0: {quantity} = {derived}",
    "affine_wrong": "{claimed} fails at {point}: it is {derived_value}",
    "targets_sum_to_one": " (using that the targets sum to 1)",
    "at_layer": " at layer {layer}",
    "count_correct": "{n} correct", "count_wrong": "{n} wrong", "count_follows-through": "{n} follow through",
    "count_rounding": "{n} rounding", "count_unproven": "{n} not decided",
    # check report: likely causes
    "sigmoid_sign": "a sign slip in the sigmoid's exponent, 1/(1 + e^z) for σ(z) (layer {layers})",
    "sum_for_mean": "a sum over the examples where the cost is their mean (the 1/m left out)",
    "mean_for_sum": "a mean (1/m) where the cost is the sum over the examples",
    "loss_doubled": "a factor 2 too many (the ½ of the loss left out, or a 2 kept from differentiating the square)",
    "loss_halved": "a factor ½ too many",
    "g_for_derivative": "g(z) used where its derivative g'(z) belongs (layer {layers})",
    "derivative_sign": "the wrong sign: y − a where a − y belongs",
    "transposed_forward": "the weights transposed in the forward pass, z = Wᵀa (layer {layers})",
    "transposed_backward": "W δ where Wᵀ δ belongs (the weights of layer {layers})",
    "learning_rate_sign": "the step taken uphill, W + η ∂C/∂W",
    "sequential": "the earlier layers' δ computed with weights already updated",
    "single_example": "the step taken with example {example} alone (its gradient, not the batch's)",
    "misread_y": "the target y_{unit} of example {example} read as {read} instead of {actual}",
    "misread_x": "the input x_{unit} of example {example} read as {read} instead of {actual}",
    "digit_slip": "a slip of the pen: one digit differs from {expected}",
    "derivative_left_out": "the activation's derivative g'(z) left out (layer {layers})",
    "derivative_at_a": "the derivative evaluated at a instead of z, {written} where g'(z) belongs (layer {layers})",
    "derivative_formula_sign": "a sign slip in the derivative's formula, {written} for {right} (layer {layers})",
    "in_example": ", in example {example} only",
}

_PT: dict[str, str] = {
    # derivation document
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
    # a regra de atualização do [optimizer] da especificação (documents/updates.py)
    "optimizer_update": "Regra de atualização: {kind}",
    "optimizer_intro": "A especificação treina com {kind}, cuja regra é a do torch.optim. Ela age sobre cada "
                       "entrada {theta} dos parâmetros ({params}) separadamente: {g} é o gradiente dessa entrada, "
                       "da seção anterior, calculado em {theta_before}, os passos são numerados {steps}, e o estado "
                       "começa em zero ({zeros}).",
    "optimizer_state_momentum": "{b} é o buffer de momento da entrada (sua velocidade), não um viés; {mu} é o "
                                "momento e {tau} o amortecimento ({tau} igual a {mu} dá a forma de média móvel).",
    "optimizer_state_nesterov": "{b} é o buffer de momento da entrada (sua velocidade), não um viés, e {mu} é o "
                                "momento; o passo de Nesterov olha adiante ao longo do novo buffer.",
    "optimizer_state_adagrad": "{G} é a soma dos quadrados dos gradientes da entrada até aqui (não uma matriz de "
                               "derivadas de ativação); {eps} é somado fora da raiz quadrada.",
    "optimizer_state_rmsprop": "{v} é a média móvel do quadrado do gradiente da entrada, com decaimento {alpha}; "
                               "{eps} é somado fora da raiz quadrada.",
    "optimizer_state_adam": "{m} é a média móvel do gradiente (primeiro momento) e {v} a do seu quadrado (segundo "
                            "momento); {mhat} e {vhat} são suas correções de viés, que desfazem o início em zero "
                            "({t} é o número do passo); {eps} é somado fora da raiz quadrada.",
    "optimizer_sgd": "A especificação treina com {kind}: o gradiente descendente simples, um passo por lote.",
    "optimizer_values": "Os valores da especificação: {values}.",
    "optimizer_decay": "A taxa de aprendizado decai por época ({decay}): cada passo da época {e} (contada a partir "
                       "de 0) usa {eta_e} no lugar de {eta}:",
    "decay_inverse_time": "inverso do tempo",
    "decay_exponential": "exponencial",
    # dentro dos casos de uma fórmula (relu): "z se z > 0, 0 caso contrário"
    "cases_if": "se",
    "cases_otherwise": "caso contrário",
    "proof": "Prova",
    "proof_intro": "O deltagen verifica a derivação exatamente (um zero simbólico, não uma comparação em "
                   "ponto flutuante): cada derivada de ativação, o erro de saída contra a derivada da perda, "
                   "cada passo da recorrência pela regra da cadeia, e cada gradiente.",
    "proof_kinds_both": "camada a camada e de ponta a ponta",
    "proof_kinds_local": "camada a camada",
    "proof_ok": "Veredito: todos os {count} gradientes verificados ({identities} identidades, {kinds}).",
    "proof_optimizer": "As formas fechadas da regra de atualização {kind}: {count} identidades verificadas.",
    "proof_failed": "Veredito: FALHOU: {failed} de {total} identidades não valem ({kinds}).",
    # worked solution
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
    "optimizer_step": "Um passo de {kind}", "optimizer_step_epoch": "É um passo da época 0: {eta_0}.",
    "optimizer_step_intro": "O primeiro passo de {kind} a partir do estado zero ($t$ vai de 0 a 1), com {values}. "
                            "Cada linha age sobre cada entrada separadamente: quadrados, raízes quadradas, "
                            "quocientes e somas com um número são tomados entrada por entrada. Onde uma linha precisa, "
                            "seus números têm mais algarismos, para que cada linha calculada com os números mostrados "
                            "dê o resultado mostrado.",
    "optimizer_step_parameter": "Para {theta}: {theta_before}, {g} (acima), {zeros}:",
    # solução passo a passo: o que é dividido para caber na página (layout.py)
    "columns_block": "colunas {first} a {last}:",
    "split_note": "Algumas matrizes são largas demais para a página. Uma matriz assim aparece em blocos de "
                  "colunas, cada um indicado (colunas 1 a 5, depois as seguintes), com as contas que dão essas "
                  "colunas; um produto de matrizes largas é escrito como a soma dos produtos de seus blocos "
                  "(colunas do fator da esquerda vezes as mesmas linhas do da direita: num lote, um grupo de "
                  "exemplos de cada vez); e uma linha longa continua na seguinte.",
    # check report
    "title": "deltagen check: {answers} contra {spec}",
    "order": "Afirmações na ordem em que são calculadas; o primeiro passo errado está marcado.",
    "example": "exemplo {n}",
    "correct": "correto",
    "wrong": "errado",
    "follows-through": "segue do erro anterior",
    "rounding": "arredondamento",
    "unproven": "não decidido",
    "first_wrong": "<- primeiro passo errado",
    "right_value": "valor correto {value}",
    "from_yours": "o que seus valores anteriores dão: {value}",
    "from_rounded": "o que os valores anteriores arredondados dão: {value}",
    "truncated": "truncado em vez de arredondado",
    "rounded_from": "a partir de {what} arredondado para {value}",
    "judged_within": "o seu está dentro de {tolerance} desse valor",
    "judged_carried": "o seu está a {distance} desse valor: mais que {tolerance}, mas dentro do que permite o "
                      "arredondamento dos valores anteriores que ele usa",
    "allowed": "tolerância {tolerance}",
    "cause": "causa provável: {text}",
    "causes": "causas prováveis: {text}",
    "or": "; ou ",
    "and": ", junto com ",
    "no_cause": "nenhuma causa conhecida",
    "summary": "Resumo: {total} números e fórmulas: {parts}.",
    "first_step": "Primeiro passo errado: {name}.",
    "none_wrong": "Nenhum passo errado.",
    "formula_correct": "igual à expressão {derived} da derivação, para qualquer entrada",
    "formula_correct_layers": "igual à da derivação para qualquer entrada, nas camadas {layers}",
    "formula_wrong": "a derivação dá {derived}; em {point} a afirmação vale {claimed_value}, mas o valor é "
                     "{derived_value}",
    "formula_unproven": "o SymPy não reduziu a diferença a 0 nem achou um ponto em que elas diferem "
                        "(a derivação dá {derived})",
    "affine_correct": "toda derivada segunda em x é 0: {quantity} = {derived}",
    "affine_wrong": "{claimed} falha em {point}: vale {derived_value}",
    "targets_sum_to_one": " (usando que os alvos somam 1)",
    "at_layer": " na camada {layer}",
    "count_correct": "{n} corretos", "count_wrong": "{n} errados", "count_follows-through": "{n} seguem do erro",
    "count_rounding": "{n} arredondamento", "count_unproven": "{n} não decididos",
    # check report: likely causes
    "sigmoid_sign": "sinal trocado no expoente da sigmoide, 1/(1 + e^z) no lugar de σ(z) (camada {layers})",
    "sum_for_mean": "soma sobre os exemplos onde o custo é a média (faltou o 1/m)",
    "mean_for_sum": "média (1/m) onde o custo é a soma sobre os exemplos",
    "loss_doubled": "um fator 2 a mais (faltou o ½ da perda, ou sobrou o 2 da derivada do quadrado)",
    "loss_halved": "um fator ½ a mais",
    "g_for_derivative": "g(z) usada no lugar da derivada g'(z) (camada {layers})",
    "derivative_sign": "sinal trocado: y − a no lugar de a − y",
    "transposed_forward": "pesos transpostos na propagação direta, z = Wᵀa (camada {layers})",
    "transposed_backward": "W δ no lugar de Wᵀ δ (pesos da camada {layers})",
    "learning_rate_sign": "passo no sentido do gradiente, W + η ∂C/∂W",
    "sequential": "δ das camadas anteriores calculados com os pesos já atualizados",
    "single_example": "passo dado só com o exemplo {example} (o gradiente dele, não o do lote)",
    "misread_y": "o alvo y_{unit} do exemplo {example} lido como {read} em vez de {actual}",
    "misread_x": "a entrada x_{unit} do exemplo {example} lida como {read} em vez de {actual}",
    "digit_slip": "erro de cópia: um dígito difere de {expected}",
    "derivative_left_out": "faltou a derivada da ativação g'(z) (camada {layers})",
    "derivative_at_a": "derivada calculada em a em vez de z, {written} no lugar de g'(z) (camada {layers})",
    "derivative_formula_sign": "sinal trocado na fórmula da derivada, {written} no lugar de {right} (camada {layers})",
    "in_example": ", só no exemplo {example}",
}

#: the one word table: language → key → words
WORDS: dict[str, dict[str, str]] = {"en": _EN, "pt": _PT}


def words(lang: str) -> dict[str, str]:
    """The word table of ``lang`` (``en`` or ``pt``); ValueError naming the choices otherwise."""
    if lang not in WORDS:
        raise ValueError(f"--lang: expected one of {', '.join(LANGUAGES)}, got {lang!r}")
    return WORDS[lang]
