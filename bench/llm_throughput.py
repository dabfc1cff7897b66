"""LLM client throughput: datagen's client against the clients a team would otherwise use.

Part 1: a loopback OpenAI-compatible server (its own process, asyncio, a fixed latency per
request) gets 2,000 distinct chat requests at concurrency 16, 64 and 256 from each contender,
in one run, alternating their order between repetitions (the best of `--reps` is kept):
- raw: a hand-written asyncio HTTP/1.1 keep-alive client (what the machine can do);
- SDK: `openai.AsyncOpenAI` (httpx) + a semaphore;
- SDK+aiohttp: the same on the SDK's aiohttp transport (`openai.DefaultAioHttpClient()`);
- Curator: bespokelabs-curator, in the interpreter given by `--curator-python` (its pins
  conflict with ours, so it gets a venv of its own), skipped when there is none;
- datagen: `LLMClient` with everything on: the SQLite response cache (every call a miss, so
  every answer is written), the concurrency gate, RPM/TPM token buckets and the budget cap (set
  high enough not to bind, so the bookkeeping is measured, not the limit) and cost accounting.
Prints requests/s per contender, datagen's ratios to the others, its client CPU ms/request
and each contender's version.

Part 2: completion tokens/s through datagen vs direct calls to the embedded llama.cpp server
(skipped with --no-embedded or when it is not installed).

    python bench/llm_throughput.py [--latency-ms 50] [--curator-python /path/to/python]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import openai

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from datagen.llm.cache import ResponseCache  # noqa: E402
from datagen.llm.client import LLMClient  # noqa: E402
from datagen.llm.endpoint import Endpoint  # noqa: E402
from datagen.llm.pricing import price_for  # noqa: E402
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
               params: dict = PARAMS, aiohttp: bool = False) -> tuple[float, int]:
    """The SDK and a semaphore: what a hand-rolled loop over `AsyncOpenAI` does."""
    http = openai.DefaultAioHttpClient() if aiohttp else None
    client = openai.AsyncOpenAI(base_url=base_url, api_key="sk-bench", max_retries=0,
                                http_client=http)
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


async def raw(base_url: str, model: str, n: int, concurrency: int, tag: str) -> tuple[float, int]:
    """A hand-written HTTP/1.1 client: `concurrency` keep-alive connections, each sending the
    next request when its answer is in. The ceiling for any client in Python on this machine."""
    url = urlsplit(base_url)
    path = f"{url.path}/chat/completions".encode()
    todo = iter(range(n))
    tokens = 0

    async def worker() -> None:
        nonlocal tokens
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        try:
            for i in todo:
                body = json.dumps({"model": model, "messages": messages(i, tag),
                                   **PARAMS}).encode()
                writer.write(b"POST " + path + b" HTTP/1.1\r\nHost: bench\r\n"
                             b"Content-Type: application/json\r\nAuthorization: Bearer sk\r\n"
                             b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
                             + body)
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
                answer = json.loads(await reader.readexactly(length))
                tokens += answer["usage"]["completion_tokens"]
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(n, concurrency))))
    return time.perf_counter() - started, tokens


async def through_datagen(endpoint: Endpoint, cache_dir: Path, n: int, concurrency: int,
                          tag: str, params: dict = PARAMS,
                          limits: bool = True) -> tuple[float, int]:
    cache = ResponseCache(cache_dir / f"{tag}.sqlite")
    # Priced as OpenAI's gpt-4o-mini, so every request is costed and held against the cap.
    client = LLMClient(endpoint, cache, max_concurrency=concurrency, max_retries=2,
                       requests_per_minute=10_000_000 if limits else None,
                       tokens_per_minute=10_000_000_000 if limits else None,
                       max_cost_usd=1_000_000.0 if limits else None,
                       price=price_for(endpoint.model, "openai") if limits else None)
    started = time.perf_counter()
    done = await asyncio.gather(*(client.chat(messages(i, tag), params=params)
                                  for i in range(n)))
    elapsed = time.perf_counter() - started
    await client.aclose()
    assert not any(c.cached for c in done) and len(cache) == n
    assert not limits or client.usage.cost_usd > 0
    return elapsed, sum(c.completion_tokens for c in done)


CURATOR_ARM = """
import json, os, sys, time
from bespokelabs import curator

