# The two commands a user needs; both bootstrap .venv from nothing.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml setup.py $(wildcard market/_*.pyx)
	$(BIN)/python -m pip install --quiet -e '.[dev,ray]'
	# QuickFIX, the independent FIX engine of the interoperability tests: a prebuilt wheel in
	# ../shared/wheels when there, else built from PyPI's source (about 10 minutes).
	$(BIN)/python -m pip install --quiet --find-links ../shared/wheels quickfix==1.16.0
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/sorsim run scenarios/default.toml

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/book.py
	$(BIN)/python bench/kernel.py
	$(BIN)/python bench/market.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
