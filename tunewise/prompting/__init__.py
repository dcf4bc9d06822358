"""Prompting arms: k-shot selection, label log-likelihood scoring, batched greedy generation.

- ``tunewise.prompting.shots``: ``shots_for(examples, pool, k, method="random"|"balanced"|"nearest")``
- ``tunewise.prompting.scoring``: ``LabelScorer(model, answers, pad_id=...).score(prompts)``
- ``tunewise.prompting.generate``: ``generate(model, tokenizer, prompts, options=...)``

Most callers want ``tunewise.prompting.predict``, which puts these together through a Task.
"""
