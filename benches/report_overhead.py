#!/usr/bin/env python3
"""Markdown report of benches/overhead.sh from the JSON files it left in its work folder.

Added latency is the difference of the percentiles (through the gateway minus direct),
each measured over its own run at the same settings.
"""

import json
import sys
from pathlib import Path


def oha(path: Path) -> dict:
    d = json.loads(path.read_text())
    lp = d["latencyPercentiles"]
    codes = d.get("statusCodeDistribution", {})
    ok = sum(v for k, v in codes.items() if k.startswith("2"))
    # Requests still in flight when a timed run ends are not failures.
    errors = {k: v for k, v in d.get("errorDistribution", {}).items() if k != "aborted due to deadline"}
    total = sum(codes.values()) + sum(errors.values())
    return {
        "p50": lp["p50"] * 1000,
        "p99": lp["p99"] * 1000,
        "rps": d["summary"]["requestsPerSec"],
        "ok": ok,
        "total": total,
    }


def fmt(x: float) -> str:
    return f"{x:.3f}"


def main() -> None:
    work, rates, duration, conns, rss, machine, cmds = sys.argv[1:8]
    work = Path(work)
    out = []
    out.append("### Machine\n")
    out.append(machine.strip() + "\n")
    out.append("### Commands\n")
    out.append("```")
    out.append("bash benches/overhead.sh")
    out.append(Path(cmds).read_text().strip())
    out.append("```\n")

    out.append("### Non-streaming, named model (`gpt-4o-mini` → simulated OpenAI provider)\n")
    out.append("Latency in ms. *Added* = through − direct for the same percentile.\n")
    out.append("| load | achieved req/s direct / through | direct p50 | direct p99 | through p50 | through p99 | added p50 | added p99 | non-2xx or errors (through) |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    best, broken = None, False
    rows = [("concurrency 1", "seq")] + [(f"{r} req/s fixed", f"rate{r}") for r in rates.split()]
    for label, key in rows:
        d = oha(work / f"{key}-direct.json")
        t = oha(work / f"{key}-through.json")
        a50, a99 = t["p50"] - d["p50"], t["p99"] - d["p99"]
        bad = t["total"] - t["ok"]
        out.append(
            f"| {label} | {d['rps']:.0f} / {t['rps']:.0f} | {fmt(d['p50'])} | {fmt(d['p99'])} | "
            f"{fmt(t['p50'])} | {fmt(t['p99'])} | **{fmt(a50)}** | **{fmt(a99)}** | {bad} |"
        )
        if key.startswith("rate") and not broken:
            rate = int(key[4:])
            if a99 < 1.0 and bad == 0 and t["rps"] >= 0.95 * rate:
                best = rate
            else:
                broken = True
    out.append("")
    out.append(
        f"Highest fixed rate up to which the added p99 stays under 1 ms at every rate run: **{best if best else 'none of the rates run'}"
        f"{' req/s' if best else ''}** ({duration} s per run, {conns} connections, oha latency correction on).\n"
    )

    out.append("### Streaming: added time to first token\n")
    out.append("| concurrency | direct TTFT p50 / p99 | through TTFT p50 / p99 | added p50 / p99 | `x-llmgw-overhead-ms` p50 / p99 |")
    out.append("|---|---|---|---|---|")
    for c in (1, 8):
        d = json.loads((work / f"ttft{c}-direct.json").read_text())
        t = json.loads((work / f"ttft{c}-through.json").read_text())
        dt, tt, oh = d["ttft_ms"], t["ttft_ms"], t["overhead_header_ms"] or {}
        out.append(
            f"| {c} | {fmt(dt['p50'])} / {fmt(dt['p99'])} | {fmt(tt['p50'])} / {fmt(tt['p99'])} | "
            f"**{fmt(tt['p50'] - dt['p50'])} / {fmt(tt['p99'] - dt['p99'])}** | "
            f"{fmt(oh.get('p50', float('nan')))} / {fmt(oh.get('p99', float('nan')))} |"
        )
    out.append("")
    out.append(f"Gateway memory after the run (`/proc/PID/status`): {rss.strip()}\n")
    print("\n".join(out))


if __name__ == "__main__":
    main()
