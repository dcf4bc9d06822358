"""Evaluation: predictions, task metrics with bootstrap CIs, paired tests.

    from tunewise.evaluation import predict, evaluate
    preds = predict(task, lm, examples, shots=shots)          # list[Prediction]
    result = evaluate("test.csv", shots=4, shots_from="train.csv")   # EvalResult
"""
from tunewise.evaluation.predict import predict  # noqa: F401
