"""table.py — the table of bench/run: which rows, the targets checked under
them, and the text: per row and server the median over rounds, its spread
and the median of per-round ratios to the base server (nginx; h2o for the
HTTP/2 workloads). bench.py measures; this file only summarises and prints.
Stdlib only.
"""
import json
import statistics

BASE = "nginx"                 # ratios are to this server
BASE_OF = {"o": "h2o", "cg-o": "h2o", "p": "h2o"}  # but the HTTP/2 workloads' are to h2o

ROWS = [  # (result key, field, label, format, higher is better)
    ("a", "rate", "(a) req/s", "k", True),
    ("a", "p99_ms", "(a) p99 ms", "f2", False),
    ("a", "cpu_us", "(a) CPU us/req", "f2", False),
    ("cg-a", "ir", "(a) Ir/req", "i", False),
    ("a", "srv_busy", "(a) server busy", "pct", None),
    ("a", "gen_busy", "(a) wrk busy", "pct", None),
    ("a", "others", "(a) others' load", "pct", None),
    ("b", "rate", "(b) req/s", "k", True),
    ("b", "p99_ms", "(b) p99 ms", "f2", False),
    ("b", "cpu_us", "(b) CPU us/req", "f2", False),
    ("cg-b", "ir", "(b) Ir/req", "i", False),
    ("b", "machine_us", "(b) both cores us/req", "f2", False),
    ("b", "srv_busy", "(b) server busy", "pct", None),
    ("b", "others", "(b) others' load", "pct", None),
    ("c", "rate", "(c) req/s", "k", True),
    ("c", "cpu_us", "(c) CPU us/req", "f2", False),
    ("cg-c", "ir", "(c) Ir/req", "i", False),
    ("c", "srv_busy", "(c) server busy", "pct", None),
    ("c", "gen_busy", "(c) wrk busy", "pct", None),
    ("c", "others", "(c) others' load", "pct", None),
    ("d", "mbps", "(d) MB/s", "i", True),
    ("d", "cpu_us", "(d) CPU us/req", "i", False),
    ("d", "machine_us", "(d) both cores us/req", "i", False),
    ("cg-d", "ir", "(d) Ir/req", "i", False),
    ("d", "others", "(d) others' load", "pct", None),
    ("e", "slope", "(e) B/idle conn (slope)", "i", False),
    ("e", "Private_Dirty", "(e) B/idle conn (avg)", "i", False),
    ("f", "Private_Dirty", "(f) B/linger conn (dirty)", "i", False),
    ("f", "rate", "(f) (a) req/s lingering", "k", True),
    ("f", "cpu_us", "(f) (a) CPU us/req ling.", "f2", False),
    ("f", "alive_after", "(f) still lingering", "i", None),
    ("g", "rate", "(g) TLS req/s", "k", True),
    ("g", "p99_ms", "(g) p99 ms", "f2", False),
    ("g", "cpu_us", "(g) CPU us/req", "f2", False),
    ("g", "srv_busy", "(g) server busy", "pct", None),
    ("g", "gen_busy", "(g) wrk busy", "pct", None),
    ("g", "others", "(g) others' load", "pct", None),
    ("h", "rate", "(h) full hs req/s", "k", True),
    ("h", "p99_ms", "(h) p99 ms", "f2", False),
    ("h", "cpu_us", "(h) CPU us/req", "f1", False),
    ("h", "machine_us", "(h) both cores us/req", "f1", False),
    ("h", "resumed", "(h) resumed", "pct", None),
    ("h", "srv_busy", "(h) server busy", "pct", None),
    ("h", "gen_busy", "(h) client busy", "pct", None),
    ("h", "others", "(h) others' load", "pct", None),
    ("i", "rate", "(i) resumed hs req/s", "k", True),
    ("i", "p99_ms", "(i) p99 ms", "f2", False),
    ("i", "cpu_us", "(i) CPU us/req", "f1", False),
    ("i", "machine_us", "(i) both cores us/req", "f1", False),
    ("i", "resumed", "(i) resumed", "pct", None),
    ("i", "srv_busy", "(i) server busy", "pct", None),
    ("i", "gen_busy", "(i) client busy", "pct", None),
    ("i", "others", "(i) others' load", "pct", None),
    ("j", "mbps", "(j) TLS MB/s", "i", True),
    ("j", "cpu_us", "(j) CPU us/req", "i", False),
    ("j", "machine_us", "(j) both cores us/req", "i", False),
    ("j", "srv_busy", "(j) server busy", "pct", None),
    ("j", "others", "(j) others' load", "pct", None),
    ("k", "slope", "(k) B/idle TLS conn (slope)", "i", False),
    ("k", "Private_Dirty", "(k) B/idle TLS conn (avg)", "i", False),
    ("l", "rate", "(l) gzip static req/s", "k", True),
    ("l", "cpu_us", "(l) CPU us/req", "f2", False),
    ("cg-l", "ir", "(l) Ir/req", "i", False),
    ("l", "srv_busy", "(l) server busy", "pct", None),
    ("l", "others", "(l) others' load", "pct", None),
    ("m", "rate", "(m) gzip on the fly req/s", "k", True),
    ("m", "cpu_us", "(m) CPU us/req", "f2", False),
    ("cg-m", "ir", "(m) Ir/req", "i", False),
    ("m", "srv_busy", "(m) server busy", "pct", None),
    ("m", "others", "(m) others' load", "pct", None),
    ("n", "rate", "(n) proxied req/s", "k", True),
    ("n", "p99_ms", "(n) p99 ms", "f2", False),
    ("n", "cpu_us", "(n) CPU us/req", "f2", False),
    ("n", "srv_busy", "(n) server busy", "pct", None),
    ("n", "gen_busy", "(n) wrk busy", "pct", None),
    ("n", "others", "(n) others' load", "pct", None),
    ("o", "rate", "(o) h2 req/s", "k", True),
    ("o", "cpu_us", "(o) CPU us/req", "f2", False),
    ("cg-o", "ir", "(o) Ir/req", "i", False),
    ("o", "srv_busy", "(o) server busy", "pct", None),
    ("o", "gen_busy", "(o) h2load busy", "pct", None),
    ("o", "others", "(o) others' load", "pct", None),
    ("p", "mbps", "(p) h2 MB/s", "i", True),
    ("p", "cpu_us", "(p) CPU us/req", "i", False),
    ("p", "machine_us", "(p) both cores us/req", "i", False),
    ("p", "srv_busy", "(p) server busy", "pct", None),
    ("p", "gen_busy", "(p) h2load busy", "pct", None),
    ("p", "others", "(p) others' load", "pct", None),
]
TLS_KEYS = ("g", "h", "i", "j", "k")


