"""Evaluation: predictions, task metrics with bootstrap CIs, paired tests.

    from tunewise.evaluation import predict, evaluate
    preds = predict(task, lm, examples, shots=shots)                   # list[Prediction]
    result = evaluate("test.csv", shots=4, shots_from="train.csv")     # EvalResult
    result.to_dict()                                                   # `tunewise eval --json`
    compare_files("a.jsonl", "b.jsonl")                                # `tunewise eval --compare`

Note: ``tunewise.evaluation.evaluate`` is the function; the module of the same name is
importable as usual (``from tunewise.evaluation.evaluate import predict``).
"""
from tunewise.evaluation.predict import predict  # noqa: F401
from tunewise.evaluation.evaluate import EvalResult, evaluate, rescore  # noqa: F401
from tunewise.evaluation.predictions import (read_predictions,  # noqa: F401
                                             write_predictions)
from tunewise.evaluation.compare_predictions import compare_files  # noqa: F401

__all__ = ["EvalResult", "compare_files", "evaluate", "predict", "read_predictions",
           "rescore", "write_predictions"]
