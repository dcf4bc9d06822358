"""Evaluation: predictions, task metrics with bootstrap CIs, paired tests.

    from tunewise.evaluation import predict, evaluate
    preds = predict(task, lm, examples, shots=shots)                   # list[Prediction]
    result = evaluate("test.csv", shots=4, shots_from="train.csv")     # EvalResult
    result = evaluate("test.csv", EvalOptions(arm="classical", train="train.csv"))
    EvalOptions(prompt=PromptOptions(shots=4), remote=RemoteOptions(max_cost_usd=2))  # its parts
    result.to_dict()                                                   # `tunewise eval --json`
    compare_files("a.jsonl", "b.jsonl")                                # `tunewise eval --compare`

``evaluate`` lives in ``evaluation/evaluator.py``, its options in ``evaluation/options.py``,
the arms it runs in ``evaluation/arms/``; ``predict`` (label scoring / generation over a Task,
shared with training's per-epoch evaluation) in ``tunewise/prompting/predict.py``.
"""
from tunewise.prompting.predict import predict  # noqa: F401
from tunewise.evaluation.evaluator import (EvalOptions, EvalResult, evaluate,  # noqa: F401
                                           rescore)
from tunewise.evaluation.options import PromptOptions, RemoteOptions  # noqa: F401
from tunewise.evaluation.predictions import (read_predictions,  # noqa: F401
                                             write_predictions)
from tunewise.evaluation.compare_predictions import compare_files  # noqa: F401

__all__ = ["EvalOptions", "EvalResult", "PromptOptions", "RemoteOptions", "compare_files",
           "evaluate", "predict", "read_predictions", "rescore", "write_predictions"]
