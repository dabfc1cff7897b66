"""LLM client throughput: datagen's client against a bare `AsyncOpenAI` + semaphore loop.

Part 1: a loopback OpenAI-compatible server (its own process, asyncio, a fixed latency per
request) is called at concurrency 1, 16, 64 and 256, first by the bare loop, then by datagen's
`LLMClient` with everything on: the SQLite response cache (every call a miss, so every answer
is written), the concurrency gate, RPM/TPM token buckets (set high enough not to bind, so the
bookkeeping is measured, not the limit) and cost accounting. Prints requests/s and the ratio.

Part 2: completion tokens/s through datagen vs direct calls to the embedded llama.cpp server
(skipped with --no-embedded or when it is not installed).

    python bench/llm_throughput.py [--latency-ms 50] [--no-embedded]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openai

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from datagen.llm.cache import ResponseCache  # noqa: E402
from datagen.llm.client import LLMClient  # noqa: E402
from datagen.llm.endpoint import Endpoint  # noqa: E402
from datagen.llm.tokens import count_chat_tokens  # noqa: E402

BODY = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 0, "model": "bench",
    "choices": [{"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": "A fixed answer of some words."}}],
    "usage": {"prompt_tokens": 20, "completion_tokens": 7, "total_tokens": 27},
}).encode()


async def serve(latency_s: float) -> None:
    """HTTP/1.1 keep-alive; every POST is answered with BODY after `latency_s`."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                if head.startswith(b"POST"):
                    await asyncio.sleep(latency_s)
                    payload = BODY
                else:
                    payload = b'{"object": "list", "data": [{"id": "bench", "object": "model",' \
                              b' "created": 0, "owned_by": "bench"}]}'
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: " + str(len(payload)).encode() + b"\r\n\r\n"
                             + payload)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def messages(i: int, tag: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "You answer questions about contracts."},
            {"role": "user", "content": f"Question {tag}-{i}: what does clause {i} mean?"}]


PARAMS = {"temperature": 0.7, "max_tokens": 64}


async def bare(base_url: str, model: str, n: int, concurrency: int, tag: str,
               params: dict = PARAMS) -> tuple[float, int]:
    client = openai.AsyncOpenAI(base_url=base_url, api_key="sk-bench", max_retries=0)
    sem = asyncio.Semaphore(concurrency)
    tokens = 0

    async def one(i: int) -> None:
        nonlocal tokens
        async with sem:
            resp = await client.chat.completions.create(model=model, messages=messages(i, tag),
                                                        **params)
            tokens += resp.usage.completion_tokens if resp.usage else 0

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    elapsed = time.perf_counter() - started
    await client.close()
    return elapsed, tokens


async def through_datagen(endpoint: Endpoint, cache_dir: Path, n: int, concurrency: int,
                          tag: str, params: dict = PARAMS,
                          limits: bool = True) -> tuple[float, int]:
    client = LLMClient(endpoint, ResponseCache(cache_dir / f"{tag}.sqlite"),
                       max_concurrency=concurrency, max_retries=2,
                       requests_per_minute=10_000_000 if limits else None,
                       tokens_per_minute=10_000_000_000 if limits else None)
    started = time.perf_counter()
    done = await asyncio.gather(*(client.chat(messages(i, tag), params=params)
                                  for i in range(n)))
    elapsed = time.perf_counter() - started
    await client.aclose()
    assert not any(c.cached for c in done)
    return elapsed, sum(c.completion_tokens for c in done)


