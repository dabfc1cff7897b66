"""Serving a LoRA adapter of the embedded model: llama.cpp (the adapter converted to GGUF,
what `datagen eval` uses) against transformers + PEFT, side by side in one run.

    python bench/adapter_serving.py RUN_DIR [--prompts 4] [--tokens 48]

RUN_DIR holds an adapter from `datagen finetune RUN_DIR --local`. Both engines answer the
same validation instructions greedily, one at a time, each on one thread; the table gives
load time and tokens per second, and the ratio.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=48)
    args = parser.parse_args()

    import llama_cpp
    import torch
    from peft import PeftModel

    from datagen.evaluate.candidates import validation_items
    from datagen.finetune.adapter_gguf import write_gguf_adapter
    from datagen.finetune.lora import load_base
    from datagen.finetune.source import training_data
    from datagen.llm import embedded

    torch.set_num_threads(1)
    data = training_data(args.run_dir)
    adapter = data.root / "lora"
    prompts = [[{"role": "user", "content": i.instruction}]
               for i in validation_items(data, args.prompts)]
    results = {}

    started = time.perf_counter()
    gguf = write_gguf_adapter(adapter, embedded.model_path(), data.root / "lora.gguf")
    llm = llama_cpp.Llama(str(embedded.model_path()), lora_path=str(gguf), n_ctx=1024,
                          n_threads=1, verbose=False)
    load = time.perf_counter() - started
    tokens, spent = 0, 0.0
    for p in prompts:
        t = time.perf_counter()
        out = llm.create_chat_completion(p, max_tokens=args.tokens, temperature=0)
        spent += time.perf_counter() - t
        tokens += out["usage"]["completion_tokens"]
    results["llama.cpp + GGUF LoRA"] = (load, tokens / spent)

    started = time.perf_counter()
    model, tokenizer = load_base(None)
    model = PeftModel.from_pretrained(model, str(adapter)).eval()
    load = time.perf_counter() - started
    tokens, spent = 0, 0.0
    for p in prompts:
        ids = tokenizer.apply_chat_template(p, add_generation_prompt=True, return_tensors="pt",
                                            return_dict=True)["input_ids"]
        t = time.perf_counter()
        with torch.no_grad():
            out = model.generate(ids, max_new_tokens=args.tokens, do_sample=False)
        spent += time.perf_counter() - t
        tokens += out.shape[1] - ids.shape[1]
    results["transformers + PEFT"] = (load, tokens / spent)

    print("| engine | load s | tokens/s |\n|---|---|---|")
    for name, (load, rate) in results.items():
        print(f"| {name} | {load:.1f} | {rate:.1f} |")
    fast, slow = results["llama.cpp + GGUF LoRA"][1], results["transformers + PEFT"][1]
    print(f"\nllama.cpp / transformers generation speed: {fast / slow:.1f}x")


if __name__ == "__main__":
    main()
