"""The training loss: cross-entropy on answer tokens only, the vocabulary head applied only where
an answer token is predicted, and the prompt prefix shared by a batch run once."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from tunewise.errors import TrainingError
from tunewise.models.compat import cache_kwarg, causal_lm
from tunewise.training import prefix_row
from tunewise.training.batching import IGNORE


def model_parts(model):
    """(decoder body, LM head) of a causal LM, also through a PeftModel wrapper."""
    causal = causal_lm(model)
    body, head = causal.get_decoder(), causal.get_output_embeddings()
    if body is None or head is None:
        raise TrainingError(f"{type(causal).__name__}: cannot find the decoder body and LM head",
                            fix="use a decoder-only causal language model")
    return body, head


class AnswerLoss(torch.nn.Module):
    """Sum of cross-entropy over answer tokens and their count.

    The body runs on every position (the answer attends to the prompt), but the 49k-word
    vocabulary head runs only where the next token is an answer token (labels != -100).

    ``prefix_len`` > 0 (see ``batching.shared_prefix_len``): the first ``prefix_len`` tokens are
    the same in every row and carry no loss (system prompt, chat framing). They run through the
    body once (batch 1); their keys/values are expanded over the batch (a view, no copy) and the
    rest of each row attends to them through the KV cache. Gradients flow back through the
    expansion into the single prefix pass, so loss and gradients equal the unshared computation
    (up to float rounding) for a fraction of the work. With ``prefix_row`` on (see
    ``use_prefix_row``) the prefix is row 0 of the same pass instead (prefix_row.py): one pass
    instead of two.

    Wrapping this module (not the bare model) in DDP keeps gradient all-reduce in the forward path.
    """

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.prefix_row = False

    def forward(self, input_ids, attention_mask, labels, prefix_len: int = 0):
        body, head = model_parts(self.model)
        if prefix_len:
            shared = prefix_row.body_hidden if self.prefix_row else self._shared_prefix_body
            hidden = shared(body, input_ids, attention_mask, prefix_len)
            labels = labels[:, prefix_len:]
        else:
            hidden = body(input_ids=input_ids, attention_mask=attention_mask,
                          use_cache=False).last_hidden_state
        targets = labels[:, 1:]
        keep = targets != IGNORE
        logits = head(hidden[:, :-1][keep]).float()
        return F.cross_entropy(logits, targets[keep], reduction="sum"), keep.sum()

    @torch.no_grad()
    def use_prefix_row(self, batch: dict, rel_tol: float = 1e-4) -> bool:
        """Turn the one-pass prefix row on when, on ``batch`` (collated with ``prefix_len``), it
        gives the loss of the two-pass form within ``rel_tol``: the model's attention goes
        through transformers' attention interface with eager semantics (``prefix_row.fits``).
        Dropout is off for the check (eval mode); returns the decision."""
        self.prefix_row = False
        if not batch.get("prefix_len") or not prefix_row.fits(causal_lm(self.model).config):
            return False
        was_training = self.model.training
        self.model.eval()
        try:
            two_pass, _ = self(**batch)
            self.prefix_row = True
            one_pass, _ = self(**batch)
        except Exception:  # noqa: BLE001 - any model it does not fit keeps the two passes
            one_pass = None
        finally:
            self.model.train(was_training)
        self.prefix_row = one_pass is not None and bool(torch.isfinite(one_pass)) and \
            abs(float(one_pass) - float(two_pass)) <= rel_tol * max(abs(float(two_pass)), 1.0)
        return self.prefix_row

    @staticmethod
    def _shared_prefix_body(body, input_ids, attention_mask, p: int):
        from transformers import DynamicCache
        cache_kw = cache_kwarg(body)
        B, L = input_ids.shape
        pre = DynamicCache()
        body(input_ids=input_ids[:1, :p], attention_mask=attention_mask[:1, :p],
             use_cache=True, **{cache_kw: pre})
        layers = [(layer.keys.expand(B, -1, -1, -1), layer.values.expand(B, -1, -1, -1))
                  for layer in pre.layers]
        cache = DynamicCache(ddp_cache_data=layers)
        pos = torch.arange(p, L, device=input_ids.device)[None].expand(B, -1)
        return body(input_ids=input_ids[:, p:], attention_mask=attention_mask,
                    position_ids=pos, use_cache=True, **{cache_kw: cache}).last_hidden_state

