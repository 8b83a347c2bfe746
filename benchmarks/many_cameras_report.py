"""benchmarks/many_cameras.py's report: means over rounds, the ratios, the largest N, markdown and a plot."""
from __future__ import annotations

from pathlib import Path

import numpy as np

OWN_RATE = 0.9  # a camera is classified at its own rate when at least 90 % of the frames it sent are
FIGURES = ("fps_min", "fps_mean", "fps_max", "latency_p50_ms", "latency_p95_ms", "dropped_pct", "cpu_ms_per_frame",
           "pss_mb", "rss_mb", "load_1min")
RATIOS = ("fps_mean", "latency_p95_ms", "cpu_ms_per_frame", "pss_mb")


def summarize(runs: list[dict]) -> dict:
    """Means by configuration and N (keys: N as text, as JSON has them), (a)/(c), the largest N."""
    means: dict[str, dict[str, dict]] = {}
    for run in runs:
        means.setdefault(run["config"], {}).setdefault(str(run["cameras_n"]), {"runs": []})["runs"].append(run)
    for by_n in means.values():
        for cell in by_n.values():
            rows = cell.pop("runs")
            cell.update({key: mean([r[key] for r in rows]) for key in FIGURES})
            cell["keeps_up"] = all(r["keeps_up"] for r in rows)
    loads = [run["load_1min"] for run in runs]
    return {"means": means, "ratios_a_over_c": ratios(means.get("a", {}), means.get("c", {})),
            "largest_n_at_own_rate": {config: largest_at_own_rate(by_n) for config, by_n in means.items()},
            "load_1min_range": [min(loads), max(loads)] if loads else []}


def mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(float(np.mean(known)), 2) if known else None


def ratios(a: dict[str, dict], c: dict[str, dict]) -> dict[str, dict[str, float | None]]:
    """(a)'s figure over (c)'s at each N both have: above 1 is more frames, or more latency, CPU, memory."""
    return {n: {key: round(a[n][key] / c[n][key], 2) if a[n][key] and c[n][key] else None for key in RATIOS}
            for n in a if n in c}


def largest_at_own_rate(by_n: dict[str, dict]) -> int | None:
    """The largest N at which, and at every smaller N measured, every camera kept its own rate."""
    best = None
    for n in sorted(by_n, key=int):
        if not by_n[n]["keeps_up"]:
            break
        best = int(n)
    return best


def markdown(report: dict, name: str) -> str:
    m, t = report["machine"], report["timing"]
    low, high = report["load_1min_range"]
    out = [f"# Many cameras, one box — {m['cpu']}, {m['cores']} cores", "",
           f"{m['date']}; onnxruntime {m['onnxruntime']}, OpenCV {m['opencv']}, Python {m['python']}. Produced by "
           f"`{report['command']}`. Each camera: "
           f"{report['fps']:g} fps, 640x480 Motion-JPEG over HTTP on 127.0.0.1, a picture of its own. Each run is "
           f"measured for {t['seconds']:g} s after a {t['warmup']:g} s warm-up; {t['rounds']} round(s), the "
           "configurations interleaved (their order reversed every other time).", "",
           f"**A noisy machine**: it is shared with other engineers' builds and tests. The 1-minute load average "
           f"was {report.get('load_1min_before', '?')} before the first run and {low}–{high} as the runs started "
           f"({m['cores']} cores; the latter includes the previous runs of this benchmark). Compare the "
           "configurations side by side and read the ratios; the absolute figures hold for this machine at this "
           "load only.", ""]
    if "failed" in report:
        out += [f"**Incomplete**: the benchmark stopped at {report['failed']}", ""]
    out += means_table(report) + ratio_table(report) + largest_lines(report) + runs_table(report)
    return "\n".join(out + [f"Plot: `{name}.png`.", ""])


