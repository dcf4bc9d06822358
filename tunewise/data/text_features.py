"""Text features from a frozen causal language model, for linear probes (label-issue finding).

``embed_texts`` runs the model once over every text (no gradients, bf16 autocast where the CPU
supports it, batches grouped by length so little padding is computed) and returns, per text, the
hidden states mean-pooled over the text's tokens, from the last layer and from a middle layer
(concatenated). Middle layers of small decoder models often carry more linearly usable semantic
information than the last one, which is shaped for next-token prediction; measured on movie
reviews (bench/noise_bench.py), mean over both beat either alone and the last token alone.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

#: tokens per text fed to the model (longer texts are cut; the label is rarely in the tail)
MAX_TOKENS = 256
#: texts per forward pass; batches are grouped by length
BATCH_SIZE = 32
#: which hidden states to pool: the output of the last layer and of the layer in the middle
POOL_LAYERS = ("middle", "last")


def _layer_index(name: str, n_layers: int) -> int:
    # hidden_states[0] is the embedding output, [n_layers] the last layer's output
    return n_layers if name == "last" else max(1, n_layers // 2)


def embed_texts(texts: Sequence[str], *, model: str | None = None, lm=None,
                batch_size: int = BATCH_SIZE, max_tokens: int = MAX_TOKENS,
                layers: Sequence[str] = POOL_LAYERS, bf16: bool | None = None,
                progress: bool = True) -> np.ndarray:
    """(n, d * len(layers)) float32 features of ``texts``: mean-pooled hidden states.

    ``lm``: a ``LoadedModel`` to use (else ``model`` is loaded by name; None = the embedded
    model). ``bf16``: autocast to bfloat16 (None = where the CPU supports it).
    """
    import torch

    from tunewise import progress as prog
    from tunewise.models.load import load_model
    from tunewise.training.config import cpu_supports_bf16
    if lm is None:
        lm = load_model(model, memo=True)
    tok, net = lm.tokenizer, lm.model
    if bf16 is None:
        bf16 = cpu_supports_bf16()
    ids = [tok(t or " ", add_special_tokens=False, truncation=True,
               max_length=max_tokens)["input_ids"] or [tok.eos_token_id] for t in texts]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    n_layers = int(getattr(net.config, "num_hidden_layers", 0) or 0)
    picks = [_layer_index(name, n_layers) for name in layers]
    width = int(net.config.hidden_size) * len(picks)
    out = np.zeros((len(texts), width), dtype=np.float32)
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    with prog.bar("language-model features", total=len(texts), disable=not progress) as advance, \
            torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            longest = max(len(ids[i]) for i in batch)
            x = torch.full((len(batch), longest), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), longest), dtype=torch.long)
            for row, i in enumerate(batch):
                x[row, :len(ids[i])] = torch.tensor(ids[i])
                mask[row, :len(ids[i])] = 1
            res = net(input_ids=x, attention_mask=mask, output_hidden_states=True,
                      logits_to_keep=1)
            m = mask.unsqueeze(-1).float()
            pooled = [(res.hidden_states[k].float() * m).sum(1) / m.sum(1) for k in picks]
            out[batch] = torch.cat(pooled, dim=-1).numpy()
            advance(len(batch))
    return out
