# The two commands of the README:
#   make tour   set everything up, then run every lab's headline comparison (results/tour/)
#   make test   set everything up, then run the whole test suite
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup tour test docs handout clean

setup:
	@bash scripts/setup.sh

tour: setup
	@$(VENV)/bin/sysai tour

test: setup
	@echo "==> running the test suite"
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; exit $$rc

docs: setup
	@$(VENV)/bin/mkdocs serve

handout: setup
	@$(VENV)/bin/sysai handout --out handout

clean:
	rm -rf results site handout .pytest_cache