base_url, n, concurrency, tag = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]


class Ask(curator.LLM):
    def prompt(self, row):
        return [{"role": "system", "content": "You answer questions about contracts."},
                {"role": "user", "content": f"Question {tag}-{row['i']}: what does clause "
                 f"{row['i']} mean?"}]

    def parse(self, row, response):
        return {"i": row["i"], "answer": response}


llm = Ask(model_name="gpt-4o-mini", backend="openai",
          generation_params={"temperature": 0.7, "max_tokens": 64},
          backend_params={"base_url": base_url, "api_key": "sk-bench",
                          "max_requests_per_minute": 10_000_000,
                          "max_tokens_per_minute": 10_000_000_000,
                          "max_concurrent_requests": concurrency, "max_retries": 0,
                          "require_all_responses": True})
rows = [{"i": i} for i in range(n)]
from datasets import Dataset
data = Dataset.from_list(rows)
cpu0, t0 = time.process_time(), time.perf_counter()
out = llm(data)
wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
assert len(out.dataset if hasattr(out, "dataset") else out) == n
print(json.dumps({"wall": wall, "cpu": cpu}))
"""


def tiktoken_cache(home: Path) -> Path:
    """A tiktoken cache holding the BPE files `bpe-openai` ships (Curator counts tokens with
    tiktoken, which would download them): offline, hash-checked by tiktoken itself."""
    import gzip
    import hashlib
    import importlib.util

    folder = home / "tiktoken"
    folder.mkdir(parents=True, exist_ok=True)
    spec = importlib.util.find_spec("bpe_openai")
    data = Path(next(iter(spec.submodule_search_locations))) / "data"  # type: ignore[union-attr]
    for name in ("cl100k_base", "o200k_base"):
        url = f"https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
        target = folder / hashlib.sha1(url.encode()).hexdigest()
        if not target.exists():
            target.write_bytes(gzip.decompress((data / f"{name}.tiktoken.gz").read_bytes()))
    return folder


def curator_arm(python: str, base_url: str, n: int, concurrency: int, tag: str,
                home: Path) -> tuple[float, float]:
    """One Curator run in its own interpreter: (wall, CPU) of its `llm(dataset)` call alone,
    imports and start-up excluded."""
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(tiktoken_cache(home)),
           "CURATOR_CACHE_DIR": str(home / tag), "HF_DATASETS_CACHE":
           str(home / "hf"), "CURATOR_DISABLE_RICH_DISPLAY": "1", "HF_HUB_OFFLINE": "1",
           "CURATOR_VIEWER": "0", "TELEMETRY_ENABLED": "false", "CURATOR_DISABLE_CACHE": "1"}
    proc = subprocess.run([python, "-c", CURATOR_ARM, base_url, str(n), str(concurrency), tag],
                          env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"Curator arm failed: {proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return out["wall"], out["cpu"]


def curator_version(python: str | None) -> str | None:
    if not python:
        return None
    proc = subprocess.run([python, "-c", "import importlib.metadata as m; "
                           "print(m.version('bespokelabs-curator'))"],
                          capture_output=True, text=True)
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def versions(curator: str | None) -> str:
    def v(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "-"

    parts = [f"python {platform.python_version()}", f"openai {v('openai')}",
             f"httpx2 {v('httpx2')}", f"aiohttp {v('aiohttp')}", f"datagen {v('datagen')}",
             f"bespokelabs-curator {curator or 'not installed'}"]
    return ", ".join(parts)


def arm(name: str, base_url: str, endpoint: Endpoint, tmp: Path, n: int, c: int, tag: str,
        curator_python: str | None) -> float:
    """One run of one contender: its wall time."""
    model = "gpt-4o-mini"
    if name == "raw":
        return asyncio.run(raw(base_url, model, n, c, "r" + tag))[0]
    if name == "SDK":
        return asyncio.run(bare(base_url, model, n, c, "s" + tag))[0]
    if name == "SDK+aiohttp":
        return asyncio.run(bare(base_url, model, n, c, "a" + tag, aiohttp=True))[0]
    if name == "Curator":
        return curator_arm(curator_python or "", base_url, n, c, "c" + tag, tmp)[0]
    return asyncio.run(through_datagen(endpoint, tmp, n, c, "d" + tag))[0]


def part1(latency_ms: float, levels: list[int], reps: int, n: int,
          curator_python: str | None) -> None:
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(latency_ms)],
                              stdout=subprocess.PIPE, text=True)
    curator = curator_version(curator_python)
    try:
        port = int(server.stdout.readline())  # type: ignore[union-attr]
        base_url = f"http://127.0.0.1:{port}/v1"
        endpoint = Endpoint(base_url=base_url, model="gpt-4o-mini", kind="local",
                            identity="bench:loopback", api_key="sk-bench")
        print(f"loopback server in its own process, {latency_ms:.0f} ms per request, {n} "
              f"distinct requests per run; {os.cpu_count()} CPUs; datagen with cache, gate, "
              "RPM/TPM buckets, budget cap and cost on")
        print(f"versions: {versions(curator)}")
        print(f"req/s, best of {reps} runs per contender (order alternating); CPU ms/req: the "
              "client process's own CPU time per request")
        names = ["raw", "SDK", "SDK+aiohttp"] + (["Curator"] if curator else []) + ["datagen"]
        head = f"| concurrency | ideal | {' | '.join(names)} | datagen CPU ms/req |"
        rows = []
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(bare(base_url, "gpt-4o-mini", 4, 4, "warm"))  # connections, imports
            count_chat_tokens(messages(0, "warm"), "gpt-4o-mini")  # loads o200k once (~2 s)
            for c in levels:
                best: dict[str, float] = {}
                cpu_dg: list[float] = []
                for rep in range(reps):
                    order = names if rep % 2 == 0 else names[::-1]
                    for name in order:
                        cpu0 = time.process_time()
                        wall = arm(name, base_url, endpoint, Path(tmp), n, c, f"{c}.{rep}",
                                   curator_python)
                        if name == "datagen":
                            cpu_dg.append(time.process_time() - cpu0)
                        best[name] = min(best.get(name, float("inf")), wall)
                rate = {k: n / v for k, v in best.items()}
                rows.append((c, rate, 1000 * min(cpu_dg) / n))
                print(f"  C={c}: " + ", ".join(f"{k} {rate[k]:.0f}" for k in names), flush=True)
        ideal = 1000 / latency_ms
        print()
        print(head)
        print("|" + "---|" * (len(names) + 3))
        for c, rate, cpu in rows:
            cells = " | ".join(f"{rate[k]:,.0f}" for k in names)
            print(f"| {c} | {ideal * c:,.0f} | {cells} | {cpu:.2f} |")
        print()
        others = [k for k in names if k != "datagen"]
        print("datagen's ratios: " + "; ".join(
            f"C={c}: " + ", ".join(f"{rate['datagen'] / rate[k]:.2f}x {k}" for k in others)
            for c, rate, _ in rows))
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
    ap.add_argument("--levels", default="16,64,256")
    ap.add_argument("--requests", type=int, default=2000, help="requests per run")
    ap.add_argument("--reps", type=int, default=2, help="alternating runs per arm (best kept)")
    ap.add_argument("--curator-python", default=os.environ.get("CURATOR_PYTHON"),
                    help="a Python with bespokelabs-curator installed ($CURATOR_PYTHON)")
    ap.add_argument("--embedded-requests", type=int, default=4)
    ap.add_argument("--no-embedded", action="store_true")
    ap.add_argument("--serve", type=float, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve is not None:
        asyncio.run(serve(args.serve / 1000))
        return
    levels = [int(x) for x in args.levels.split(",") if x]
    if levels:  # --levels "" runs only the embedded part
        part1(args.latency_ms, levels, args.reps, args.requests, args.curator_python)
    if not args.no_embedded:
        part2(args.embedded_requests, args.reps)


if __name__ == "__main__":
    main()