# lingerd's targets: (heading, [(row label, use the ratio?, "<=" "<" or ">=", limit)]).
TARGETS = [
    ("lingerd's targets (issue 9):", [
        ("(a) CPU us/req", True, "<=", 0.45),
        ("(c) CPU us/req", True, "<=", 0.30),
        ("(b) CPU us/req", True, "<=", 0.80),
        ("(a) Ir/req", False, "<", 4000),
        ("(e) B/idle conn (slope)", False, "<", 256),
    ]),
    ("lingerd's HTTPS targets (ratios to nginx):", [
        ("(g) CPU us/req", True, "<=", 0.60),
        ("(h) CPU us/req", True, "<=", 0.90),
        ("(i) CPU us/req", True, "<=", 0.90),
        ("(j) TLS MB/s", True, ">=", 1.00),
        ("(k) B/idle TLS conn (slope)", True, "<", 0.50),
    ]),
    ("lingerd's compression targets (issue 15; nginx: gzip_static on, gzip on):", [
        ("(l) CPU us/req", True, "<=", 1.00),
        ("(l) Ir/req", True, "<=", 1.00),
        ("(m) CPU us/req", True, "<=", 0.50),
        ("(m) Ir/req", True, "<=", 0.50),
    ]),
    ("lingerd's proxy target (issue 16; nginx: proxy_pass + upstream keepalive):", [
        ("(n) CPU us/req", True, "<=", 0.70),
    ]),
    ("lingerd's HTTP/2 targets (issue 19; ratios to h2o):", [
        ("(o) CPU us/req", True, "<=", 0.80),
        ("(o) Ir/req", True, "<=", 0.80),
        ("(p) h2 MB/s", True, ">=", 1.00),
    ]),
]


def fmt(v, how):
    if v is None:
        return "-"
    if how == "k":
        return f"{v / 1000:.1f}k"
    if how == "f2":
        return f"{v:.2f}"
    if how == "f1":
        return f"{v:.1f}"
    if how == "pct":
        return f"{v * 100:.0f}%"
    return f"{v:.0f}"


