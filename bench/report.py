#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Turns multichap_bench's Google Benchmark JSON into the performance report.

Prints a table (backend x algorithm), the challenge-generation numbers and PASS/MISS for each
performance goal; optionally writes the same as markdown and an SVG chart of throughput against
message size. Standard library only.

Benchmark names are suite/impl/backend[/alg][/param], as registered in bench/*.cpp:
  hash/{raw,ours}/B/A/SIZE            digest of SIZE bytes (ours carries ratio, ours_ns, raw_ns)
  chap_response/ours/B/A/CHALLENGE    chap_response(), paired with the raw 3-part digest
  chap_verify/ours/B/A/CHALLENGE      chap_response() + constant_time_equal, paired with raw
  plugin_vs_static/ours/B/A/16        chap_response() through the plugin B, paired with B's code
                                      linked into the bench (ratio = plugin / linked in)
  challenge_random/ours/B/32          HashBackend::random of 32 bytes, paired with raw
  challenge_target/ours/B/A           ChapTarget reset + AuthMethod + CHAP_A -> CHAP_A/I/C
  login_inmemory/ours/B/A             a whole mutual exchange, items_per_second = logins/s
  login_loopback/{ours,tgtd}/A/N      N concurrent logins over loopback TCP (bench/login_bench.cpp)
  login_loopback_idle/{ours,tgtd}/A/N the same with 5,000 idle connections held open
  idle_memory/{ours,tgtd}             target memory per idle connection
  storm_one_address/{ours,tgtd}/...   500 logins from the address of 5,100 idle/drip connections
  login_latency_idle/{ours,tgtd}/...  one login while the 5,000 idle connections are held
  login_machines/ours/...             a whole iSCSI login between the two sans-I/O machines
  serve_storm/...                     multichap serve with 10,000 idle/dripping or 10,000 sessions
A backend B-static (openssl-static, botan-static) is B's source compiled into the bench binary
and registered beside the plugin B (bench/linked_in.cpp); its raw baseline is B's.
Times are CPU times. Ratios (ours / raw) come from blocks of ours and raw interleaved inside
one benchmark, so both sides see the same machine state.
"""

import argparse
import json
import math
import statistics
import sys
from collections import OrderedDict

ALGORITHMS = ["md5", "sha1", "sha256", "sha3-256"]
HASH_SIZES = [33, 1041, 65536]
SIZE_LABELS = {33: "33 B", 1041: "1041 B", 65536: "64 KiB"}
UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
BACKEND_SUITES = {"hash", "chap_response", "chap_verify", "challenge_random", "challenge_target",
                  "login_inmemory"}

LINKED_IN_SUFFIX = "-static"  # bench/linked_in.cpp: B-static is B's code linked in
RESPONSE_CHALLENGE = 16  # 1 id byte + 16-byte secret + 16-byte challenge = 33 bytes hashed
RESPONSE_RATIO_MAX = 1.10
PLUGIN_RATIO_MAX = 1.03

# (key, description, threshold, direction): "max" = value must be <= threshold. The response
# goal is stated per plugin (response_goals), not here.
GOALS = [
    ("bulk_ratio", "digest of 64 KiB <= 1.03x raw", 1.03, "max"),
    ("challenge_ns", "challenge generation (random 32 B) < 150 ns", 150.0, "max"),
    ("login_rate", "in-memory mutual SHA-256 login >= 250k/s (one core)", 250000.0, "min"),
]


class Results:
    """Benchmark results by name; medians when the run had repetitions."""

    def __init__(self, data):
        self.context = data.get("context", {})
        runs = OrderedDict()
        medians = {}
        self.errors = []
        for b in data.get("benchmarks", []):
            name = b.get("run_name", b["name"])
            if b.get("error_occurred"):
                self.errors.append((name, b.get("error_message", "")))
                continue
            if b.get("run_type") == "aggregate":
                if b.get("aggregate_name") == "median":
                    medians[name] = b
                    runs.setdefault(name, [])
                continue
            runs.setdefault(name, []).append(b)
        self.names = list(runs.keys())
        self._runs = runs
        self._medians = medians
        self.repetitions = bool(medians) or any(len(v) > 1 for v in runs.values())

    def value(self, name, field):
        """A field of a benchmark (cpu_time in ns for 'cpu_ns'), or None when absent."""
        entries = [self._medians[name]] if name in self._medians else self._runs.get(name, [])
        values = []
        for e in entries:
            if field == "cpu_ns":
                values.append(e["cpu_time"] * UNIT_NS.get(e.get("time_unit", "ns"), 1.0))
            elif field in e:
                values.append(float(e[field]))
        return statistics.median(values) if values else None

    def backends(self):
        """Backends in the order measured, from the suites whose third name part is one."""
        seen = []
        for name in self.names:
            parts = name.split("/")
            if len(parts) >= 3 and parts[0] in BACKEND_SUITES and parts[2] not in seen:
                seen.append(parts[2])
        return seen


def fmt(value, spec, suffix=""):
    return "n/a" if value is None else format(value, spec) + suffix


def response_name(backend, alg):
    return f"chap_response/ours/{backend}/{alg}/{RESPONSE_CHALLENGE}"


def is_linked_in(backend):
    return backend.endswith(LINKED_IN_SUFFIX)


def collect(res):
    """Rows of the main table and the goal measurements."""
    rows = []
    measured = {key: [] for key, _, _, _ in GOALS}
    measured["response_ratio"] = []
    for backend in res.backends():
        for alg in ALGORITHMS:
            h = lambda impl, size: f"hash/{impl}/{backend}/{alg}/{size}"
            if not any(n.startswith(f"hash/ours/{backend}/{alg}/") or
                       n.startswith(f"login_inmemory/ours/{backend}/{alg}") or
                       n == response_name(backend, alg) for n in res.names):
                continue
            bps = res.value(h("ours", 65536), "bytes_per_second")
            raw_bps = res.value(h("raw", 65536), "bytes_per_second")
            row = {
                "backend": backend,
                "alg": alg,
                "gbps": None if bps is None else bps / 1e9,
                "raw_gbps": None if raw_bps is None else raw_bps / 1e9,
                "digest33_ns": res.value(h("ours", 33), "cpu_ns"),
                "response_ns": res.value(response_name(backend, alg), "cpu_ns"),
                "response_ratio": res.value(response_name(backend, alg), "ratio"),
                "ratio33": res.value(h("ours", 33), "ratio"),
                "ratio64k": res.value(h("ours", 65536), "ratio"),
                "logins": res.value(f"login_inmemory/ours/{backend}/{alg}", "items_per_second"),
            }
            rows.append(row)
            where = f"{backend}/{alg}"
            if row["response_ratio"] is not None:
                measured["response_ratio"].append((where, row["response_ratio"]))
            if row["ratio64k"] is not None:
                measured["bulk_ratio"].append((where, row["ratio64k"]))
            if alg == "sha256" and row["logins"] is not None:
                measured["login_rate"].append((where, row["logins"]))
        ns = res.value(f"challenge_random/ours/{backend}/32", "cpu_ns")
        if ns is not None:
            measured["challenge_ns"].append((backend, ns))
    return rows, measured


def main_table(rows):
    header = ["backend", "algorithm", "GB/s 64 KiB (raw)", "ns/digest 33 B", "ns/CHAP response",
              "response/raw 33 B", "digest/raw 33 B", "digest/raw 64 KiB", "logins/s in-memory"]
    body = []
    for r in rows:
        gbps = fmt(r["gbps"], ".2f")
        if r["raw_gbps"] is not None:
            gbps += f" ({r['raw_gbps']:.2f})"
        body.append([r["backend"], r["alg"], gbps, fmt(r["digest33_ns"], ".0f"),
                     fmt(r["response_ns"], ".0f"), fmt(r["response_ratio"], ".3f"),
                     fmt(r["ratio33"], ".3f"), fmt(r["ratio64k"], ".3f"),
                     fmt(r["logins"], ",.0f")])
    return header, body


def detail_table(res):
    """CHAP response and verify for every challenge size, with ratios and raw times."""
    header = ["operation", "backend", "algorithm", "challenge", "ns (ours)", "ns (raw)", "ours/raw"]
    body = []
    for op in ("chap_response", "chap_verify"):
        for backend in res.backends():
            for alg in ALGORITHMS:
                for size in (16, 32, 1024):
                    name = f"{op}/ours/{backend}/{alg}/{size}"
                    if name not in res.names:
                        continue
                    body.append([op.replace("chap_", ""), backend, alg, f"{size} B",
                                 fmt(res.value(name, "cpu_ns"), ".0f"),
                                 fmt(res.value(name, "raw_ns"), ".0f"),
                                 fmt(res.value(name, "ratio"), ".3f")])
    return header, body


def response_goals(measured):
    """One line per plugin: its worst 33-byte CHAP response ratio to the raw library."""
    by_backend = OrderedDict()
    for where, ratio in measured["response_ratio"]:
        backend, alg = where.split("/", 1)
        if not is_linked_in(backend):
            by_backend.setdefault(backend, []).append((alg, ratio))
    out = []
    for backend, values in by_backend.items():
        alg, worst = max(values, key=lambda av: av[1])
        misses = [a for a, v in values if v > RESPONSE_RATIO_MAX]
        detail = f"worst {worst:.3f}x ({alg})"
        if misses:
            detail += "; missed by " + ", ".join(misses)
        out.append((f"33-byte CHAP response <= {RESPONSE_RATIO_MAX:.2f}x the raw library, "
                    f"{backend}", "MISS" if misses else "PASS", detail))
    if not out:
        out.append((f"33-byte CHAP response <= {RESPONSE_RATIO_MAX:.2f}x the raw library", "n/a",
                    "not measured in this run"))
    return out


def plugin_table(res):
    """chap_response at 33 B through each plugin B against B-static, and the goal line."""
    header = ["backend", "algorithm", "ns plugin", "ns linked in", "plugin/linked in",
              "paired plugin/linked in"]
    body = []
    checks = []
    for backend in res.backends():
        linked = backend + LINKED_IN_SUFFIX
        if is_linked_in(backend) or linked not in res.backends():
            continue
        for alg in ALGORITHMS:
            plugin_ns = res.value(response_name(backend, alg), "cpu_ns")
            linked_ns = res.value(response_name(linked, alg), "cpu_ns")
            paired = res.value(f"plugin_vs_static/ours/{backend}/{alg}/{RESPONSE_CHALLENGE}",
                               "ratio")
            if plugin_ns is None and linked_ns is None and paired is None:
                continue
            separate = plugin_ns / linked_ns if plugin_ns and linked_ns else None
            body.append([backend, alg, fmt(plugin_ns, ".1f"), fmt(linked_ns, ".1f"),
                         fmt(separate, ".3f"), fmt(paired, ".3f")])
            # The paired row (interleaved blocks) when it ran; else the two separate rows.
            ratio = paired if paired is not None else separate
            if ratio is not None:
                checks.append((f"{backend}/{alg}", ratio))
    desc = "a CHAP response through a plugin within 3 % of the backend linked in"
    if not checks:
        return header, body, (desc, "n/a", "not measured in this run")
    worst = max(checks, key=lambda wv: wv[1])
    misses = [w for w, v in checks if v > PLUGIN_RATIO_MAX]
    detail = f"worst {worst[1]:.3f}x ({worst[0]}), {len(checks)} compared"
    if misses:
        detail += "; missed by " + ", ".join(misses)
    return header, body, (desc, "MISS" if misses else "PASS", detail)


def challenge_table(res):
    header = ["backend", "random 32 B ns (raw ns)"] + [f"target challenge step {a} ns"
                                                       for a in ALGORITHMS]
    body = []
    for backend in res.backends():
        name = f"challenge_random/ours/{backend}/32"
        if name not in res.names and not any(
                n.startswith(f"challenge_target/ours/{backend}/") for n in res.names):
            continue
        cell = fmt(res.value(name, "cpu_ns"), ".0f")
        raw = res.value(name, "raw_ns")
        if raw is not None:
            cell += f" ({raw:.0f})"
        body.append([backend, cell] + [
            fmt(res.value(f"challenge_target/ours/{backend}/{a}", "cpu_ns"), ".0f")
            for a in ALGORITHMS])
    return header, body


def loopback_table(res):
    """login_loopback[_idle]/{ours,tgtd}/ALG/N[/...] from bench/login_bench.cpp, when it ran."""
    cells = OrderedDict()  # (idle, alg, n) -> {impl: rate}
    impls = []
    for name in res.names:
        parts = name.split("/")
        if parts[0] not in ("login_loopback", "login_loopback_idle") or len(parts) < 4:
            continue
        impl, alg, n = parts[1], parts[2], parts[3]
        if impl not in impls:
            impls.append(impl)
        idle = "5,000" if parts[0].endswith("_idle") else "0"
        cells.setdefault((idle, alg, n), {})[impl] = res.value(name, "logins_per_s")
    if not cells:
        return None, None
    header = (["idle connections", "algorithm", "concurrent logins"] +
              [f"{i} logins/s" for i in impls])
    ratio = "ours" in impls and "tgtd" in impls
    if ratio:
        header.append("ours/tgtd")
    body = []
    for (idle, alg, n), v in cells.items():
        row = [idle, alg, n] + [fmt(v.get(i), ",.0f") for i in impls]
        if ratio:
            ours, tgtd = v.get("ours"), v.get("tgtd")
            row.append(fmt(ours / tgtd if ours and tgtd else None, ".2f", "x"))
        body.append(row)
    return header, body


def storm_table(res):
    """Memory per idle connection, login latency under storms, the in-memory machines."""
    body = []
    for name in res.names:
        parts = name.split("/")
        if parts[0] == "idle_memory":
            body.append([name.split("/iterations")[0], "memory per idle connection",
                         fmt(res.value(name, "bytes_per_idle_connection"), ",.0f", " B")])
        elif parts[0] == "login_latency_idle":
            body.append(["/".join(parts[:3]), "one login, 5,000 idle held",
                         fmt(res.value(name, "real_ns") or res.value(name, "real_time"), ".3f",
                             " ms")])
        elif parts[0] == "login_machines":
            body.append(["/".join(parts[:3]), "whole login in memory, both machines",
                         fmt(res.value(name, "cpu_ns") and res.value(name, "cpu_ns") / 1000,
                             ".1f", " us")])
        elif parts[0] == "storm_one_address":
            body.append(["/".join(parts[:3]),
                         "5,000 idle + 100 drip from 127.0.0.1, then logins from it",
                         f"{fmt(res.value(name, 'logins_succeeded'), ',.0f')} of "
                         f"{fmt(res.value(name, 'logins'), ',.0f')} logins succeeded"])
        elif parts[0] == "serve_storm":
            what = parts[1]
            if what == "idle_and_drip":
                detail = (f"median {fmt(res.value(name, 'median_ms'), '.3f')} ms, worst "
                          f"{fmt(res.value(name, 'worst_ms'), '.2f')} ms, dropped "
                          f"{fmt(res.value(name, 'storm_dropped'), '.0f')} of "
                          f"{fmt(res.value(name, 'storm_connections'), ',.0f')}")
            else:
                detail = (f"median {fmt(res.value(name, 'median_ms'), '.3f')} ms with "
                          f"{fmt(res.value(name, 'sessions_held'), ',.0f')} sessions held, "
                          f"filled at {fmt(res.value(name, 'fill_logins_per_s'), ',.0f')}/s")
            body.append(["/".join(parts[:3]), "valid mutual SHA-256 logins", detail])
    if not body:
        return None, None
    return ["benchmark", "measures", "result"], body


def storm_goals(res, loop_b):
    """The connection-storm goals (issue: event-driven target), when their rows ran."""
    out = []
    if loop_b:
        rows = [r for r in loop_b if r[-1] != "-"]
        worst = min(rows, key=lambda r: float(r[-1].rstrip("x")), default=None)
        if worst:
            ok = all(float(r[-1].rstrip("x")) >= 1.0 for r in rows)
            out.append(("our logins/s over loopback >= tgtd's in every row",
                        "PASS" if ok else "MISS", f"worst {worst[-1]} (idle {worst[0]}, "
                        f"{worst[2]} concurrent)"))
            big = [r for r in rows if r[2] in ("256", "1000")]
            if big:
                ok = all(float(r[-1].rstrip("x")) >= 1.2 for r in big)
                w = min(big, key=lambda r: float(r[-1].rstrip("x")))
                out.append(("... and >= 1.2x at 256 and 1,000 concurrent logins",
                            "PASS" if ok else "MISS", f"worst {w[-1]} (idle {w[0]}, {w[2]})"))
    for name in res.names:
        if name.startswith("login_latency_idle/ours"):
            v = res.value(name, "real_time")
            if v is not None:
                out.append(("a mutual SHA-256 login with 5,000 idle connections held < 100 ms",
                            "PASS" if v < 100 else "MISS", f"{v:.3f} ms"))
        if name.startswith("storm_one_address/ours"):
            ok_n, all_n = res.value(name, "logins_succeeded"), res.value(name, "logins")
            if all_n:
                out.append(("a storm from the initiators' own address locks no valid login out",
                            "PASS" if ok_n == all_n else "MISS",
                            f"{ok_n:,.0f} of {all_n:,.0f} logins"))
        if name.startswith("idle_memory/ours"):
            v = res.value(name, "bytes_per_idle_connection")
            if v is not None:
                out.append(("memory per idle connection < 16 KiB", "PASS" if v < 16384 else "MISS",
                            f"{v:,.0f} B"))
    return out


def evaluate(measured):
    """[(description, status, detail)] with status PASS, MISS or n/a."""
    out = []
    for key, desc, threshold, direction in GOALS:
        values = measured[key]
        if not values:
            out.append((desc, "n/a", "not measured in this run"))
            continue
        ok = lambda v: v <= threshold if direction == "max" else v >= threshold
        worst = (max if direction == "max" else min)(values, key=lambda wv: wv[1])
        misses = [w for w, v in values if not ok(v)]
        unit = {"challenge_ns": " ns", "login_rate": "/s"}.get(key, "x")
        spec = ",.0f" if key in ("challenge_ns", "login_rate") else ".3f"
        detail = f"worst {format(worst[1], spec)}{unit} ({worst[0]})"
        if misses:
            detail += "; missed by " + ", ".join(misses)
        out.append((desc, "PASS" if not misses else "MISS", detail))
    return out


def text_table(header, body):
    widths = [max(len(str(c)) for c in col) for col in zip(header, *body)]
    line = lambda cells: "  ".join(str(c).rjust(w) if i > 1 else str(c).ljust(w)
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in body])


def md_table(header, body):
    rows = ["| " + " | ".join(header) + " |",
            "|" + "|".join(["---"] * 2 + ["---:"] * (len(header) - 2)) + "|"]
    rows += ["| " + " | ".join(str(c) for c in r) + " |" for r in body]
    return "\n".join(rows)


def context_line(res):
    c = res.context
    libs = ", ".join(f"{k[len('multichap_backend_'):]}: {v}" for k, v in c.items()
                     if k.startswith("multichap_backend_"))
    load = c.get("load_avg")
    load_text = "load avg " + "/".join(f"{x:.2f}" for x in load) if load else ""
    parts = [c.get("date", ""), f"{c.get('num_cpus', '?')} CPUs @ {c.get('mhz_per_cpu', '?')} MHz",
             load_text, libs,
             "medians of repetitions" if res.repetitions else "single run per benchmark"]
    return "; ".join(p for p in parts if p)


# ------------------------------------------------------------------------------------- SVG chart
COLORS = {"md5": "#1f77b4", "sha1": "#ff7f0e", "sha256": "#2ca02c", "sha3-256": "#d62728"}


def nice_ceiling(v):
    if v <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if m * exp >= v:
            return m * exp
    return 10 * exp


def svg_chart(res):
    backends = res.backends()
    series = {}  # (backend, impl, alg) -> [(size, GB/s)]
    for backend in backends:
        for impl in ("ours", "raw"):
            for alg in ALGORITHMS:
                pts = []
                for size in HASH_SIZES:
                    bps = res.value(f"hash/{impl}/{backend}/{alg}/{size}", "bytes_per_second")
                    if bps is not None:
                        pts.append((size, bps / 1e9))
                if pts:
                    series[(backend, impl, alg)] = pts
    backends = [b for b in backends if any(k[0] == b for k in series)]
    if not backends:
        return None
    ymax = nice_ceiling(max(y for pts in series.values() for _, y in pts))
    pw, ph, ml, mr, mt, mb = 360, 260, 60, 70, 60, 60
    pad = 30  # keeps the first and last size off the panel edges
    width = ml + len(backends) * (pw + mr) + 110
    height = mt + ph + mb
    lo, hi = math.log2(HASH_SIZES[0]), math.log2(HASH_SIZES[-1])
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="15">multichap: hash '
           f'throughput vs message size (HashBackend::digest solid, raw library dashed; '
           f'GB/s = 10^9 bytes/s)</text>']
    for i, backend in enumerate(backends):
        x0 = ml + i * (pw + mr)
        sx = lambda s: x0 + pad + (math.log2(s) - lo) / (hi - lo) * (pw - 2 * pad)
        sy = lambda g: mt + ph - g / ymax * ph
        out.append(f'<text x="{x0 + pw / 2}" y="{mt - 10}" text-anchor="middle" '
                   f'font-weight="bold">{backend}</text>')
        out.append(f'<text x="{x0 - 6}" y="{mt - 10}" text-anchor="end">GB/s</text>')
        out.append(f'<rect x="{x0}" y="{mt}" width="{pw}" height="{ph}" fill="none" '
                   f'stroke="#333"/>')
        for k in range(6):
            g = ymax * k / 5
            y = sy(g)
            out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + pw}" y2="{y:.1f}" '
                       f'stroke="#ddd"/>')
            out.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end">{g:g}</text>')
        for size in HASH_SIZES:
            x = sx(size)
            out.append(f'<line x1="{x:.1f}" y1="{mt}" x2="{x:.1f}" y2="{mt + ph}" stroke="#eee"/>')
            out.append(f'<text x="{x:.1f}" y="{mt + ph + 16}" text-anchor="middle">'
                       f'{SIZE_LABELS[size]}</text>')
        out.append(f'<text x="{x0 + pw / 2}" y="{mt + ph + 36}" text-anchor="middle">'
                   f'message size (log scale)</text>')
        for alg in ALGORITHMS:
            for impl in ("raw", "ours"):
                pts = series.get((backend, impl, alg))
                if not pts:
                    continue
                coords = " ".join(f"{sx(s):.1f},{sy(g):.1f}" for s, g in pts)
                dash = ' stroke-dasharray="5,4"' if impl == "raw" else ""
                out.append(f'<polyline points="{coords}" fill="none" stroke="{COLORS[alg]}" '
                           f'stroke-width="2"{dash}/>')
                if impl == "ours":
                    out += [f'<circle cx="{sx(s):.1f}" cy="{sy(g):.1f}" r="3" '
                            f'fill="{COLORS[alg]}"/>' for s, g in pts]
    lx = ml + len(backends) * (pw + mr) - mr + 20
    for j, alg in enumerate(ALGORITHMS):
        y = mt + 10 + j * 20
        out.append(f'<line x1="{lx}" y1="{y}" x2="{lx + 24}" y2="{y}" stroke="{COLORS[alg]}" '
                   f'stroke-width="2"/>')
        out.append(f'<text x="{lx + 30}" y="{y + 4}">{alg}</text>')
    y = mt + 10 + len(ALGORITHMS) * 20 + 10
    out.append(f'<line x1="{lx}" y1="{y}" x2="{lx + 24}" y2="{y}" stroke="#333" '
               f'stroke-width="2"/><text x="{lx + 30}" y="{y + 4}">ours</text>')
    out.append(f'<line x1="{lx}" y1="{y + 20}" x2="{lx + 24}" y2="{y + 20}" stroke="#333" '
               f'stroke-width="2" stroke-dasharray="5,4"/>'
               f'<text x="{lx + 30}" y="{y + 24}">raw</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def tools_table(path):
    """`multichap bench --compare-raw --vs-openssl --vs-botan --json` output: our raw-library rows
    beside openssl speed / botan speed, and whether they agree within 10 % at 16 KiB."""
    with open(path, encoding="utf-8") as f:
        rows = [r for r in json.load(f)["results"] if r["suite"] == "hash" and r["status"] == "ok"]
    header = ["backend", "algorithm", "bytes", "ours MB/s", "raw MB/s", "tool", "tool MB/s",
              "raw/tool"]
    body = []
    checks = []
    for r in rows:
        ratio = r.get("ratio_to_tool")
        body.append([r["backend"], r["algorithm"], str(r["bytes"]), fmt(r["mb_per_s"], ",.1f"),
                     fmt(r["raw_mb_per_s"], ",.1f"), r["tool"] or "-",
                     fmt(r["tool_mb_per_s"], ",.1f"), fmt(ratio, ".3f")])
        if r["bytes"] == 16384 and ratio is not None:
            checks.append((f"{r['backend']}/{r['algorithm']}", ratio))
    if not checks:
        goal = ("raw rows within 10 % of openssl speed / botan speed at 16 KiB", "n/a",
                "no tool number at 16 KiB in this run")
    else:
        misses = [w for w, v in checks if abs(v - 1) > 0.10]
        worst = max(checks, key=lambda wv: abs(wv[1] - 1))
        detail = f"worst {worst[1]:.3f} ({worst[0]}), {len(checks)} compared"
        if misses:
            detail += "; outside 10 %: " + ", ".join(misses)
        goal = ("raw rows within 10 % of openssl speed / botan speed at 16 KiB",
                "MISS" if misses else "PASS", detail)
    return header, body, goal


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="Google Benchmark JSON (--benchmark_out)")
    parser.add_argument("--markdown", help="write the report as markdown here")
    parser.add_argument("--svg", help="write the throughput chart here")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    parser.add_argument("--tools", help="multichap bench --json output with --vs-openssl/--vs-botan")
    args = parser.parse_args()

    with open(args.results, encoding="utf-8") as f:
        res = Results(json.load(f))
    rows, measured = collect(res)
    goals = response_goals(measured) + evaluate(measured)
    plug_h, plug_b, plug_goal = plugin_table(res)
    goals.insert(0, plug_goal)
    main_h, main_b = main_table(rows)
    ch_h, ch_b = challenge_table(res)
    det_h, det_b = detail_table(res)
    loop_h, loop_b = loopback_table(res)
    storm_h, storm_b = storm_table(res)
    goals += storm_goals(res, loop_b)
    tools_h, tools_b = None, None
    if args.tools:
        tools_h, tools_b, tools_goal = tools_table(args.tools)
        goals.append(tools_goal)

    print("multichap benchmarks: " + context_line(res))
    print("(ns = CPU ns per operation; x/raw = ours / raw library, same run, interleaved; "
          "GB/s = 10^9 bytes/s)\n")
    print(text_table(main_h, main_b))
    if plug_b:
        print(f"\nplugin vs linked in: chap_response, {RESPONSE_CHALLENGE}-byte challenge "
              "(33 B hashed); paired = both in one benchmark, interleaved blocks")
        print(text_table(plug_h, plug_b))
    if ch_b:
        print("\nchallenge generation")
        print(text_table(ch_h, ch_b))
    if loop_b:
        print("\nlogin over loopback (bench/login_bench.cpp): multichap serve and tgtd, same client")
        print(text_table(loop_h, loop_b))
    if storm_b:
        print("\nconnection storms and memory")
        print(text_table(storm_h, storm_b))
    if tools_b:
        print("\nbeside openssl speed / botan speed (multichap bench, same run)")
        print(text_table(tools_h, tools_b))
    print("\ngoals")
    for desc, status, detail in goals:
        print(f"  [{status}] {desc}: {detail}")
    for name, message in res.errors:
        print(f"  error in {name}: {message}")

    if args.markdown:
        md = ["# multichap benchmark report", "", context_line(res), "",
              "CPU time per operation; `x/raw` columns are ours / raw library measured in "
              "interleaved blocks of the same benchmark. GB/s = 10^9 bytes/s; in parentheses "
              "the raw library.", "", md_table(main_h, main_b), ""]
        if plug_b:
            md += ["## Plugin vs linked in", "",
                   f"`chap_response()`, {RESPONSE_CHALLENGE}-byte challenge (33 bytes hashed), "
                   "through the dlopen'ed plugin and through the same backend's source compiled "
                   "into the bench (`B-static`); paired = both in one benchmark, interleaved "
                   "blocks.", "", md_table(plug_h, plug_b), ""]
        if ch_b:
            md += ["## Challenge generation", "", md_table(ch_h, ch_b), ""]
        if loop_b:
            md += ["## Login over loopback", "", md_table(loop_h, loop_b), ""]
        if storm_b:
            md += ["## Connection storms and memory", "", md_table(storm_h, storm_b), ""]
        if tools_b:
            md += ["## Beside openssl speed / botan speed", "", md_table(tools_h, tools_b), ""]
        md += ["## Goals", ""] + [f"- **{s}** {d}: {t}" for d, s, t in goals] + [""]
        if det_b:
            md += ["## CHAP response and verify by challenge size", "", md_table(det_h, det_b),
                   ""]
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write("\n".join(md))
        print(f"\nwrote {args.markdown}")
    if args.svg:
        chart = svg_chart(res)
        if chart:
            with open(args.svg, "w", encoding="utf-8") as f:
                f.write(chart)
            print(f"wrote {args.svg}")
    if args.strict and any(s == "MISS" for _, s, _ in goals):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
