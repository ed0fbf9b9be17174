#!/usr/bin/env python3
"""Sum `perf report --sort dso,symbol` self time by crate (or shared object): stdin -> table."""
import collections
import re
import sys

shares = collections.Counter()
for line in sys.stdin:
    m = re.match(r"\s+([0-9.]+)%\s+(\S+)\s+\[.\]\s+(.*)", line)
    if not m:
        continue
    pct, dso, sym = float(m.group(1)), m.group(2), m.group(3).strip()
    if dso.startswith("[kernel") or "." in dso:  # the kernel, libc, libm, vdso
        shares[dso] += pct
        continue
    s = re.sub(r"^(impl|dyn|mut) ", "", sym.lstrip("<&*( "))
    if s.startswith(("_mi", "mi_")):
        key = "mimalloc (allocator)"
    elif "::" in s:
        key = s.split("::")[0]
    else:
        key = s[:40]
    shares[key] += pct
for name, pct in shares.most_common(int(sys.argv[1]) if len(sys.argv) > 1 else 20):
    print(f"{pct:6.2f}%  {name}")
