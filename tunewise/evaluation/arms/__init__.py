"""Arms: anything that answers a Task's examples (``base`` holds the protocol).

Importing this package imports every arm module, so each registers its kind;
``arm_class(kind)`` looks one up.
"""
from __future__ import annotations

import difflib

from tunewise.errors import UsageError
from tunewise.evaluation.arms.base import (ARM_KINDS, Arm, ArmResult, register,  # noqa: F401
                                           timed_predictions)

# one line per arm module (each registers its kind with @register):
from tunewise.evaluation.arms import majority  # noqa: E402,F401
from tunewise.evaluation.arms import classical  # noqa: E402,F401
from tunewise.evaluation.arms import prompt  # noqa: E402,F401
from tunewise.evaluation.arms import finetuned  # noqa: E402,F401
from tunewise.evaluation.arms import remote  # noqa: E402,F401
from tunewise.evaluation.arms import probe  # noqa: E402,F401


def arm_class(kind: str) -> type:
    """The registered class of ``kind``; an unknown kind answers "did you mean"."""
    if kind not in ARM_KINDS:
        close = difflib.get_close_matches(kind, list(ARM_KINDS), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise UsageError(f"unknown arm kind {kind!r}",
                         fix=f"{hint}known kinds: {', '.join(sorted(ARM_KINDS))}")
    return ARM_KINDS[kind]


from tunewise.evaluation.arms.classical import ClassicalArm  # noqa: E402
from tunewise.evaluation.arms.finetuned import FineTunedArm  # noqa: E402
from tunewise.evaluation.arms.majority import MajorityArm  # noqa: E402
from tunewise.evaluation.arms.probe import ProbeArm  # noqa: E402
from tunewise.evaluation.arms.prompt import PromptArm  # noqa: E402

__all__ = ["ARM_KINDS", "Arm", "ArmResult", "ClassicalArm", "FineTunedArm", "MajorityArm",
           "ProbeArm", "PromptArm", "arm_class", "register", "timed_predictions"]
