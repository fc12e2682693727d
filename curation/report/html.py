"""A self-contained HTML page: inline CSS, figures embedded as base64 PNG, no network."""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass, field

import pandas as pd

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1100px;color:#222;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2.2rem}
table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0}
th,td{border:1px solid #ddd;padding:.2rem .5rem;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
figure{margin:1rem 0}figcaption{font-size:.8rem;color:#555}
.note{color:#555;font-size:.9rem}.kv td{text-align:left}
"""


def shown(value) -> str:
    """A value as a reader sees it: nothing unknown reads "None" or "nan" (it reads "n/a")."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return str(value)


@dataclass
class Page:
    """Sections of the report, appended in order."""

    title: str
    parts: list[str] = field(default_factory=list)

    def heading(self, text: str, level: int = 2) -> None:
        self.parts.append(f"<h{level}>{html.escape(text)}</h{level}>")

    def paragraph(self, text: str, css: str = "") -> None:
        cls = f' class="{css}"' if css else ""
        self.parts.append(f"<p{cls}>{html.escape(text)}</p>")

    def bullets(self, items: list[str]) -> None:
        self.parts.append("<ul>" + "".join(f"<li>{html.escape(str(i))}</li>" for i in items)
                          + "</ul>")

    def keyvalues(self, items: dict) -> None:
        rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(shown(v))}</td></tr>"
                       for k, v in items.items())
        self.parts.append(f'<table class="kv">{rows}</table>')

    def table(self, frame: pd.DataFrame, max_rows: int = 40, floatfmt: str = "{:.4g}") -> None:
        shown = frame.head(max_rows)
        formatters = {c: floatfmt.format for c in shown.columns
                      if pd.api.types.is_float_dtype(shown[c])}
        self.parts.append(shown.to_html(index=False, border=0, na_rep="",
                                        formatters=formatters, escape=True))
        if len(frame) > max_rows:
            self.paragraph(f"... {len(frame) - max_rows} more rows", "note")

    def figure(self, png: bytes, caption: str) -> None:
        data = base64.b64encode(png).decode("ascii")
        self.parts.append(f'<figure><img alt="{html.escape(caption)}" '
                          f'src="data:image/png;base64,{data}"><figcaption>'
                          f"{html.escape(caption)}</figcaption></figure>")

    def render(self) -> str:
        body = "\n".join(self.parts)
        return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
                f"<title>{html.escape(self.title)}</title><style>{STYLE}</style></head>"
                f"<body><h1>{html.escape(self.title)}</h1>\n{body}\n</body></html>\n")
