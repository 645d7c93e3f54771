# Thin wrapper over CMake. `make run` and `make test` install missing Debian
# packages (as root), configure, build, then run the main job or the tests.
DEB_PACKAGES := build-essential cmake pkg-config liblua5.4-dev lua5.4 libopenblas-dev libopenblas-openmp-dev \
                libpng-dev libjpeg62-turbo-dev zlib1g-dev lua-unit libreadline-dev libcairo2-dev
BUILD   ?= build
JOBS    ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build run test test-asan bench clean install

all: build

deps:
	@sh tools/install-deps.sh $(DEB_PACKAGES)

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# The main job (see README): MoCo v2 at its 2-core preset, on Fashion-MNIST when
# Debian's package is there (installed when root), else on the built-in synthetic set.
RUN_ARGS ?=
run: build
	@sh tools/install-deps.sh --optional dataset-fashion-mnist
	./$(BUILD)/sslab recipes/mocov2.lua --preset small $(RUN_ARGS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The same suite under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSSLAB_SANITIZE=ON
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	  ctest --output-on-failure -j $(JOBS) -LE slow

bench: build
	@sh tools/install-deps.sh --optional python3-torch
	sh bench/run.sh $(BUILD)

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) build-asan
