"""Rendering of the report model (piu.report.build_report) for people: terminal, markdown, html.

Machine formats (json, jsonl, csv, tsv) go through piu.render (stdlib writers, no Rich). The
html report is one self-contained file: inline CSS and inline SVG charts drawn here, no script,
no network, no external font, and a print stylesheet so it reads on paper.
"""

from __future__ import annotations

import html
import io
import sys
from datetime import date
from typing import IO, Any

from piu.schema import BANDS

BAND_COLOURS = {"high": "#c62828", "medium": "#ef8f00", "low": "#7a8b99"}
RICH_BAND_STYLES = {"high": "bold red", "medium": "yellow", "low": "dim"}
TABLE_HEADERS = ("Time (local)", "Port", "Vessel", "IMO", "Flag", "Type", "Persons", "Score", "Band",
                 "Main reasons", "Review")
# The terminal table leads with the call id (what `piu show` and `piu review` take). The id holds the
# port, the local date, the direction and the IMO or MMSI, so the time column gives only the hour;
# score and band share a column (" 60 high"), which leaves the vessel name room at 100 columns.
TERMINAL_HEADERS = ("Call", "Local", "Port", "Vessel", "IMO", "Flag", "Type", "Persons", "Score",
                    "Main reasons", "Review")
# What each number below the period counts, in the words every human format uses.
HITS_NOTE = "Calls: every call scored in the period that hit the rule; Listed: of them, the calls listed above"
PER_DAY_TITLE = "Calls listed above, per day (port local date)"
_EIGHTHS = " ▏▎▍▌▋▊▉"
_BAR_STYLES = {"high": "red", "medium": "yellow", "low": ""}  # dim bars would barely show


def write_report(report: dict[str, Any], fmt: str, stream: IO[str] | None = None, *,
                 width: int | None = None) -> None:
    """Write the report in any of piu.render.REPORT_FORMATS to `stream` (stdout by default)."""
    from piu.render import write_json, write_rows
    from piu.report import report_document, report_rows, row_columns

    stream = stream or sys.stdout
    if fmt == "json":
        write_json(report_document(report), stream)
    elif fmt in ("jsonl", "csv", "tsv"):
        write_rows(report_rows(report), row_columns(), fmt, stream)
    elif fmt == "markdown":
        stream.write(render_markdown(report))
    elif fmt == "html":
        stream.write(render_html(report))
    elif fmt == "table":
        render_terminal(report, _console(stream, width))
    else:  # pragma: no cover - the command validates the format
        raise ValueError(f"unknown format {fmt}")


def _console(stream: IO[str], width: int | None):  # noqa: ANN202 - rich is imported lazily
    from rich.console import Console

    from piu.render import stdout_console
    if stream is sys.stdout:
        return stdout_console(width=width)
    return Console(file=stream, highlight=False, width=width or 120, soft_wrap=False, color_system=None)


# ---- shared pieces -------------------------------------------------------------------------

def _local_time(rec: dict[str, Any]) -> str:
    """'2026-11-20 10:00' in the port's time (UTC time when the local one is missing)."""
    text = rec.get("call_time_local") or rec.get("call_time") or ""
    return text[:16].replace("T", " ")


def _flagged_heading(report: dict[str, Any]) -> str:
    words = {"high": "Flagged calls (high)", "medium": "Flagged calls (medium and high)",
             "low": "Scored calls (all bands)"}[report["min_band"]]
    return words + (", not yet reviewed" if report["unreviewed_only"] else "")


def listed_heading(report: dict[str, Any]) -> str:
    """The heading of the listed calls with their counts, each one a count of the rows below it.

    'Flagged calls (medium and high): 3 calls · 2 not reviewed'; with --min-band low also how many
    of the rows are flagged; "not reviewed" counts the Review column's unreviewed and amended rows.
    """
    s = report["summary"]
    n = s["listed"]
    if n == 0:
        return f"{_flagged_heading(report)}: none"
    parts = [f"{n} call{'' if n == 1 else 's'}"]
    if report["min_band"] == "low":
        parts.append(f"{s['flagged']} flagged (medium or high)")
    amended = sum(c.get("review_status") == "amended" for c in report["calls"])
    amended_words = f" ({amended} amended since their review)" if amended else ""
    if not report["unreviewed_only"]:
        parts.append(f"{s['listed_unreviewed']} not reviewed{amended_words}")
    elif amended:
        parts[0] += amended_words
    return f"{_flagged_heading(report)}: " + " · ".join(parts)


