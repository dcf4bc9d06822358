"""A problem found in a dataset: where, what kind, what to do about it."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, asdict

ERROR = "error"
WARNING = "warning"


@dataclass
class Problem:
    severity: str            # "error" | "warning"
    category: str            # stable machine name, e.g. "invalid_json", "missing_assistant"
    message: str             # what is wrong, in words
    fix: str = ""            # what to do about it
    file: str | None = None
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based, for JSON syntax errors
    field: str | None = None  # e.g. "messages[2].role"
    # dataclasses.field: the name `field` is shadowed by the attribute above
    extra: dict = dataclasses.field(default_factory=dict)

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def where(self) -> str:
        parts = [self.file or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def render(self) -> str:
        loc = self.where()
        fld = f" [{self.field}]" if self.field else ""
        fix = f" — fix: {self.fix}" if self.fix else ""
        return f"{loc}: {self.severity}: {self.category}{fld}: {self.message}{fix}"

    def to_dict(self) -> dict:
        d = asdict(self)
        if not d["extra"]:
            d.pop("extra")
        return d
