"""The one LLM client: every call curate makes to a model goes through ``LLMClient``."""

from curate.llm.client import LLMClient
from curate.llm.limits import Price
from curate.llm.types import (ChatRequest, ChatResult, EndpointConfig, LimitsConfig, Usage, endpoint_identity, is_loopback,
                              public_url, request_hash)

__all__ = ["ChatRequest", "ChatResult", "EndpointConfig", "LLMClient", "LimitsConfig", "Price", "Usage",
           "endpoint_identity", "is_loopback", "public_url", "request_hash"]
