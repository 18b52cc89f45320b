"""The words of the derivation document's conv and pool parts (issue 15), in English and Portuguese.

Kept apart from ``words.py`` (the dense document's table) so that the conv parts can grow without touching it.
Entries are LaTeX-ready text; ``{name}`` fields are filled in by ``conv_section`` with printed math or names.
"""
from __future__ import annotations

_EN: dict[str, str] = {
    "summary": "Input of shape {shape} ({units} values). Layers: {layers}. Loss {loss}; the cost is {reduction} "
               "of the per-example losses{l2}.",
    "conv_item": "layer {number}: convolution, {channels} output channels, kernel {kernel}, stride {stride}, "
                 "padding {padding}, {activation}, {bias}, output {shape}",
    "pool_item": "layer {number}: {mode} pooling, window {size}, stride {stride}, output {shape}",
    "dense_item": "layer {number}: dense, {units} units, {activation}, {bias}",
    "mode_max": "max",
    "mode_average": "average",
    "arrays": "The input and the output of a conv or pool layer are arrays of shape $C \\times H \\times W$ "
              "(channel, row, column; a 1-D layer's are $C \\times L$). In their formulas every index counts "
              "from 0: $c$ is an output channel and $c'$ an input channel, $(i, j)$ a position in the output, "
              "$(u, v)$ one in the input, $(p, q)$ an offset inside the kernel or the window. The weights of "
              "conv layer $l$ are an array {W} of shape $C_{{\\mathrm{{out}}}} \\times C_{{\\mathrm{{in}}}} "
              "\\times k_H \\times k_W$ (one kernel per pair of channels) and its biases {b} one per output "
              "channel.",
    "dense_standard": "A dense layer computes {z}, with its weight matrix {W} of size $n_l \\times n_{{l-1}}$: "
                      "the weight {entry} links unit $k$ of layer $l-1$ to unit $j$ of layer $l$ (units count "
                      "from 1).",
    "dense_transposed": "A dense layer computes {z}, with its weight matrix {W} of size $n_{{l-1}} \\times n_l$: "
                        "the weight {entry} links unit $j$ of layer $l-1$ to unit $k$ of layer $l$ (the "
                        "convention of lecture 003; units count from 1).",
    "blocks_caption": "The network: one box per layer, with the shape of its output.",
    "conv_forward": "A convolution (a cross-correlation, as in torch) with kernel {kernel} and stride {stride}, "
                    "{padding}. Output channel $c$ at position {position}, for one example:",
    "padding_2d": "with zero padding {padding}: the input is surrounded by {padding} rows and columns of zeros, so "
                  "a read outside the input reads 0",
    "padding_1d": "with zero padding {padding}: the input gets {padding} zeros at each end, so a read outside the "
                  "input reads 0",
    "no_padding": "without padding: every read is inside the input",
    "activation": "then the activation, entry by entry:",
    "conv_figure": "Layer {number}: one input channel with its padding (grey), the kernel at output position "
                   "{first} (dashed) and at {second} (solid), one stride ({stride}) apart, and the output entries "
                   "they give.",
    "conv_figure_one": "Layer {number}: one input channel with its padding (grey), the kernel at output position "
                       "{first} and the output entry it gives.",
    "pool_figure": "Layer {number}: one channel, the window at output position {first} (dashed) and at {second} "
                   "(solid), one stride ({stride}) apart, and the output entries they give.",
    "pool_figure_one": "Layer {number}: one channel, the window at output position {first} and the output entry "
                       "it gives.",
    "pool_max": "Max pooling with window {size} and stride {stride}, channel by channel (no parameters; the "
                "output is $a = z$):",
    "pool_average": "Average pooling with window {size} and stride {stride}, channel by channel (no parameters; "
                    "the output is $a = z$):",
    "flatten": "Layer {number} reads the output of layer {previous}, of shape {shape}, flattened in C order "
               "(channel, then row, then column): {flat}. In the batch form, {A} is that flattened array, one "
               "column per example.",
    "batch_note": "For a batch, every array gets the example's index last and each example follows these "
                  "formulas on its own.",
    "sent_by_conv": "Layer {above} is a convolution. An entry of its input enters every output position whose "
                    "kernel window covers it, so the chain rule sums over them: the sum below reads "
                    "{delta} at $(u + P - p)/s$, and a read outside {delta} or at a position that is not an "
                    "integer (stride above 1) is 0. This is the strided form:",
    "flipped": "With stride 1 the same sum is the full correlation of {delta} with the flipped kernel "
               "{flipped}: {delta} padded by $k - 1 - P$ zeros on each side, read with the kernel turned by "
               "180°:",
    "no_flipped": "With stride {stride} the kernel's copies are {stride} positions apart, so an input entry "
                  "receives only from the offsets $p$ with $u + P - p$ divisible by the stride: the strided form "
                  "above is the one that holds (the plain full correlation with the flipped kernel does not).",
    "sent_by_max": "Layer {above} is a max pooling. Each window's output is one of its entries, its first "
                   "maximum in row-major order, so the window's {delta} goes to that entry only, through the "
                   "indicator {M}; a read at a position that is not an integer, or outside, is 0:",
    "mask": "where {M} is 1 at the window's first maximum and 0 elsewhere; for instance, at offset {offset}:",
    "sent_by_average": "Layer {above} is an average pooling. Each entry of a window counts $1/{count}$ in its "
                       "output, so it receives $1/{count}$ of the window's {delta}, from every window that holds "
                       "it (a read at a position that is not an integer, or outside, is 0):",
    "sent_by_dense": "Layer {above} is dense and reads layer {layer} flattened, so the vector it sends down is "
                     "reshaped to layer {layer}'s shape {shape}:",
    "hadamard": "and the error of layer {layer} is that times the activation's derivative, entry by entry "
                "($\\odot$):",
    "pool_delta": "Layer {layer} is a pooling layer, whose output is its $z$ ($g' = 1$):",
    "input_gradient": "The input",
    "input_gradient_intro": "What layer {first} sends down is the gradient of the loss with respect to the input "
                            "(what the generated code's backward() returns):",
    "conv_gradients": "The kernel gradient is the correlation of the layer's input with {delta}, and the bias "
                      "gradient the sum of {delta} over the positions, for one example:",
    "conv_gradients_batch": "For the cost of a batch, with $e$ the example's index (last) and reduction factor "
                            "{c}{l2}:",
    "l2_included": ", plus the L2 term",
    "pool_no_parameters": "Layer {number} is a pooling layer: it has no parameters.",
}

