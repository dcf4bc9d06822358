"""Let a submodule double as the function it is named after.

``tunewise.data.read``, ``tunewise.cost.estimate`` and ``tunewise.compare`` are public functions
*and* modules. Importing a submodule rebinds the package attribute to the module object, which
would break ``tunewise.compare(...)``; making the module callable keeps both spellings working.
"""
from __future__ import annotations

import sys
import types


class _CallableModule(types.ModuleType):
    __tunewise_call__: str

    def __call__(self, *args, **kwargs):
        return getattr(self, self.__tunewise_call__)(*args, **kwargs)


def make_callable(module_name: str, function_name: str) -> None:
    """Calling module ``module_name`` calls its attribute ``function_name``."""
    mod = sys.modules[module_name]
    mod.__class__ = _CallableModule
    mod.__tunewise_call__ = function_name