def listed_phrase(report: dict[str, Any]) -> str:
    """'3 flagged calls', '4 scored calls (all bands)', '2 flagged calls not yet reviewed': the listed calls."""
    n = report["summary"]["listed"]
    noun = ("scored call" if report["min_band"] == "low" else "flagged call") + ("" if n == 1 else "s")
    qualifier = {"low": " (all bands)", "medium": "", "high": " (high)"}[report["min_band"]]
    return f"{n} {noun}{qualifier}" + (" not yet reviewed" if report["unreviewed_only"] else "")


def summary_lines(report: dict[str, Any]) -> list[str]:
    """The header as short lines of text (the same words in every human format).

    They count every call of the period (and port), whatever --min-band and --unreviewed; the
    counts of the listed calls are in their heading (`listed_heading`).
    """
    s = report["summary"]
    ports = ", ".join(report["ports"]) if report["ports"] else "none"
    if report.get("port"):
        ports = report["port"]
    rulesets = ", ".join(report["ruleset_versions"]) or "none"
    by_band = s["by_band"]
    lines = [
        f"Period: {report['period']['text']}",
        f"Ports: {ports} · rule set: {rulesets} · generated {report['generated_at'][:16].replace('T', ' ')} UTC",
        f"Calls received: {s['calls_received']} · persons listed: {s['persons']} · calls scored: {s['calls_scored']}"
        + (f" ({s['calls_not_scored']} not scored)" if s["calls_not_scored"] else ""),
        f"Scored by band (every call scored in the period): high {by_band['high']} · medium {by_band['medium']}"
        f" · low {by_band['low']}",
    ]
    return lines


def _terminal_cells(rec: dict[str, Any]) -> list[str]:
    """The cells of TERMINAL_HEADERS: the call id first, the local time without its date, score and band."""
    cells = _table_cells(rec)
    score = f"{cells[7]:>3} {cells[8]}".rstrip()
    return [rec.get("call_id") or "", _local_time(rec)[11:16], *cells[1:7], score, *cells[9:]]


def _table_cells(rec: dict[str, Any]) -> list[str]:
    persons = rec.get("persons_aboard")
    return [_local_time(rec), rec.get("port") or "", rec.get("vessel_name") or "", rec.get("imo") or "",
            rec.get("flag") or "", rec.get("vessel_type") or "", "" if persons is None else str(persons),
            str(rec.get("score", "")), rec.get("band") or "", rec.get("reasons") or "",
            rec.get("review_status") or ""]


