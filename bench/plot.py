#!/usr/bin/python3
"""plot.py RESULTS.json OUT.svg — the ratios to nginx of bench/run as an SVG
(to h2o for the HTTP/2 workloads (o), (p): results' "base_of").

One group of horizontal bars per figure, one bar per server, on a log2
scale centred on 1 (nginx). Invalid figures are drawn as a grey "invalid"
mark rather than a bar. Stdlib only: the SVG is written by hand.
"""
import json
import math
import sys
from xml.sax.saxutils import escape

COLOURS = {"lingerd": "#d62728", "nginx-ctl": "#7f7f7f", "nginx-ofc": "#1f77b4",
           "lighttpd": "#2ca02c", "h2o": "#9467bd", "canned": "#ff7f0e", "nginx": "#17becf",
           "h2o-ctl": "#bcbd22", "apache": "#8c564b"}
LO, HI = -5, 5          # log2 range drawn: 1/32 .. 32
# Rows where a higher ratio is better; for the others (time, Ir, bytes) lower is.
HIGHER = ("req/s", "MB/s")


def main():
    data = json.load(open(sys.argv[1]))
    base, base_of = data["base"], data.get("base_of", {})
    rows = [(label, cells) for label, cells in data["rows"]
            if any(c and (c["ratio"] is not None or c["faults"]) for c in cells.values())]
    # Rows with another base draw the usual base too (as a ratio to theirs).
    other_base = any(label[1] in base_of for label, _ in rows)
    names = [n for n in data["names"] if n != base or other_base]
    rows = [(l, c) for l, c in rows if "still lingering" not in l]
    bar, gap, left, width = 9, 10, 250, 560
    group = bar * len(names) + gap
    top = 70
    height = top + group * len(rows) + 60
    x = lambda r: left + (min(max(math.log2(r), LO), HI) - LO) / (HI - LO) * width
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 30}" '
           f'height="{height}" font-family="sans-serif" font-size="11">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="10" y="18" font-size="14" font-weight="bold">lingerd bench: '
           f'ratio to {escape(base)} (log scale; 1 = {escape(base)})</text>',
           f'<text x="10" y="34" fill="#555">{escape(data["header"][0])}; '
           f'{escape(data["header"][1][:90])}</text>']
    for i, n in enumerate(names):
        out.append(f'<rect x="{10 + i * 110}" y="44" width="10" height="10" '
                   f'fill="{COLOURS.get(n, "#000")}"/><text x="{24 + i * 110}" y="53">'
                   f'{escape(n)}</text>')
    for e in range(LO, HI + 1):
        xe = x(2.0 ** e)
        out.append(f'<line x1="{xe:.1f}" y1="{top - 4}" x2="{xe:.1f}" '
                   f'y2="{top + group * len(rows)}" stroke="{"#000" if e == 0 else "#ddd"}"/>')
        label = f"{2.0 ** e:g}" if e >= 0 else f"1/{2 ** -e}"
        out.append(f'<text x="{xe:.1f}" y="{top + group * len(rows) + 14}" '
                   f'text-anchor="middle">{label}</text>')
    for g, (label, cells) in enumerate(rows):
        y0 = top + g * group
        better = "higher" if any(h in label for h in HIGHER) else "lower"
        to = f", to {base_of[label[1]]}" if label[1] in base_of else ""
        out.append(f'<text x="{left - 6}" y="{y0 + group / 2:.1f}" text-anchor="end">'
                   f'{escape(label)} ({better} is better{escape(to)})</text>')
        for i, n in enumerate(names):
            c = cells.get(n)
            y = y0 + i * bar
            if not c:
                continue
            if c["faults"]:
                out.append(f'<text x="{x(1) + 3:.1f}" y="{y + bar - 1}" fill="#999">'
                           f'{escape(n)}: invalid</text>')
                continue
            if c["ratio"] is None or c["ratio"] <= 0:
                continue
            x1, x0 = x(c["ratio"]), x(1)
            out.append(f'<rect x="{min(x0, x1):.1f}" y="{y}" width="{abs(x1 - x0):.1f}" '
                       f'height="{bar - 1}" fill="{COLOURS.get(n, "#000")}">'
                       f'<title>{escape(n)} {escape(label)}: x{c["ratio"]:.2f}</title></rect>')
            out.append(f'<text x="{max(x0, x1) + 2:.1f}" y="{y + bar - 1}" font-size="8">'
                       f'{c["ratio"]:.2f}</text>')
    out.append(f'<text x="10" y="{height - 12}" fill="#555">Bars start at 1 ({escape(base)}); '
               f'nginx-ctl is a second identical {escape(base)}: its distance from 1 is the '
               f'noise. Ratios outside 1/32..32 are clipped.</text>')
    out.append("</svg>")
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
