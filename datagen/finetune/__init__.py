"""Fine-tuning on a finished run: OpenAI fine-tuning jobs (`jobs`), a local LoRA adapter on
CPU (`lora`, extra `train`), and ready-to-run recipes for open-weights trainers (`recipes`).

Each reads the run folder through `source` and records what it did in the run folder's
`finetune/` (kept across generations) and in the current manifest's `finetune` section.
"""
