"""Exports of the kept records: OpenAI chat JSONL and a Hugging Face dataset folder."""