def text_bar(value: int, maximum: int, cells: int = 30) -> str:
    """A unicode bar of `value` out of `maximum` in `cells` character cells (eighth-cell steps)."""
    if maximum <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / maximum * cells * 8))
    return "█" * (eighths // 8) + (_EIGHTHS[eighths % 8] if eighths % 8 else "")


# Columns that may wrap onto several lines, with the narrowest width they are given; the call id never
# wraps (it is copied into `piu show` and `piu review`).
_WRAPPING = {"Vessel": 10, "Type": 8, "Main reasons": 20}
_GAP = 3  # characters between two columns: padding, rule, padding
# Which columns to give up first when the terminal is narrow (last in this list goes first). Port and
# IMO go last: the call id holds them. At 100 columns the call id (24-26 characters), local time,
# vessel, score and band, main reasons and review fit; at 80 the main reasons go (`piu show` has them).
_PRIORITY = ("Call", "Vessel", "Score", "Review", "Main reasons", "Local", "Persons", "Flag", "Type", "Port",
             "IMO")
_IN_CALL_ID = {"Port", "IMO"}


def _fit_columns(rows: list[list[str]], width: int) -> list[tuple[int, int]]:
    """(index, width) of the terminal table columns that fit in `width` characters, in display order."""
    natural, least = {}, {}
    for i, name in enumerate(TERMINAL_HEADERS):
        values = [name, *(r[i] for r in rows)]
        natural[name] = max(len(v) for v in values)
        least[name] = min(natural[name], _WRAPPING[name]) if name in _WRAPPING else natural[name]
    chosen: list[str] = []
    used = -_GAP  # n columns have n-1 gaps
    missed = False
    for name in _PRIORITY:
        if used + least[name] + _GAP <= width or len(chosen) < 3:
            chosen.append(name)
            used += least[name] + _GAP
        elif not missed and "Vessel" in chosen:
            # past the first column that does not fit, an extra column may not fold the vessel's name
            missed = True
            used += natural["Vessel"] - least["Vessel"]
            least["Vessel"] = natural["Vessel"]
    widths = {name: least[name] for name in chosen}
    spare = max(0, width - used)
    for name in ("Vessel", "Main reasons", "Type"):  # spare width lets the wrapping columns breathe
        if name in widths:
            extra = min(spare, natural[name] - widths[name])
            widths[name] += extra
            spare -= extra
    return [(i, widths[name]) for i, name in enumerate(TERMINAL_HEADERS) if name in chosen]


def _weekday(day: str) -> str:
    return date.fromisoformat(day).strftime("%a")


# ---- terminal ------------------------------------------------------------------------------

def render_terminal(report: dict[str, Any], console: Any) -> None:
    """The report as Rich output: header, flagged calls, hits per rule, flagged calls per day."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    console.print(Text(report["title"], style="bold"))
    for line in summary_lines(report):
        console.print(line, highlight=False)
    console.print()

    # a light box, and only the columns that fit: on a narrow terminal the least needed go first
    rows = [_terminal_cells(rec) for rec in report["calls"]]
    shown = _fit_columns(rows, console.width)
    table = Table(title=listed_heading(report), title_justify="left", header_style="bold", expand=False,
                  box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for i, size in shown:
        name = TERMINAL_HEADERS[i]
        table.add_column(name, justify="right" if name == "Persons" else "left",
                         overflow="fold", width=size)  # the call id has no space: it never wraps at its width
    for rec, cells in zip(report["calls"], rows):
        band = rec.get("band") or ""
        styled: list[Any] = [cells[i] if TERMINAL_HEADERS[i] != "Score"  # the band word in its colour
                             else Text(cells[i][:len(cells[i]) - len(band)]).append(band, RICH_BAND_STYLES.get(band, ""))
                             for i, _ in shown]
        table.add_row(*styled)
    if report["calls"]:
        console.print(table)
        left_out = [name for i, name in enumerate(TERMINAL_HEADERS)
                    if name not in _IN_CALL_ID and i not in {j for j, _ in shown}]
        if left_out:
            console.print(Text(f"Not shown at {console.width} columns: {', '.join(left_out)}; see piu show CALL_ID",
                               style="dim"), highlight=False)
    else:
        console.print(Text(listed_heading(report), style="italic"))
    console.print()

    if report["hits_per_rule"]:
        rules = Table(title="Hits per rule", title_justify="left", header_style="bold", caption=HITS_NOTE,
                      caption_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        for name in ("Rule", "Title", "Weight", "Calls", "Listed"):
            rules.add_column(name, justify="right" if name in ("Weight", "Calls", "Listed") else "left",
                             overflow="fold")
        for r in report["hits_per_rule"]:
            rules.add_row(r["rule"], r["title"], str(r["weight"]), str(r["calls"]), str(r["listed"]))
        console.print(rules)
        console.print()

    days = report["flagged_per_day"]
    console.print(Text(PER_DAY_TITLE, style="bold"))
    peak = max((d["total"] for d in days), default=0)
    bands = [b for b in reversed(BANDS) if b in (days[0] if days else {})]
    for d in days:
        line = Text(f"{d['date']} {_weekday(d['date'])} ")
        drawn = 0
        for b in bands:  # stacked: high first, then medium (then low), in their colours
            bar = text_bar(d[b], peak)
            line.append(bar, style=_BAR_STYLES[b])
            drawn += len(bar)
        line.append(("" if drawn == 0 else " ") + str(d["total"]))
        console.print(line, highlight=False)
    if len(bands) > 1:  # a legend for every band drawn
        legend = Text()
        for b in bands:
            legend.append("  ").append(f"█ {b}", style=_BAR_STYLES[b])
        console.print(legend)


# ---- markdown ------------------------------------------------------------------------------

def render_markdown(report: dict[str, Any]) -> str:
    """The report as GitHub-flavoured Markdown, for an email or a wiki page."""
    from piu.render import markdown_table

    out = io.StringIO()
    s = report["summary"]
    out.write(f"# {report['title']}\n\n")
    for line in summary_lines(report)[:2]:
        out.write(f"{line}  \n")
    out.write("\n")
    # every call of the period (and port); the listed calls' counts are in their heading
    out.write("Every call of the period:\n\n")
    out.write(markdown_table([{
        "a": s["calls_received"], "b": s["persons"], "c": s["calls_scored"], "d": s["calls_not_scored"],
        "e": s["by_band"]["high"], "f": s["by_band"]["medium"], "g": s["by_band"]["low"]}], list("abcdefg"), {
        "a": "Calls received", "b": "Persons", "c": "Calls scored", "d": "Not scored", "e": "High",
        "f": "Medium", "g": "Low"}))
    out.write(f"\n## {listed_heading(report)}\n\n")
    if report["calls"]:
        cols = [str(i) for i in range(len(TABLE_HEADERS))]
        rows = [dict(zip(cols, _table_cells(rec))) for rec in report["calls"]]
        out.write(markdown_table(rows, cols, dict(zip(cols, TABLE_HEADERS))))
        out.write("\nEvidence:\n\n")
        for rec in report["calls"]:
            out.write(f"- `{rec['call_id']}` {_md(rec.get('vessel_name') or '')}: "
                      + "; ".join(f"{_md(h['rule'])} ({h['weight']}): {_md(h.get('evidence', ''))}" for h in rec["hits"])
                      + "\n")
    else:
        out.write("None.\n")
    out.write("\n## Hits per rule\n\n")
    if report["hits_per_rule"]:
        out.write(f"{HITS_NOTE}.\n\n")
        out.write(markdown_table(report["hits_per_rule"], ["rule", "title", "weight", "calls", "listed"],
                                 {"rule": "Rule", "title": "Title", "weight": "Weight", "calls": "Calls",
                                  "listed": "Listed"}))
    else:
        out.write("No rule hit in the period.\n")
    out.write(f"\n## {PER_DAY_TITLE}\n\n")
    days = report["flagged_per_day"]
    peak = max((d["total"] for d in days), default=0)
    rows = [{"date": f"{d['date']} {_weekday(d['date'])}", "n": d["total"], "bar": text_bar(d["total"], peak, 20)}
            for d in days]
    out.write(markdown_table(rows, ["date", "n", "bar"], {"date": "Date (local)", "n": "Calls", "bar": ""}))
    return out.getvalue()


def _md(text: str) -> str:
    """Text safe inside a Markdown line (no stray emphasis or table pipes)."""
    return " ".join(str(text).split()).replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")


# ---- html ----------------------------------------------------------------------------------

_CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif;
       margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #1b1f23; line-height: 1.4; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ccd; }
.period { font-size: 1.05rem; font-weight: 600; }
.meta { color: #555; }
.numbers { display: flex; flex-wrap: wrap; gap: .6rem; margin: 1rem 0; padding: 0; list-style: none; }
.numbers li { border: 1px solid #ccd; border-radius: 4px; padding: .4rem .8rem; min-width: 7rem; }
.numbers b { display: block; font-size: 1.5rem; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { border-bottom: 1px solid #dde; padding: .3rem .4rem; text-align: left; vertical-align: top; }
th { background: #f2f4f7; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.band { font-weight: 700; } .band-high { color: #c62828; } .band-medium { color: #a35f00; } .band-low { color: #555; }
.evidence { margin: 0; padding-left: 1.1rem; color: #333; font-size: .85rem; }
.charts { display: flex; flex-wrap: wrap; gap: 2rem; }
figure { margin: 0; } figcaption { font-weight: 600; margin-bottom: .3rem; }
svg text { font-family: inherit; font-size: 11px; fill: #1b1f23; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  h2 { break-after: avoid; } tr, figure { break-inside: avoid; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .numbers li { border-color: #999; }
}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _svg_vertical(days: list[dict[str, Any]], bands: list[str]) -> str:
    """Stacked vertical bars: flagged calls per day, one colour per band."""
    n = max(1, len(days))
    slot = max(8.0, min(40.0, 640 / n))
    left, top, plot_h = 30, 10, 160
    width = int(left + slot * n + 10)
    height = top + plot_h + 34
    peak = max((d["total"] for d in days), default=0)
    scale = plot_h / peak if peak else 0
    parts = [f'<svg class="chart chart-days" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>Calls listed per day, {len(days)} days, peak {peak}</title>",
             f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 5}" y2="{top + plot_h}" stroke="#888"/>']
    for tick in sorted({0, peak // 2, peak}) if peak else [0]:
        y = top + plot_h - tick * scale
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    label_every = max(1, round(n / 14))
    for i, d in enumerate(days):
        x = left + i * slot + slot * 0.15
        w = slot * 0.7
        y = top + plot_h
        for b in bands:  # high drawn at the base so it reads first
            count = d.get(b, 0)
            if count:
                h = count * scale
                y -= h
                parts.append(f'<rect class="bar bar-{b}" data-date="{d["date"]}" data-count="{count}" '
                             f'x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{BAND_COLOURS[b]}">'
                             f'<title>{d["date"]}: {count} {b}</title></rect>')
        if d["total"]:
            parts.append(f'<text x="{x + w / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle">{d["total"]}</text>')
        if i % label_every == 0:
            parts.append(f'<text x="{x + w / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle">{d["date"][5:]}</text>')
    legend_x = left
    for b in bands:
        parts.append(f'<rect x="{legend_x}" y="{height - 12}" width="10" height="10" fill="{BAND_COLOURS[b]}"/>'
                     f'<text x="{legend_x + 14}" y="{height - 3}">{b}</text>')
        legend_x += 70
    parts.append("</svg>")
    return "".join(parts)


def _svg_horizontal(items: list[tuple[str, int, str]], css: str, label: str) -> str:
    """Horizontal bars: (label, value, colour) per row, value written at the bar's end."""
    row_h, label_w, bar_w = 22, 210, 300
    height = row_h * max(1, len(items)) + 8
    width = label_w + bar_w + 50
    peak = max((v for _, v, _ in items), default=0)
    parts = [f'<svg class="chart {css}" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg"><title>{_e(label)}</title>']
    for i, (name, value, colour) in enumerate(items):
        y = 4 + i * row_h
        w = bar_w * value / peak if peak else 0
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{_e(name)}</text>')
        if value:
            parts.append(f'<rect class="bar" data-label="{_e(name)}" data-count="{value}" x="{label_w}" y="{y + 2}" '
                         f'width="{w:.1f}" height="{row_h - 6}" fill="{colour}"><title>{_e(name)}: {value}</title></rect>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 14}">{value}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: dict[str, Any]) -> str:
    """The report as one self-contained HTML page with inline SVG charts."""
    s = report["summary"]
    title = f"{report['title']}: {report['period']['text']}"
    lines = summary_lines(report)
    # every call of the period (and port); the listed calls' counts are in their heading
    numbers = [("Calls received", s["calls_received"]), ("Persons listed", s["persons"]),
               ("Calls scored", s["calls_scored"]), ("Not scored", s["calls_not_scored"]),
               ("High", s["by_band"]["high"]), ("Medium", s["by_band"]["medium"]), ("Low", s["by_band"]["low"])]
    out = io.StringIO()
    out.write('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
              '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
              "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n"
              f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n")
    out.write(f"<h1>{_e(report['title'])}</h1>\n<p class=\"period\">{_e(lines[0])}</p>\n<p class=\"meta\">{_e(lines[1])}</p>\n")
    out.write('<p class="meta">Every call of the period:</p>\n')
    out.write('<ul class="numbers">' + "".join(f"<li><b>{v}</b>{_e(k)}</li>" for k, v in numbers) + "</ul>\n")

    out.write(f"<h2>{_e(listed_heading(report))}</h2>\n")
    if report["calls"]:
        out.write("<table class=\"flagged\">\n<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in TABLE_HEADERS)
                  + "<th>Evidence</th></tr></thead>\n<tbody>\n")
        for rec in report["calls"]:
            cells = _table_cells(rec)
            tds = []
            for i, c in enumerate(cells):
                cls = ' class="num"' if TABLE_HEADERS[i] in ("Persons", "Score") else ""
                if TABLE_HEADERS[i] == "Band":
                    cls = f' class="band band-{_e(c)}"'
                if TABLE_HEADERS[i] == "Vessel":
                    c = f"{c} ({rec['call_id']})"
                tds.append(f"<td{cls}>{_e(c)}</td>")
            evidence = "".join(f"<li>{_e(h['rule'])} ({_e(h['weight'])}): {_e(h.get('evidence', ''))}</li>"
                               for h in rec["hits"])
            out.write("<tr>" + "".join(tds) + f'<td><ul class="evidence">{evidence}</ul></td></tr>\n')
        out.write("</tbody>\n</table>\n")
    else:
        out.write("<p>None.</p>\n")

    days = report["flagged_per_day"]
    bands = [b for b in reversed(BANDS) if days and b in days[0]]
    out.write("<h2>Charts</h2>\n<div class=\"charts\">\n")
    out.write(f"<figure><figcaption>{_e(PER_DAY_TITLE)}</figcaption>{_svg_vertical(days, bands)}</figure>\n")
    rules = [(r["rule"], r["calls"], "#3f6fb5") for r in report["hits_per_rule"]]
    out.write("<figure><figcaption>Hits per rule (every call scored in the period)</figcaption>"
              + (_svg_horizontal(rules, "chart-rules", "Hits per rule") if rules else "<p>No rule hit.</p>")
              + "</figure>\n")
    band_items = [(b, s["by_band"][b], BAND_COLOURS[b]) for b in reversed(BANDS)]
    out.write("<figure><figcaption>Scored calls by band (every call scored in the period)</figcaption>"
              + _svg_horizontal(band_items, "chart-bands", "Scored calls by band") + "</figure>\n</div>\n")

    out.write("<h2>Hits per rule</h2>\n")
    if report["hits_per_rule"]:
        out.write(f'<p class="meta">{_e(HITS_NOTE)}.</p>\n')
        out.write("<table class=\"rules\"><thead><tr><th>Rule</th><th>Title</th><th>Weight</th><th>Calls</th>"
                  "<th>Listed</th></tr></thead><tbody>\n")
        for r in report["hits_per_rule"]:
            out.write(f"<tr><td>{_e(r['rule'])}</td><td>{_e(r['title'])}</td><td class=\"num\">{r['weight']}</td>"
                      f"<td class=\"num\">{r['calls']}</td><td class=\"num\">{r['listed']}</td></tr>\n")
        out.write("</tbody></table>\n")
    else:
        out.write("<p>No rule hit in the period.</p>\n")
    out.write(f"<p class=\"meta\">{_e(lines[2])}. Scores are decision support: every flagged call needs an "
              "analyst's review (<code>piu review</code>).</p>\n</body>\n</html>\n")
    return out.getvalue()


# ---- one call (`piu show`) -----------------------------------------------------------------

def call_sections(detail: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """`piu show` as (heading, kind, content) sections: kind is text, fields or table."""
    p = detail["particulars"]
    sections: list[tuple[str, str, Any]] = []
    sections.append((f"{detail['call_id']}: {p.get('vessel_name') or ''}", "fields", [
        (k.replace("_", " "), p.get(k)) for k in p if k != "call_id"]))
    sc = detail["score"]
    if sc:
        sections.append(("Score", "text", f"{sc['score']} ({sc['band']}) · rule set {sc['ruleset_version']} · "
                                          f"scored {sc['scored_at']} by {sc['scored_by']} · "
                                          f"{sc['persons_aboard']} persons aboard"))
    else:
        sections.append(("Score", "text", "not scored yet; run `piu score`"))
    sections.append(("Rule hits", "table", (
        [{"rule": h.get("rule"), "weight": h.get("weight"), "evidence": h.get("evidence"),
          "rows": _person_rows_text(h)} for h in detail["hits"]],
        ["rule", "weight", "evidence", "rows"],
        {"rule": "Rule", "weight": "Weight", "evidence": "Evidence", "rows": "Source rows"})))
    sections.append((f"Persons aboard ({len(detail['persons'])})", "table", (
        [{**r, "hits": ", ".join(r["hits"]),
          "name": ", ".join(str(x) for x in (r.get("family_name"), r.get("given_names")) if x)}
         for r in detail["persons"]],
        ["source_row", "role", "name", "nationality", "date_of_birth", "doc_number", "doc_expiry", "hits"],
        {"source_row": "Row", "role": "Role", "name": "Name", "nationality": "Nat.", "date_of_birth": "Born",
         "doc_number": "Document", "doc_expiry": "Expires", "hits": "Hits"})))
    sections.append(("Source files", "table", (
        detail["sources"], ["source_file", "source_sheet", "rows", "source_sha256"],
        {"source_file": "File", "source_sheet": "Sheet", "rows": "Rows", "source_sha256": "SHA-256"})))
    if len(detail["versions"]) > 1:
        sections.append(("Versions (amended manifests)", "table", (
            [{**v, "current": "current" if v["current"] else "superseded", "changes": v["changes_summary"]}
             for v in detail["versions"]],
            ["ingest_id", "ingested_at", "source_file", "persons", "current", "changes"],
            {"ingest_id": "Ingest", "ingested_at": "Ingested", "source_file": "File", "persons": "Persons",
             "current": "State", "changes": "Changed from previous"})))
    sections.append(("Other calls of this vessel (same IMO or MMSI)", "table", (
        detail["previous_calls"], ["call_time", "call_id", "port", "direction", "vessel_name", "flag", "score", "band"],
        {"call_time": "Time (UTC)", "call_id": "Call", "port": "Port", "direction": "Dir.", "vessel_name": "Name",
         "flag": "Flag", "score": "Score", "band": "Band"})))
    sections.append(("Reviews", "table", (
        detail["reviews"], ["at", "by", "status", "note", "score", "band", "ruleset_version"],
        {"at": "When (UTC)", "by": "By", "status": "Decision", "note": "Note", "score": "Score", "band": "Band",
         "ruleset_version": "Rule set"})))
    return sections


_NO_WRAP = {"source_row", "role", "nationality", "date_of_birth", "doc_expiry", "weight", "score", "band",
            "call_time", "ingested_at", "at", "port", "direction", "flag", "persons", "current"}


def _person_rows_text(hit: dict[str, Any]) -> str:
    from piu.report import _hit_person_keys, _rows_text
    return _rows_text([row for _, row in _hit_person_keys(hit)])


def write_call(detail: dict[str, Any], fmt: str, stream: IO[str] | None = None, *, width: int | None = None) -> None:
    """Write `piu show` as a Rich layout (table) or Markdown."""
    from piu.render import _cell, markdown_table

    stream = stream or sys.stdout
    sections = call_sections(detail)
    if fmt == "markdown":
        out = io.StringIO()
        for i, (heading, kind, content) in enumerate(sections):
            out.write(("# " if i == 0 else "\n## ") + _md(heading) + "\n\n")
            if kind == "text":
                out.write(_md(content) + "\n")
            elif kind == "fields":
                out.write(markdown_table([{"k": k, "v": v} for k, v in content], ["k", "v"], {"k": "Field", "v": "Value"}))
            else:
                rows, cols, headers = content
                out.write(markdown_table(rows, cols, headers) if rows else "None.\n")
        stream.write(out.getvalue())
        return
    from rich import box
    from rich.table import Table
    from rich.text import Text

    console = _console(stream, width)
    for i, (heading, kind, content) in enumerate(sections):
        if i:
            console.print()
        console.print(Text(heading, style="bold"))
        if kind == "text":
            console.print(content, highlight=False)
        elif kind == "fields":
            grid = Table.grid(padding=(0, 2))
            grid.add_column(style="dim")
            grid.add_column()
            for k, v in content:
                grid.add_row(k, _cell(v))
            console.print(grid)
        else:
            rows, cols, headers = content
            if not rows:
                console.print(Text("none", style="italic"))
                continue
            table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
            for c in cols:  # short codes and dates never wrap; names, evidence and files may
                table.add_column(headers.get(c, c), overflow="fold",
                                 no_wrap=c in _NO_WRAP)
            for r in rows:  # a person a rule names is shown in bold red, as in the hit list
                marked = "hits" in cols and bool(r.get("hits"))
                table.add_row(*[_cell(r.get(c)) for c in cols], style="bold red" if marked else None)
            console.print(table)
