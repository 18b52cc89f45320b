"""The words a worked solution of a conv net adds to ``words.py``'s (issue 15), in English and Portuguese."""
from __future__ import annotations

_EN = {
    "conv_layer": "Layer {number} (convolution, kernel {kernel}, stride {stride}, padding {padding}): each "
                  "{z} is the kernel times the window of {a} under it, summed, plus the bias"
                  "{padding_note}:",
    "padding_note": " (a position in the padding reads 0 and is left out)",
    "pool_layer_max": "Layer {number} (max pooling, window {size}, stride {stride}): each {z} is the largest "
                      "entry of its window of {a}; a pooling layer has no activation, {a_out} = {z}:",
    "pool_layer_average": "Layer {number} (average pooling, window {size}, stride {stride}): each {z} is the mean "
                          "of its window of {a}; a pooling layer has no activation, {a_out} = {z}:",
    "dense_layer": "Layer {number} (dense) reads {a} flattened in C order (channel, then row by row):",
    "activation_map": "The activation, entry by entry:",
    "the_map": "As an array:",
    "given_layers": "The network:",
    "given_input": "The input of example {i}:",
    "delta_dense_above": "Layer {number}: {d} flows back through the weights of layer {above} "
                         "(each entry of {a} is one input of the dense layer):",
    "delta_conv_above": "Layer {number}: {d} flows back through the kernel of layer {above} "
                        "(the correlation of {delta} with the flipped kernel):",
    "routing_max": "Layer {number}: max pooling sends each window's {d} to the first maximum of the window "
                   "(in row-major order) and 0 to the other entries:",
    "routing_window": "the window of {z} holds {entries}; its first maximum is {winner}, which receives {delta}",
    "routing_average": "Layer {number}: average pooling shares each window's {d} equally among its {count} entries:",
    "delta_times_derivative": "Then {d} of layer {number} is the activation's derivative times what arrives:",
    "delta_zero": "Every other entry of {d} of layer {number} is 0: it is no window's first maximum.",
    "kernel_gradient": "Each kernel entry's gradient is the sum, over the positions of the kernel, of {d} times "
                       "the input entry that kernel entry met there (the correlation of the input with {d}):",
    "bias_gradient_conv": "The bias gradient is the sum of {d} over the layer's map:",
    "dense_gradient": "Layer {number} (dense): $\\partial \\ell / \\partial w$ = {d} times the input the weight multiplies:",
    "updated_kernel": "The kernel after the step:",
    "optimizer_refused": "expected plain gradient descent for the worked solution of a net with conv or pool "
                         "layers (sgd, or no [optimizer])",
}

_PT = {
    "conv_layer": "Camada {number} (convolução, kernel {kernel}, passo {stride}, preenchimento {padding}): cada "
                  "{z} é o kernel vezes a janela de {a} sob ele, somados, mais o viés{padding_note}:",
    "padding_note": " (uma posição no preenchimento vale 0 e é omitida)",
    "pool_layer_max": "Camada {number} (max pooling, janela {size}, passo {stride}): cada {z} é a maior entrada "
                      "da sua janela de {a}; uma camada de pooling não tem ativação, {a_out} = {z}:",
    "pool_layer_average": "Camada {number} (average pooling, janela {size}, passo {stride}): cada {z} é a média "
                          "da sua janela de {a}; uma camada de pooling não tem ativação, {a_out} = {z}:",
    "dense_layer": "A camada {number} (densa) lê {a} achatado em ordem C (canal, depois linha por linha):",
    "activation_map": "A ativação, entrada por entrada:",
    "the_map": "Como matriz:",
    "given_layers": "A rede:",
    "given_input": "A entrada do exemplo {i}:",
    "delta_dense_above": "Camada {number}: {d} volta pelos pesos da camada {above} "
                         "(cada entrada de {a} é uma entrada da camada densa):",
    "delta_conv_above": "Camada {number}: {d} volta pelo kernel da camada {above} "
                        "(a correlação de {delta} com o kernel invertido):",
    "routing_max": "Camada {number}: o max pooling envia o {d} de cada janela ao primeiro máximo da janela "
                   "(em ordem de linhas) e 0 às outras entradas:",
    "routing_window": "a janela de {z} contém {entries}; seu primeiro máximo é {winner}, que recebe {delta}",
    "routing_average": "Camada {number}: o average pooling reparte o {d} de cada janela igualmente entre suas "
                       "{count} entradas:",
    "delta_times_derivative": "Então o {d} da camada {number} é a derivada da ativação vezes o que chega:",
    "delta_zero": "Toda outra entrada do {d} da camada {number} é 0: não é o primeiro máximo de nenhuma janela.",
    "kernel_gradient": "O gradiente de cada entrada do kernel é a soma, sobre as posições do kernel, de {d} vezes "
                       "a entrada que essa entrada do kernel encontrou ali (a correlação da entrada com {d}):",
    "bias_gradient_conv": "O gradiente do viés é a soma de {d} sobre o mapa da camada:",
    "dense_gradient": "Camada {number} (densa): $\\partial \\ell / \\partial w$ = {d} vezes a entrada que o peso multiplica:",
    "updated_kernel": "O kernel após o passo:",
    "optimizer_refused": "expected plain gradient descent for the worked solution of a net with conv or pool "
                         "layers (sgd, or no [optimizer])",
}

WORDS = {"en": _EN, "pt": _PT}


def spatial_words(lang: str) -> dict[str, str]:
    """The conv and pool words of ``lang`` (``words(lang)`` has already refused an unknown language)."""
    return WORDS[lang]
