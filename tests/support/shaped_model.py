"""A Code Llama-shaped GGUF with random weights, for timing (its output is noise).

Same vocabulary and FIM tokens as the test models (tests/support/gguf_models.py), with the
layer sizes of a real model: `small` runs a benchmark in minutes on 2 CPU cores,
`1.3b` matches the 1.3B Code Llama-shaped Q4_0 model the project's targets name.
Never committed: generated on demand into a cache folder.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.gguf_models import add_codellama_tokenizer, codellama_vocab


@dataclass(frozen=True)
class Shape:
    n_embd: int
    n_layer: int
    n_ff: int
    n_head: int


SHAPES = {
    "small": Shape(n_embd=512, n_layer=6, n_ff=1408, n_head=8),
    "medium": Shape(n_embd=1024, n_layer=12, n_ff=2816, n_head=16),
    "1.3b": Shape(n_embd=2048, n_layer=24, n_ff=5504, n_head=16),
    # Code Llama 7B's layers: for a GPU machine (benchmarks/gpu_session.sh), too slow for 2 CPU cores.
    "7b": Shape(n_embd=4096, n_layer=32, n_ff=11008, n_head=32),
}


def _weight(rng: np.random.Generator, rows: int, cols: int, quantize: bool) -> np.ndarray:
    data = rng.standard_normal((rows, cols), dtype=np.float32) * (cols**-0.5)
    if quantize:
        return gguf.quants.quantize(data, gguf.GGMLQuantizationType.Q4_0)
    return data.astype(np.float16)


def write(path: Path, shape: Shape, quantize: bool = True, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    n_vocab = len(codellama_vocab(True)[0])
    kind = gguf.GGMLQuantizationType.Q4_0 if quantize else gguf.GGMLQuantizationType.F16
    writer = gguf.GGUFWriter(str(path), arch="llama")
    writer.add_name(f"CodeLlama-shaped {shape.n_embd}x{shape.n_layer} random")
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_0 if quantize else gguf.LlamaFileType.MOSTLY_F16)
    writer.add_vocab_size(n_vocab)
    writer.add_context_length(16384)
    writer.add_embedding_length(shape.n_embd)
    writer.add_block_count(shape.n_layer)
    writer.add_feed_forward_length(shape.n_ff)
    writer.add_head_count(shape.n_head)
    writer.add_head_count_kv(shape.n_head)
    writer.add_rope_dimension_count(shape.n_embd // shape.n_head)
    writer.add_rope_freq_base(1_000_000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    add_codellama_tokenizer(writer)

    ones = np.ones(shape.n_embd, dtype=np.float32)
    e, f = shape.n_embd, shape.n_ff

    def add(name: str, rows: int, cols: int) -> None:
        data = _weight(rng, rows, cols, quantize)
        writer.add_tensor(name, data, raw_dtype=kind if quantize else None)

    add("token_embd.weight", n_vocab, e)
    for layer in range(shape.n_layer):
        writer.add_tensor(f"blk.{layer}.attn_norm.weight", ones)
        for part in ("q", "k", "v", "output"):
            add(f"blk.{layer}.attn_{part}.weight", e, e)
        writer.add_tensor(f"blk.{layer}.ffn_norm.weight", ones)
        add(f"blk.{layer}.ffn_gate.weight", f, e)
        add(f"blk.{layer}.ffn_up.weight", f, e)
        add(f"blk.{layer}.ffn_down.weight", e, f)
    writer.add_tensor("output_norm.weight", ones)
    add("output.weight", n_vocab, e)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def cached(shape_name: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"codellama-shaped-{shape_name}-q4_0.gguf"
    if not path.is_file():
        print(f"generating {path} (random weights) ...", file=sys.stderr)
        partial = path.with_suffix(".partial")
        write(partial, SHAPES[shape_name])
        partial.rename(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shape", choices=sorted(SHAPES))
    parser.add_argument("output", type=Path)
    args = parser.parse_args()
    print(write(args.output, SHAPES[args.shape]))


if __name__ == "__main__":
    main()
