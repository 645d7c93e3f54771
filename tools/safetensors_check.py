#!/usr/bin/python3
"""safetensors_check.py - cross-check safetensors files written by sslab (run by hand; not part of CI).

    /usr/bin/python3 tools/safetensors_check.py ckpt.safetensors [more.safetensors ...]

For each file:
  1. reads it with a small pure-Python reader that follows the spec
     (https://github.com/huggingface/safetensors) and checks what the Rust
     reference checks: header length, JSON object, known dtypes, sizes, and
     data_offsets tiling the byte buffer with no overlap or hole;
  2. re-serializes what it read the way the Rust writer (and so the Python
     package) does: '__metadata__' first, tensors by dtype alignment then
     name, compact JSON, header padded with spaces to a multiple of 8; and
     compares the bytes with the file (sslab must write exactly these);
  3. if the `safetensors` package and numpy are importable, loads the file with
     safetensors.numpy.load_file and compares every array, and writes the same
     dict with safetensors.numpy.save_file and compares bytes (skipped when the
     metadata has more than one key: the Rust writer keeps it in a HashMap,
     so its order is arbitrary).
Exit status 0 when every file passes. Debian's torch 1.13 cannot read
safetensors, hence the pure-Python reader.
"""
import json
import os
import struct
import sys
import tempfile

# dtype -> (bytes per element, numpy type string); order = the Rust Dtype enum (alignment order)
DTYPES = {
    "BOOL": (1, "?"), "U8": (1, "<u1"), "I8": (1, "<i1"), "F8_E5M2": (1, None), "F8_E4M3": (1, None),
    "I16": (2, "<i2"), "U16": (2, "<u2"), "F16": (2, "<f2"), "BF16": (2, None),
    "I32": (4, "<i4"), "U32": (4, "<u4"), "F32": (4, "<f4"), "F64": (8, "<f8"),
    "I64": (8, "<i8"), "U64": (8, "<u8"),
}
RANK = {name: i for i, name in enumerate(DTYPES)}
MAX_HEADER = 100_000_000


class Bad(Exception):
    pass


def _no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise Bad(f"duplicate key {k!r}")
        d[k] = v
    return d


def read(path):
    """(metadata dict or None, {name: (dtype, shape, bytes)}) with full validation."""
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 8:
        raise Bad(f"file is {len(buf)} bytes, shorter than 8")
    (n,) = struct.unpack("<Q", buf[:8])
    if n > MAX_HEADER:
        raise Bad(f"header length {n} too large")
    if 8 + n > len(buf):
        raise Bad(f"header length {n} beyond the file ({len(buf)} bytes)")
    text = buf[8:8 + n].decode("utf-8")
    if not text.startswith("{"):
        raise Bad("header does not start with '{'")
    header = json.loads(text, object_pairs_hook=_no_duplicates)
    data = buf[8 + n:]
    meta = header.pop("__metadata__", None)
    if meta is not None and not (isinstance(meta, dict) and all(isinstance(v, str) for v in meta.values())):
        raise Bad("__metadata__ must map strings to strings")
    tensors, spans = {}, []
    for name, info in header.items():
        dtype, shape, (b, e) = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in DTYPES:
            raise Bad(f"tensor {name!r}: unknown dtype {dtype}")
        if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape):
            raise Bad(f"tensor {name!r}: bad shape {shape}")
        numel = 1
        for s in shape:
            numel *= s
        if not (isinstance(b, int) and isinstance(e, int) and 0 <= b <= e <= len(data)):
            raise Bad(f"tensor {name!r}: bad data_offsets [{b},{e}]")
        if e - b != numel * DTYPES[dtype][0]:
            raise Bad(f"tensor {name!r}: data_offsets [{b},{e}] but shape {shape} {dtype} needs {numel * DTYPES[dtype][0]} bytes")
        tensors[name] = (dtype, list(shape), data[b:e])
        spans.append((b, e, name))
    pos = 0
    for b, e, name in sorted(spans):
        if b != pos:
            raise Bad(f"tensor {name!r}: {'overlap' if b < pos else 'hole'} at byte {min(b, pos)}")
        pos = e
    if pos != len(data):
        raise Bad(f"bytes [{pos},{len(data)}) belong to no tensor")
    return meta, tensors


def serialize(meta, tensors):
    """The bytes the Rust writer produces (metadata keys sorted, as sslab writes them)."""
    order = sorted(tensors, key=lambda k: (-RANK[tensors[k][0]], k.encode("utf-8")))
    header, offset = {}, 0
    if meta is not None:
        header["__metadata__"] = dict(sorted(meta.items(), key=lambda kv: kv[0].encode("utf-8")))
    for name in order:
        dtype, shape, raw = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(tensors[name][2] for name in order)


def check_with_package(path, meta, tensors):
    try:
        import numpy as np
        from safetensors.numpy import load_file, save_file
    except ImportError:
        print("  (safetensors/numpy not importable: package cross-check skipped)")
        return True
    ok = True
    loaded = load_file(path)
    arrays = {}
    for name, (dtype, shape, raw) in tensors.items():
        arr = np.frombuffer(raw, dtype=DTYPES[dtype][1]).reshape(shape)
        arrays[name] = arr
        if name not in loaded or loaded[name].shape != arr.shape or loaded[name].tobytes() != raw:
            print(f"  MISMATCH with safetensors.numpy.load_file for {name!r}")
            ok = False
    if meta is None or len(meta) <= 1:
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "ref.safetensors")
            save_file(arrays, out, metadata=meta)
            with open(out, "rb") as f, open(path, "rb") as g:
                if f.read() != g.read():
                    print("  MISMATCH: safetensors.numpy.save_file writes different bytes")
                    ok = False
                else:
                    print("  byte-identical to safetensors.numpy.save_file")
    return ok


def main(paths):
    if not paths:
        print(__doc__)
        return 2
    failed = 0
    for path in paths:
        print(path)
        try:
            meta, tensors = read(path)
        except (Bad, ValueError, KeyError, TypeError, OSError) as e:
            print(f"  INVALID: {e}")
            failed += 1
            continue
        for name, (dtype, shape, _) in tensors.items():
            print(f"  {name!r}: {dtype} {shape}")
        if meta:
            print(f"  metadata: {meta}")
        with open(path, "rb") as f:
            same = f.read() == serialize(meta, tensors)
        print("  layout matches the reference writer" if same else "  MISMATCH: layout differs from the reference writer")
        ok = same and check_with_package(path, meta, tensors)
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
