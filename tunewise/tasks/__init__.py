"""Tasks shared by every arm: classification, NER, generation.

    from tunewise.tasks import make_task, task_from_config
    task = make_task(None, examples)            # kind and labels inferred from the data
    task = make_task(preset="sentiment", examples=train)
    task = task_from_config(run["task"])        # inverse of task.to_config()
"""
from tunewise.tasks.base import Prediction, PromptTemplate, Task  # noqa: F401
from tunewise.tasks.classification import ClassificationTask  # noqa: F401
from tunewise.tasks.factory import (PRESETS, infer_task_kind, make_task,  # noqa: F401
                                    task_from_config, validate_examples)
from tunewise.tasks.generation import GenerationTask  # noqa: F401
from tunewise.tasks.ner import NERTask  # noqa: F401
