#!/usr/bin/env bash
# fuzz-smoke.sh - build the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang
# in a separate build directory and run each one for a short while.
#
#   tools/fuzz-smoke.sh                 # every target, 20 s each
#   FUZZ_SECONDS=120 tools/fuzz-smoke.sh fuzz_image
#
# The whole runtime is compiled with -fsanitize=address,fuzzer-no-link so the
# fuzzer sees coverage inside it. Each target starts from a copy of its seed
# corpus (tests/fuzz/corpus/<target>/, if any) in build-fuzz/corpus/<target>/;
# crashing inputs land in build-fuzz/artifacts/. Exit status: non-zero if any
# target found a crash, a leak or a timeout.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-20}
build=${FUZZ_BUILD_DIR:-build-fuzz}
cc=${FUZZ_CC:-clang}

if ! command -v "$cc" >/dev/null; then
    echo "fuzz-smoke: $cc not found (needs clang with libFuzzer, e.g. clang + libclang-rt-dev)" >&2
    exit 2
fi

mkdir -p "$build"
cmake -S . -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSSLAB_NATIVE=OFF \
      -DCMAKE_C_FLAGS="-fsanitize=address,fuzzer-no-link -fno-omit-frame-pointer" >"$build/configure.log" 2>&1 ||
    { cat "$build/configure.log" >&2; exit 2; }

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    targets=()
    for src in tests/fuzz/fuzz_*.c; do targets+=("$(basename "$src" .c)"); done
fi
cmake --build "$build" -j2 --target "${targets[@]}"

mkdir -p "$build/artifacts"
failed=()
for t in "${targets[@]}"; do
    corpus="$build/corpus/$t"
    mkdir -p "$corpus"
    if [ -d "tests/fuzz/corpus/$t" ]; then cp -n "tests/fuzz/corpus/$t"/* "$corpus"/ 2>/dev/null || true; fi
    echo "== $t: ${seconds}s"
    if "$build/tests/fuzz/$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=16384 \
           -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" "$corpus" >"$build/$t.log" 2>&1; then
        grep -E "^(Done|stat::number_of_executed_units)" "$build/$t.log" || true
    else
        echo "!! $t failed; log: $build/$t.log, inputs: $build/artifacts/$t-*" >&2
        tail -30 "$build/$t.log" >&2
        failed+=("$t")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz-smoke: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz-smoke: all ${#targets[@]} targets ran ${seconds}s without findings"
