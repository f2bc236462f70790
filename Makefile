# The two commands of the README:
#   make tour   set everything up, then run every lab's headline comparison (results/tour/)
#   make test   set everything up, then run the whole test suite
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup tour test lint docs notebooks handout clean

setup:
	@bash scripts/setup.sh

tour: setup
	@$(VENV)/bin/sysai tour

test: setup
	@echo "==> running the test suite"
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; exit $$rc

lint: setup
	@$(VENV)/bin/ruff check .

# The companion notebooks: jupytext .py files in git, .ipynb made here, opened in JupyterLab.
notebooks: setup
	@$(PY) -m pip install --quiet --disable-pip-version-check -e ".[notebooks]"
	@$(VENV)/bin/jupytext --quiet --update --to ipynb labs/notebooks/*.py
	@$(VENV)/bin/jupyter lab labs/notebooks

docs: setup
	@$(VENV)/bin/mkdocs serve

handout: setup
	@$(VENV)/bin/sysai handout --out handout

clean:
	rm -rf results site handout .pytest_cache