def part1(latency_ms: float, levels: list[int], reps: int) -> None:
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(latency_ms)],
                              stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())  # type: ignore[union-attr]
        base_url = f"http://127.0.0.1:{port}/v1"
        endpoint = Endpoint(base_url=base_url, model="gpt-4o-mini", kind="local",
                            identity="bench:loopback", api_key="sk-bench")
        print(f"loopback server, {latency_ms:.0f} ms per request; datagen with cache, gate, "
              "RPM/TPM buckets and cost on")
        print(f"best of {reps} alternating runs per arm; CPU ms/request: the client process's "
              "own CPU time per request (the server runs in another process)")
        print(f"{'concurrency':>11} {'requests':>8} {'bare req/s':>11} {'datagen req/s':>14} "
              f"{'ratio':>6} {'bare cpu ms/req':>16} {'datagen cpu ms/req':>19}")
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(bare(base_url, "gpt-4o-mini", 4, 4, "warm"))  # connections, imports
            count_chat_tokens(messages(0, "warm"), "gpt-4o-mini")  # loads o200k once (~2 s)
            for c in levels:
                n = max(40, 10 * c)
                wall = {"bare": [], "datagen": []}
                cpu = {"bare": [], "datagen": []}
                for rep in range(reps):
                    arms = [("bare", bare, (base_url, "gpt-4o-mini", n, c, f"b{c}.{rep}")),
                            ("datagen", through_datagen,
                             (endpoint, Path(tmp), n, c, f"d{c}.{rep}"))]
                    for name, arm, arm_args in (arms if rep % 2 == 0 else arms[::-1]):
                        cpu0 = time.process_time()
                        wall[name].append(asyncio.run(arm(*arm_args))[0])  # type: ignore[operator]
                        cpu[name].append(time.process_time() - cpu0)
                t_bare, t_dg = min(wall["bare"]), min(wall["datagen"])
                print(f"{c:>11} {n:>8} {n / t_bare:>11.1f} {n / t_dg:>14.1f} "
                      f"{t_bare / t_dg:>6.2f}x {1000 * min(cpu['bare']) / n:>16.2f} "
                      f"{1000 * min(cpu['datagen']) / n:>19.2f}", flush=True)
    finally:
        server.terminate()
        server.wait(10)


def part2(n: int, reps: int) -> None:
    try:
        from datagen.llm import embedded
    except ImportError:
        print("embedded model not installed: tokens/s part skipped")
        return
    params = {"temperature": 0.0, "max_tokens": 48}
    rates: dict[str, list[float]] = {"direct": [], "datagen": []}
    with embedded.embedded_server() as server, tempfile.TemporaryDirectory() as tmp:
        endpoint = Endpoint(base_url=server.base_url, model=embedded.MODEL_ALIAS,
                            kind="embedded", identity="bench:embedded")
        asyncio.run(bare(server.base_url, embedded.MODEL_ALIAS, 1, 1, "warm", params))
        for rep in range(reps):  # alternate, so a busy moment on the machine hits both arms
            arms = [("direct", bare, (server.base_url, embedded.MODEL_ALIAS, n, 2, f"e{rep}",
                                      params)),
                    ("datagen", through_datagen, (endpoint, Path(tmp), n, 2, f"f{rep}", params))]
            for name, arm, arm_args in (arms if rep % 2 == 0 else arms[::-1]):
                seconds, tokens = asyncio.run(arm(*arm_args))  # type: ignore[operator]
                rates[name].append(tokens / seconds)
    best = {k: max(v) for k, v in rates.items()}
    print(f"embedded llama.cpp, {n} requests x {reps} alternating runs per arm (best kept): "
          f"direct {best['direct']:.1f} tok/s, datagen {best['datagen']:.1f} tok/s, "
          f"ratio {best['datagen'] / best['direct']:.2f}x "
          f"(all runs: direct {[round(r, 1) for r in rates['direct']]}, "
          f"datagen {[round(r, 1) for r in rates['datagen']]})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--levels", default="1,16,64,256")
    ap.add_argument("--reps", type=int, default=3, help="alternating runs per arm (best kept)")
    ap.add_argument("--embedded-requests", type=int, default=4)
    ap.add_argument("--no-embedded", action="store_true")
    ap.add_argument("--serve", type=float, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve is not None:
        asyncio.run(serve(args.serve / 1000))
        return
    levels = [int(x) for x in args.levels.split(",") if x]
    if levels:  # --levels "" runs only the embedded part
        part1(args.latency_ms, levels, args.reps)
    if not args.no_embedded:
        part2(args.embedded_requests, args.reps)


if __name__ == "__main__":
    main()
