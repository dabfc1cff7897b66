"""One OpenAI-compatible client for every endpoint, with a response cache in front."""

from datagen.llm.client import LLMClient
from datagen.llm.endpoint import Endpoint, open_endpoint
from datagen.llm.wire import Completion

__all__ = ["Completion", "Endpoint", "LLMClient", "open_endpoint"]
