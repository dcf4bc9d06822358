"""Tasks shared by every arm: classification, NER, generation."""
from tunewise.tasks.base import Prediction, PromptTemplate, Task  # noqa: F401
from tunewise.tasks.classification import ClassificationTask  # noqa: F401
