#!/usr/bin/env python3
"""Small measuring client for the benchmarks (standard library only).

  client.py ttft    URL MODEL [--n N] [--concurrency C]   streamed chat: time to first token
  client.py latency URL MODEL [--n N] [--distinct]        whole chat answers, one at a time

URL is the chat-completions URL (the simulator's `/openai/v1/chat/completions` or the
gateway's `/v1/chat/completions`). Each worker keeps one keep-alive connection. The time to
first token runs from sending the request to reading the first SSE event that carries
content. Prints one JSON object: percentiles in milliseconds, and the gateway's
`x-llmgw-overhead-ms` / `x-llmgw-routing-ms` headers when present.
"""

import argparse
import http.client
import json
import re
import statistics
import threading
import time
import urllib.parse

CONTENT = re.compile(rb'"content":"[^"]')

PROMPTS = [
    "What is the capital of Australia, and why was it chosen over Sydney and Melbourne?",
    "Write a Python function that returns the n-th Fibonacci number using memoisation.",
    "Explain the difference between a mutex and a semaphore with a short example.",
    "Summarise the causes of the French Revolution in three sentences.",
    "A rectangle has a perimeter of 36 cm and an area of 80 cm^2. What are its sides?",
    "Translate 'the early bird catches the worm' into French and German.",
    "Which of these is a prime number: 91, 97, 99, 111? Answer with the letter. A) 91 B) 97 C) 99 D) 111",
    "Give me three ideas for a birthday party for a ten-year-old who likes space.",
]


def percentile(values, p):
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def stats(values):
    if not values:
        return None
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "mean": statistics.fmean(values),
    }


class Conn:
    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.path = u.hostname, u.port or 80, u.path
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def post(self, body):
        payload = json.dumps(body).encode()
        headers = {"content-type": "application/json", "authorization": "Bearer sk-bench"}
        t0 = time.perf_counter()
        self.conn.request("POST", self.path, body=payload, headers=headers)
        return t0, self.conn.getresponse()


def one_stream(conn, model, text):
    t0, resp = conn.post({"model": model, "stream": True, "messages": [{"role": "user", "content": text}]})
    if resp.status != 200:
        raise RuntimeError(f"HTTP {resp.status}: {resp.read()[:300]!r}")
    ttft, buf = None, b""
    while True:
        chunk = resp.read1(65536)
        if not chunk:
            break
        if ttft is None:
            buf += chunk
            if CONTENT.search(buf):
                ttft = (time.perf_counter() - t0) * 1000
    total = (time.perf_counter() - t0) * 1000
    return ttft, total, resp.getheader("x-llmgw-overhead-ms"), resp.getheader("x-llmgw-routing-ms")


def one_whole(conn, model, text):
    t0, resp = conn.post({"model": model, "messages": [{"role": "user", "content": text}]})
    body = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"HTTP {resp.status}: {body[:300]!r}")
    total = (time.perf_counter() - t0) * 1000
    return None, total, resp.getheader("x-llmgw-overhead-ms"), resp.getheader("x-llmgw-routing-ms")


def run(args):
    fn = one_stream if args.mode == "ttft" else one_whole
    per_worker = max(1, args.n // args.concurrency)
    results, errors, lock = [], [], threading.Lock()

    def worker(w):
        conn = Conn(args.url)
        for i in range(args.warmup + per_worker):
            text = PROMPTS[i % len(PROMPTS)]
            if args.distinct:
                text = f"{text} (request {w}-{i})"
            try:
                r = fn(conn, args.model, text)
            except Exception as e:  # noqa: BLE001 - reported in the output
                with lock:
                    errors.append(str(e))
                conn = Conn(args.url)
                continue
            if i >= args.warmup:
                with lock:
                    results.append(r)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(w,)) for w in range(args.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    out = {
        "mode": args.mode,
        "url": args.url,
        "model": args.model,
        "concurrency": args.concurrency,
        "requests": len(results),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "rps": len(results) / wall,
        "total_ms": stats([r[1] for r in results]),
        "ttft_ms": stats([r[0] for r in results if r[0] is not None]),
        "overhead_header_ms": stats([float(r[2]) for r in results if r[2]]),
        "routing_header_ms": stats([float(r[3]) for r in results if r[3]]),
    }
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["ttft", "latency"])
    ap.add_argument("url")
    ap.add_argument("model")
    ap.add_argument("--n", type=int, default=1000, help="measured requests (all workers together)")
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=20, help="unmeasured requests per worker first")
    ap.add_argument("--distinct", action="store_true", help="make every prompt text unique")
    run(ap.parse_args())


if __name__ == "__main__":
    main()