def means_table(report: dict) -> list[str]:
    out = ["## Mean over rounds", "",
           "| N | configuration | classified fps per camera (min / mean / max) | latency p50 ms | "
           "p95 ms | dropped % | CPU ms per classified frame | total PSS MB (RSS MB) | every camera at its own rate |",
           "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    counts = sorted({n for by_n in report["means"].values() for n in by_n}, key=int)
    for n in counts:
        for config, label in report["configs"].items():
            v = report["means"].get(config, {}).get(n)
            if v:
                out.append(f"| {n} | ({config}) {label} | {v['fps_min']} / **{v['fps_mean']}** / {v['fps_max']} | "
                           f"{v['latency_p50_ms']} | {v['latency_p95_ms']} | {v['dropped_pct']} | "
                           f"{v['cpu_ms_per_frame']} | {v['pss_mb']:.0f} ({v['rss_mb']:.0f}) | "
                           f"{'yes' if v['keeps_up'] else 'no'} |")
    return out + ["", "Latency runs from the moment the camera sent the frame to its result (the command's "
                  "capture time plus its own latency); dropped: frames sent in the window never classified; CPU: "
                  "user + system time of the command's processes in the window over the frames they classified in "
                  "it; PSS shares each shared page out among the processes that map it (so it adds up), RSS counts "
                  "it in every process.", ""]


def ratio_table(report: dict) -> list[str]:
    rows = report["ratios_a_over_c"]
    if not rows:
        return []
    out = ["## (a) one batched process / (c) one process per camera", "",
           "| N | classified fps per camera | latency p95 | CPU per classified frame | total PSS |",
           "| ---: | ---: | ---: | ---: | ---: |"]
    for n, r in sorted(rows.items(), key=lambda item: int(item[0])):
        out.append(f"| {n} | " + " | ".join(f"{r[k]}x" if r[k] is not None else "—" for k in RATIOS) + " |")
    return out + [""]


def largest_lines(report: dict) -> list[str]:
    out = ["## The largest N where every camera is classified at its own rate", "",
           f"A camera keeps its own rate when at least {OWN_RATE:.0%} of the frames it sent in the window were "
           "classified (the rest dropped as the newest frame won); a configuration keeps up at N when every camera "
           "did, in every round, at that N and at every smaller N measured.", ""]
    for config, n in report["largest_n_at_own_rate"].items():
        out.append(f"- ({config}) {report['configs'][config]}: " + (f"**N = {n}**" if n else "none of the N measured"))
    return out + [""]


def runs_table(report: dict) -> list[str]:
    out = ["## Every run, in the order run", "",
           "| # | config | N | load | fps per camera (min / mean / max) | p50 ms | "
           "p95 ms | dropped | CPU ms per frame | PSS MB | RSS MB | harness CPU % | exit codes |",
           "| ---: | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for i, v in enumerate(report["runs"], 1):
        out.append(f"| {i} | ({v['config']}) | {v['cameras_n']} | {v['load_1min']} | "
                   f"{v['fps_min']} / {v['fps_mean']} / {v['fps_max']} | {v['latency_p50_ms']} | "
                   f"{v['latency_p95_ms']} | {v['dropped']} | "
                   f"{v['cpu_ms_per_frame']} | {v['pss_mb']} | {v['rss_mb']} | {v['harness_cpu_pct']} | "
                   f"{' '.join(map(str, v['exit_codes']))} |")
    return out + ["", "Harness CPU: this script's own (the fake cameras sending pre-encoded frames), "
                  "on the same cores.", ""]


def plot(report: dict, path: Path) -> bool:
    """Classified fps per camera against N: the mean, and bars from the slowest camera to the fastest."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for config, label in report["configs"].items():
        by_n = report["means"].get(config, {})
        counts = sorted(by_n, key=int)
        x = [int(n) for n in counts]
        y = np.array([by_n[n]["fps_mean"] for n in counts])
        spread = [y - [by_n[n]["fps_min"] for n in counts], [by_n[n]["fps_max"] for n in counts] - y]
        ax.errorbar(x, y, yerr=spread, marker="o", capsize=4, label=f"({config}) {label}")
    ax.axhline(report["fps"], color="grey", linestyle="--", linewidth=1, label="each camera's own rate")
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted({run["cameras_n"] for run in report["runs"]}), labels=None)
    ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.set_xlabel("cameras (N)")
    ax.set_ylabel("classified frames per second, per camera")
    low, high = report["load_1min_range"]
    ax.set_title(f"{report['machine']['cores']} cores, load {low}–{high} (shared, noisy); "
                 "bars: slowest to fastest camera", fontsize=9)
    ax.set_ylim(0, report["fps"] * 1.1)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
