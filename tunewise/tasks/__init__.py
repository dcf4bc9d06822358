"""Tasks shared by every arm: classification, NER, generation.

    from tunewise.tasks import make_task, task_from_config
    task = make_task(None, examples)            # kind and labels inferred from the data
    task = make_task(preset="sentiment", examples=train)
    task = task_from_config(run["task"])        # inverse of task.to_config()
"""
from tunewise.tasks.base import Prediction, PromptTemplate, Task
from tunewise.tasks.classification import ClassificationTask
from tunewise.tasks.factory import (PRESETS, infer_task_kind, inferred_kind_note, make_task,
                                    task_from_config, validate_examples)
from tunewise.tasks.generation import GenerationTask
from tunewise.tasks.ner import NERTask

__all__ = ["ClassificationTask", "GenerationTask", "NERTask", "PRESETS", "Prediction",
           "PromptTemplate", "Task", "infer_task_kind", "inferred_kind_note", "make_task",
           "task_from_config", "validate_examples"]