def summarise(results, names):
    """Per row and server: median value, spread (half the min-max range, %),
    median of per-round ratios to BASE, and the faults seen."""
    table = {}
    for key, field, label, how, _ in ROWS:
        per = results.get(key, {})
        base = per.get(BASE_OF.get(key, BASE), [])
        for name in names:
            runs = per.get(name)
            if not runs:
                continue
            if runs[0].get("skipped"):     # asked and found unable (no h2 in ALPN)
                table[(label, name)] = {"value": None, "spread": None, "ratio": None,
                                        "faults": {}, "skipped": runs[0]["skipped"]}
                continue
            vals = [r.get(field) for r in runs if r.get(field) is not None]
            faults = {}
            for r in runs:
                for k, v in r.get("faults", {}).items():
                    faults[k] = faults.get(k, 0) + v if isinstance(v, int) else v
            cell = {"value": None, "spread": None, "ratio": None, "faults": faults}
            if vals:
                med = statistics.median(vals)
                cell["value"] = med
                if len(vals) > 1 and med:
                    cell["spread"] = (max(vals) - min(vals)) / 2 / abs(med)
                ratios = [r.get(field) / b.get(field) for r, b in zip(runs, base)
                          if r.get(field) is not None and b.get(field)]
                if ratios and how != "pct" and field != "alive_after":
                    cell["ratio"] = statistics.median(ratios)
            table[(label, name)] = cell
    return table


def render(table, names, header, no_tls=None):
    """The table as text; no_tls: why lingerd has no TLS rows, if it has none."""
    lw, cw = 28, 17
    lines = header[:]
    lines.append("")
    lines.append("".ljust(lw) + "".join(n.rjust(cw) for n in names))
    notes, skipped = [], {}
    for key, field, label, how, _ in ROWS:
        if not any((label, n) in table for n in names):
            continue
        row = label.ljust(lw)
        for n in names:
            c = table.get((label, n))
            if c and c.get("skipped"):
                txt = "skipped"
                skipped.setdefault((n, c["skipped"]), []).append(key)
            elif c is None or c["value"] is None and not c["faults"]:
                txt = "n/a"
            elif c["faults"]:
                txt = "INVALID"
                notes.append(f"  {label} / {n}: {json.dumps(c['faults'])}")
            else:
                txt = fmt(c["value"], how)
                if c["spread"] is not None and c["spread"] >= 0.005:
                    txt += f"±{c['spread'] * 100:.0f}"
                if c["ratio"] is not None:
                    txt += f" x{c['ratio']:.2f}"
            row += txt.rjust(cw)
        lines.append(row)
    lines.append("")
    lines.append("value±spread x ratio: median over rounds, ± half the min-max range in %,")
    if any(lbl[1] not in BASE_OF for lbl, _ in table):
        lines.append(f"x = median over rounds of (server / {BASE}) in the same round.")
        lines.append(f"nginx-ctl is a second, identical {BASE}: its ratios show the noise.")
    if any(lbl[1] in BASE_OF for lbl, _ in table):
        lines.append("(o), (p): x = server / h2o in the same round; h2o-ctl, a second h2o, "
                     "shows the noise.")
    for (n, why), keys in skipped.items():
        rows = sorted(set(f"({k[3:]}) Ir/req" if k.startswith("cg-") else f"({k})"
                          for k in keys))
        lines.append(f"{n}: {', '.join(rows)} {why}")
    ops = {"<=": lambda v, l: v <= l, "<": lambda v, l: v < l, ">=": lambda v, l: v >= l}
    for heading, targets in TARGETS:
        if not any((label, n) in table for label, _, _, _ in targets for n in names):
            continue                    # this run had none of these workloads
        lines.append("")
        lines.append(heading)
        for label, use_ratio, op, limit in targets:
            c = table.get((label, "lingerd"))
            v = c and (c["ratio"] if use_ratio else c["value"])
            if c is None and label[1] in TLS_KEYS and no_tls:
                verdict = "n/a: lingerd has no TLS rows (see above)"
            elif c and c.get("skipped"):
                verdict = c["skipped"]
            elif v is None or c["faults"]:
                verdict = "not measured" + (" (INVALID)" if c and c["faults"] else "")
            else:
                verdict = ("met" if ops[op](v, limit) else "not met") + \
                    (f": x{v:.2f}" if use_ratio else f": {v:.0f}")
            want = f"{op} {'x' if use_ratio else ''}{limit:g}"
            lines.append(f"  {label:28} {want:9} {verdict}")
    ld, hp = table.get(("(n) CPU us/req", "lingerd")), table.get(("(n) CPU us/req", "haproxy"))
    if ld and hp and ld["value"] is not None and hp["value"] is not None:
        met = ld["value"] < hp["value"] and not ld["faults"] and not hp["faults"]
        lines.append(f"  {'(n) CPU us/req vs haproxy':28} {'< haproxy':9} "
                     f"{'met' if met else 'not met'}: {ld['value']:.2f} vs {hp['value']:.2f}")
    if notes:
        lines.append("")
        lines.append("INVALID figures (errors, non-2xx or short responses seen):")
        lines += notes
    return "\n".join(lines) + "\n"