_PT: dict[str, str] = {
    "summary": "Entrada de forma {shape} ({units} valores). Camadas: {layers}. Perda {loss}; o custo é {reduction} "
               "das perdas por exemplo{l2}.",
    "conv_item": "camada {number}: convolução, {channels} canais de saída, kernel {kernel}, passo {stride}, "
                 "preenchimento {padding}, {activation}, {bias}, saída {shape}",
    "pool_item": "camada {number}: pooling {mode}, janela {size}, passo {stride}, saída {shape}",
    "dense_item": "camada {number}: densa, {units} unidades, {activation}, {bias}",
    "mode_max": "máximo",
    "mode_average": "média",
    "arrays": "A entrada e a saída de uma camada conv ou pool são arranjos de forma $C \\times H \\times W$ "
              "(canal, linha, coluna; numa camada 1-D, $C \\times L$). Nas suas fórmulas todo índice conta a "
              "partir de 0: $c$ é um canal de saída e $c'$ um canal de entrada, $(i, j)$ uma posição na saída, "
              "$(u, v)$ uma na entrada, $(p, q)$ um deslocamento dentro do kernel ou da janela. Os pesos da "
              "camada conv $l$ formam um arranjo {W} de forma $C_{{\\mathrm{{out}}}} \\times "
              "C_{{\\mathrm{{in}}}} \\times k_H \\times k_W$ (um kernel por par de canais) e os seus vieses {b}, "
              "um por canal de saída.",
    "dense_standard": "Uma camada densa calcula {z}, com a matriz de pesos {W} de tamanho $n_l \\times n_{{l-1}}$: "
                      "o peso {entry} liga a unidade $k$ da camada $l-1$ à unidade $j$ da camada $l$ (unidades "
                      "contadas a partir de 1).",
    "dense_transposed": "Uma camada densa calcula {z}, com a matriz de pesos {W} de tamanho "
                        "$n_{{l-1}} \\times n_l$: o peso {entry} liga a unidade $j$ da camada $l-1$ à unidade $k$ "
                        "da camada $l$ (a convenção da aula 003; unidades contadas a partir de 1).",
    "blocks_caption": "A rede: uma caixa por camada, com a forma da sua saída.",
    "conv_forward": "Uma convolução (uma correlação cruzada, como no torch) com kernel {kernel} e passo {stride}, "
                    "{padding}. Canal de saída $c$ na posição {position}, para um exemplo:",
    "padding_2d": "com preenchimento com zeros {padding}: a entrada é cercada por {padding} linhas e colunas de "
                  "zeros, então uma leitura fora da entrada vale 0",
    "padding_1d": "com preenchimento com zeros {padding}: a entrada ganha {padding} zeros em cada ponta, então uma "
                  "leitura fora da entrada vale 0",
    "no_padding": "sem preenchimento: toda leitura está dentro da entrada",
    "activation": "depois a ativação, entrada por entrada:",
    "conv_figure": "Camada {number}: um canal de entrada com o seu preenchimento (cinza), o kernel na posição de "
                   "saída {first} (tracejado) e em {second} (contínuo), a um passo ({stride}) de distância, e as "
                   "entradas da saída que eles dão.",
    "conv_figure_one": "Camada {number}: um canal de entrada com o seu preenchimento (cinza), o kernel na posição "
                       "de saída {first} e a entrada da saída que ele dá.",
    "pool_figure": "Camada {number}: um canal, a janela na posição de saída {first} (tracejada) e em {second} "
                   "(contínua), a um passo ({stride}) de distância, e as entradas da saída que elas dão.",
    "pool_figure_one": "Camada {number}: um canal, a janela na posição de saída {first} e a entrada da saída que "
                       "ela dá.",
    "pool_max": "Max pooling com janela {size} e passo {stride}, canal por canal (sem parâmetros; a saída é "
                "$a = z$):",
    "pool_average": "Pooling pela média com janela {size} e passo {stride}, canal por canal (sem parâmetros; a "
                    "saída é $a = z$):",
    "flatten": "A camada {number} lê a saída da camada {previous}, de forma {shape}, achatada na ordem C "
               "(canal, depois linha, depois coluna): {flat}. Na forma em lote, {A} é esse arranjo achatado, "
               "uma coluna por exemplo.",
    "batch_note": "Para um lote, todo arranjo ganha o índice do exemplo por último e cada exemplo segue estas "
                  "fórmulas por si.",
    "sent_by_conv": "A camada {above} é uma convolução. Uma entrada da sua entrada entra em toda posição de saída "
                    "cuja janela do kernel a cobre, então a regra da cadeia soma sobre elas: a soma abaixo lê "
                    "{delta} em $(u + P - p)/s$, e uma leitura fora de {delta} ou numa posição que não é inteira "
                    "(passo maior que 1) vale 0. Esta é a forma com passo:",
    "flipped": "Com passo 1 a mesma soma é a correlação completa de {delta} com o kernel invertido {flipped}: "
               "{delta} preenchido com $k - 1 - P$ zeros de cada lado, lido com o kernel girado de 180°:",
    "no_flipped": "Com passo {stride} as cópias do kernel estão a {stride} posições umas das outras, então uma "
                  "entrada recebe apenas dos deslocamentos $p$ com $u + P - p$ divisível pelo passo: vale a forma "
                  "com passo acima (a correlação completa simples com o kernel invertido não vale).",
    "sent_by_max": "A camada {above} é um max pooling. A saída de cada janela é uma das suas entradas, o seu "
                   "primeiro máximo em ordem de linhas, então o {delta} da janela vai só para essa entrada, "
                   "através do indicador {M}; uma leitura numa posição que não é inteira, ou fora, vale 0:",
    "mask": "onde {M} vale 1 no primeiro máximo da janela e 0 nas outras entradas; por exemplo, no "
            "deslocamento {offset}:",
    "sent_by_average": "A camada {above} é um pooling pela média. Cada entrada de uma janela conta $1/{count}$ na "
                       "sua saída, então recebe $1/{count}$ do {delta} da janela, de toda janela que a contém "
                       "(uma leitura numa posição que não é inteira, ou fora, vale 0):",
    "sent_by_dense": "A camada {above} é densa e lê a camada {layer} achatada, então o vetor que ela manda para "
                     "baixo é rearranjado na forma {shape} da camada {layer}:",
    "hadamard": "e o erro da camada {layer} é isso vezes a derivada da ativação, entrada por entrada "
                "($\\odot$):",
    "pool_delta": "A camada {layer} é de pooling, cuja saída é o seu $z$ ($g' = 1$):",
    "input_gradient": "A entrada",
    "input_gradient_intro": "O que a camada {first} manda para baixo é o gradiente da perda em relação à entrada "
                            "(o que o backward() do código gerado devolve):",
    "conv_gradients": "O gradiente do kernel é a correlação da entrada da camada com {delta}, e o gradiente do "
                      "viés a soma de {delta} sobre as posições, para um exemplo:",
    "conv_gradients_batch": "Para o custo de um lote, com $e$ o índice do exemplo (o último) e fator de redução "
                            "{c}{l2}:",
    "l2_included": ", mais o termo L2",
    "pool_no_parameters": "A camada {number} é de pooling: não tem parâmetros.",
}

_TABLES = {"en": _EN, "pt": _PT}


def spatial_words(lang: str) -> dict[str, str]:
    """The conv and pool words of ``lang`` (en or pt)."""
    if lang not in _TABLES:
        raise ValueError(f"lang: expected one of en, pt, got {lang!r}")
    return _TABLES[lang]
