"""The format-neutral blocks a report is made of (``content.py`` builds them; ``markdown.py`` and
``html.py`` lay them out)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Paragraph:
    text: str
    css: str = ""          #: "headline" for the recommendation, "note", "warning"


@dataclass
class Bullets:
    items: list[str]
    title: str = ""


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    numeric: list[bool] = field(default_factory=list)   #: right-align these columns
    caption: str = ""


@dataclass
class Figure:
    key: str               #: file stem under plots/ and the HTML element id ("plot-" + key)
    caption: str
    svg: str


@dataclass
class Code:
    text: str
    lang: str = ""


Block = Heading | Paragraph | Bullets | Table | Figure | Code
