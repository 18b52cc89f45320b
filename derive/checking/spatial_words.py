"""The report's words for the mistakes of conv and pool layers (``spatial_mistakes.py``), in English and Portuguese.

The one word table is ``derive/documents/words.py``; these entries sit beside it, read by
``report.cause_text`` in the same way (as ``optimizer_words.py``), until they move there.
"""
from __future__ import annotations

_EN = {
    "kernel_not_flipped": "the kernel not flipped in the backward pass: δ sent down through conv layer {layers} "
                          "as a correlation with W where the flipped kernel (W_{{c,c′,k−1−p,k−1−q}}) belongs",
    "max_pool_to_every_position": "the δ of max pool layer {layers} sent to every position of its window, "
                                  "not only to the first maximum",
    "padding_forgotten_backward": "the padding of conv layer {layers} forgotten in the backward pass: {what} "
                                  "computed as if P = 0",
    "average_pool_not_divided": "the δ of average pool layer {layers} not divided by the window size ({size})",
    "padding_what_delta": "δ sent down",
    "padding_what_gradient": "∂W",
}

_PT = {
    "kernel_not_flipped": "o kernel não rebatido na retropropagação: δ enviado para baixo pela camada "
                          "convolucional {layers} como correlação com W onde cabe o kernel rebatido "
                          "(W_{{c,c′,k−1−p,k−1−q}})",
    "max_pool_to_every_position": "o δ da camada de max pooling {layers} enviado a todas as posições da "
                                  "janela, não só ao primeiro máximo",
    "padding_forgotten_backward": "o preenchimento (padding) da camada convolucional {layers} esquecido na "
                                  "retropropagação: {what} calculado como se P = 0",
    "average_pool_not_divided": "o δ da camada de average pooling {layers} não dividido pelo tamanho da "
                                "janela ({size})",
    "padding_what_delta": "o δ enviado para baixo",
    "padding_what_gradient": "∂W",
}


def spatial_words(lang: str) -> dict[str, str]:
    """The entries in ``lang`` ("en" or "pt")."""
    return _PT if lang == "pt" else _EN
