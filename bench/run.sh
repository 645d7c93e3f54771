#!/bin/sh
# bench/run.sh BUILD_DIR - build and run every benchmark (make bench).
# Benchmarks compare sslab with OpenBLAS and with PyTorch (Debian's
# python3-torch, run by /usr/bin/python3) on the same thread count.
set -e
build=${1:-build}
threads=${SSLAB_BENCH_THREADS:-$(nproc)}
targets=$(sed -n 's/^add_executable(\(bench_[a-z0-9_]*\).*/\1/p' bench/CMakeLists.txt)
cmake --build "$build" -j "$(nproc)" --target $targets
for t in $targets; do
    echo "== $t"
    "$build/bench/$t" "$threads"
done
for py in bench/*.py; do
    [ -f "$py" ] || continue
    echo "== $py"
    if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
        /usr/bin/python3 "$py" "$build" "$threads"
    else
        echo "skipped: PyTorch not importable by /usr/bin/python3 (apt-get install python3-torch)"
    fi
done
