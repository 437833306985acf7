"""HTML building blocks of the reports: the page, sections, tables, figures, escaped document text.

Everything from data (stage ids, reasons, document text, config values) is escaped here or in `svg`; the page
carries a Content-Security-Policy that allows no script and no network at all, so even a missed escape could
not run code or fetch anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from thresher.report.svg import esc

# No scripts, no fetches: inline styles and inline SVG only.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1180px; padding: 0 24px 48px;
       color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; margin: 24px 0 4px; } h2 { margin-top: 36px; border-bottom: 1px solid #ccc; }
h3 { margin: 20px 0 6px; font-size: 1.05em; }
nav a { margin-right: 12px; } .muted { color: #666; } .small { font-size: 0.85em; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f5f8; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background: #fafbfc; }
.up { color: #1e7b34; } .down { color: #b03a2e; }
figure { margin: 8px 16px 16px 0; display: inline-block; vertical-align: top; }
figcaption { font-size: 0.85em; color: #444; max-width: 520px; }
pre { background: #f6f8fa; padding: 8px; overflow-x: auto; font-size: 0.85em; }
pre.doc { white-space: pre-wrap; word-break: break-word; max-height: 9em; overflow-y: auto; margin: 2px 0; }
.totals { font-size: 1.1em; margin: 8px 0 16px; }
"""


def page(title: str, subtitle: str, sections: Sequence[Section]) -> str:
    nav = " ".join(f'<a href="#{esc(s.id)}">{esc(s.title)}</a>' for s in sections)
    body = "\n".join(s.render() for s in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head>\n"
        f'<body><h1>{esc(title)}</h1><p class="muted">{esc(subtitle)}</p><nav>{nav}</nav>\n{body}\n'
        "</body></html>\n"
    )


@dataclass
class Section:
    id: str
    title: str
    parts: list[str]

    def render(self) -> str:
        inner = "\n".join(self.parts) if self.parts else '<p class="muted">Nothing to show.</p>'
        return f'<section id="{esc(self.id)}"><h2>{esc(self.title)}</h2>\n{inner}\n</section>'


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], kind: str = "") -> str:
    """Cells are escaped; numbers are right-aligned. A cell that is a `Raw` is inserted as it is."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    lines = []
    for row in rows:
        cells = []
        for cell in row:
            if isinstance(cell, Raw):
                cells.append(f"<td>{cell.html}</td>")
            elif isinstance(cell, bool) or cell is None:
                cells.append(f"<td>{esc('' if cell is None else cell)}</td>")
            elif isinstance(cell, int | float):
                cells.append(f'<td class="num">{esc(number(cell))}</td>')
            else:
                cells.append(f"<td>{esc(cell)}</td>")
        lines.append("<tr>" + "".join(cells) + "</tr>")
    attribute = f' data-table="{esc(kind)}"' if kind else ""
    return f"<table{attribute}><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


@dataclass(frozen=True)
class Raw:
    """HTML built by this package (already escaped) to place in a table cell."""

    html: str


def number(value: float) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    if value != value:  # NaN
        return "nan"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def percent(part: float, whole: float) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def figure(svg: str, caption: str) -> str:
    return f'<figure class="plot">{svg}<figcaption>{esc(caption)}</figcaption></figure>'


def paragraph(text: str, css: str = "") -> str:
    attribute = f' class="{esc(css)}"' if css else ""
    return f"<p{attribute}>{esc(text)}</p>"


def heading(text: str) -> str:
    return f"<h3>{esc(text)}</h3>"


def preformatted(text: str, css: str = "") -> str:
    attribute = f' class="{esc(css)}"' if css else ""
    return f"<pre{attribute}>{esc(text)}</pre>"
