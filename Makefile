# The two commands of the README: `make serve` and `make test`. Both create .venv when missing.
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 5006
PYTEST_ARGS ?=

.PHONY: serve test venv sample-data bench clean

venv:
	@bash tools/bootstrap.sh $(VENV)

serve: venv
	$(VENV)/bin/ssb-explorer serve --address $(HOST) --port $(PORT)

# pytest exit code 5 means "no tests were collected": for this project that is a broken test
# command, so it is reported and turned into a failure instead of passing silently.
test: venv
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests (exit 5): failing" >&2; exit 1; fi; \
	exit $$rc

sample-data: venv
	$(PY) -m sample_data

bench: venv
	$(PY) -m benchmarks.run_all

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
