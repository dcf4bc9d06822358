"""Text features from a frozen causal language model, for linear probes (label-issue finding).

``embed_texts`` runs the model over every text (no gradients, bf16 autocast where the CPU supports
it, batches grouped by length so little padding is computed) and returns, per text, the hidden
state of a middle layer at the last token concatenated with its mean over the text's tokens.

Why the middle layer: measured on 2,000 movie reviews (5-fold accuracy of a standardised logistic
regression on the embedded SmolLM2-135M's features), the last token scored 0.806 at the middle
layer (15 of 30) and 0.809 at the last, the mean over tokens 0.788 at the middle and 0.728 at the
last: the middle layer is as good as the last, so the forward pass stops there (half the compute:
the layers above it are never run).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

#: tokens per text fed to the model (longer texts are cut)
MAX_TOKENS = 128
#: texts per forward pass; batches are grouped by length
BATCH_SIZE = 32


class _Stop(Exception):
    """Raised by the hook on the feature layer: nothing above it needs computing."""

    def __init__(self, hidden):
        super().__init__()
        self.hidden = hidden


def _decoder_layers(net):
    """The decoder's list of layers (Llama/Mistral/Qwen/GPT-NeoX-style models), or None."""
    for path in ("model.layers", "model.decoder.layers", "transformer.h", "gpt_neox.layers"):
        obj = net
        for part in path.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                break
        if obj is not None and hasattr(obj, "__len__") and len(obj):
            return obj
    return None


def embed_texts(texts: Sequence[str], *, model: str | None = None, lm=None,
                batch_size: int = BATCH_SIZE, max_tokens: int = MAX_TOKENS,
                bf16: bool | None = None, progress: bool = True) -> np.ndarray:
    """(n, 2 * hidden size) float32 features of ``texts``: the middle layer's hidden state at the
    last token and its mean over the tokens.

    ``lm``: a ``LoadedModel`` to use (else ``model`` is loaded by name; None = the embedded
    model). ``bf16``: autocast to bfloat16 (None = where the CPU supports it).
    """
    import torch

    from tunewise import progress as prog
    from tunewise.models.load import load_model
    from tunewise.models.device import cpu_supports_bf16, model_device
    if lm is None:
        lm = load_model(model, memo=True)
    tok, net = lm.tokenizer, lm.model
    dev = model_device(net)          # inputs go where the weights are (a GPU model too)
    if bf16 is None:
        bf16 = cpu_supports_bf16()
    bf16 = bool(bf16) and dev.type == "cpu"   # a GPU model is loaded in its compute dtype
    ids = [tok(t or " ", add_special_tokens=False, truncation=True,
               max_length=max_tokens)["input_ids"] or [tok.eos_token_id] for t in texts]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    layers = _decoder_layers(net)
    n_layers = int(getattr(net.config, "num_hidden_layers", 0) or 0) or len(layers or ())
    mid = max(1, n_layers // 2)                   # hidden_states[mid] = output of layer mid - 1
    hook = None
    if layers is not None and len(layers) >= mid:
        def stop(_module, _inputs, output):
            raise _Stop(output[0] if isinstance(output, tuple) else output)
        hook = layers[mid - 1].register_forward_hook(stop)
    width = int(net.config.hidden_size) * 2
    out = np.zeros((len(texts), width), dtype=np.float32)
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    try:
        with prog.bar("language-model features", total=len(texts),
                      disable=not progress) as advance, \
                torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16,
                                                       enabled=bf16):
            for start in range(0, len(order), batch_size):
                batch = order[start:start + batch_size]
                longest = max(len(ids[i]) for i in batch)
                x = torch.full((len(batch), longest), pad, dtype=torch.long)
                mask = torch.zeros((len(batch), longest), dtype=torch.long)
                for row, i in enumerate(batch):
                    x[row, :len(ids[i])] = torch.tensor(ids[i])
                    mask[row, :len(ids[i])] = 1
                x, mask = x.to(dev), mask.to(dev)
                try:
                    res = net(input_ids=x, attention_mask=mask, output_hidden_states=True,
                              logits_to_keep=1)
                    hidden = res.hidden_states[mid]
                except _Stop as s:
                    hidden = s.hidden
                hidden = hidden.float()
                m = mask.unsqueeze(-1).float()
                mean = (hidden * m).sum(1) / m.sum(1)
                last = hidden[torch.arange(len(batch), device=dev), mask.sum(1) - 1]
                out[batch] = torch.cat([last, mean], dim=-1).cpu().numpy()
                advance(len(batch))
    finally:
        if hook is not None:
            hook.remove()
    return out
