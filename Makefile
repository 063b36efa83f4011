# The pipeline's front door. Every target creates .venv and installs the project when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TRAINER := $(VENV)/fasttext-train/.installed
DATA ?= data
CONFIG ?= configs/wukong.yaml
QUERIES ?= $(DATA)/queries.txt
WARC ?=
PARTITIONS ?= 1
MANIFESTS ?= $(DATA)/release/manifests/*.parquet
OUT ?= $(DATA)/downloaded
PYTEST_ARGS ?=
PYTEST_WORKERS ?= 2
export RAY_AUTH_MODE := disabled
export WANDB_MODE := disabled
export NO_ALBUMENTATIONS_UPDATE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: sensitive-model help demo test crawl crawl-warc filter shard download takedown report bench lint venv

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# fastText's training build for filters.sensitive_train, in its own folder: it installs a module named `fasttext`,
# as the runtime's predict-only fasttext-predict does, so it is never on the project's import path
$(TRAINER): $(STAMP)
	$(BIN)/pip install --quiet --no-deps --target $(VENV)/fasttext-train fasttext-wheel==0.9.2
	touch $(TRAINER)

venv: $(STAMP) $(TRAINER) ## create .venv and install the project (when missing, or pyproject.toml changed)

sensitive-model: $(TRAINER) ## retrain filters/data/sensitive_model.ftz from the labelled sets
	$(BIN)/python -m filters.sensitive_train

demo: $(STAMP) ## whole pipeline on the bundled offline demo web -> $(DATA)/demo
	$(BIN)/python -m wukong.demo_pipeline --data-dir $(DATA)/demo

test: $(STAMP) $(TRAINER) ## the whole test suite (PYTEST_WORKERS=2 pytest-xdist workers, a file at a time each)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

crawl: $(STAMP) ## crawl $(QUERIES) with the search spider into $(DATA)/candidates
	$(BIN)/wukong crawl --spider search --queries $(QUERIES) --config $(CONFIG) --out $(DATA)/candidates

crawl-warc: $(STAMP) ## read web archives into $(DATA)/candidates: WARC='files, globs, URLs or .paths.gz' [PARTITIONS=N]
	@test -n "$(WARC)" || { echo "make crawl-warc: give WARC='...' (files, globs, URLs or a .paths.gz listing)" >&2; exit 2; }
	$(BIN)/wukong crawl --spider warc --warc $(WARC) --partitions $(PARTITIONS) --config $(CONFIG) --out $(DATA)/candidates

filter: $(STAMP) ## filter $(DATA)/candidates into $(DATA)/filtered
	$(BIN)/wukong filter --in $(DATA)/candidates --out $(DATA)/filtered --config $(CONFIG)

shard: $(STAMP) ## write the release $(DATA)/release from $(DATA)/filtered
	$(BIN)/wukong shard --in $(DATA)/filtered --out $(DATA)/release

download: $(STAMP) ## fetch a released dataset: MANIFESTS='glob' OUT=dir
	$(BIN)/wukong download --manifests '$(MANIFESTS)' --out $(OUT)

takedown: $(STAMP) ## a release without the pairs a file lists: RELEASE=dir REMOVE=file OUT=new-dir
	@test -n "$(RELEASE)" -a -n "$(REMOVE)" -a "$(origin OUT)" = "command line" \
		|| { echo "usage: make takedown RELEASE=dir REMOVE=file OUT=new-dir" >&2; exit 2; }
	$(BIN)/wukong takedown '$(RELEASE)' --remove '$(REMOVE)' --out '$(OUT)'

report: $(STAMP) ## $(DATA)/report.html from whatever stages exist
	$(BIN)/wukong report --data-dir $(DATA)

bench: $(STAMP) $(TRAINER) ## benchmarks (slow; results appended to BENCHMARKS.md)
	$(BIN)/python -m bench.run_all

lint: $(STAMP) ## ruff
	$(BIN)/ruff check .
