# The two quick-start commands: `make serve` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The lock (README, Dependencies): every package of the project venv at an exact version with
# its hashes; .ci/tools.txt is the same for the venvs of `make audit` and `make lock`.
LOCK   := constraints.txt
TOOLS  := .ci/tools.txt
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml $(wildcard $(LOCK)) | cksum | cut -d' ' -f1)
AUDIT_VENV := .venv-audit
AUDIT_STAMP := $(AUDIT_VENV)/.installed-$(shell cksum < $(TOOLS) | cut -d' ' -f1)
LOCK_VENV := .venv-lock
LOCK_STAMP := $(LOCK_VENV)/.installed-$(shell cksum < $(TOOLS) | cut -d' ' -f1)
# `make lock LOCK_FLAGS=--upgrade` moves every pin to the newest release that pyproject.toml
# allows, `LOCK_FLAGS='-P flask'` one package; plain `make lock` keeps the pins it can.
LOCK_FLAGS ?=
# A new venv's own pip is too old to check hashes given in a constraints file: each venv first
# gets the exact pip of its lock, which then checks every other file against the lock's hashes.
pip_pin = $(shell grep -m1 -o '^pip==[^ ]*' $(1))

.PHONY: serve test lint install clean bench bench-quick browser-deps audit lock

# The project's own venv, exactly the lock: pip and the build backend first, then every locked
# package, then the project itself (editable, offline); `pip check` fails if the lock lacks a
# requirement. A changed pyproject.toml or lock reinstalls.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet '$(call pip_pin,$(LOCK))'
	$(BIN)/python -m pip install --quiet -c $(LOCK) setuptools wheel
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/kb serve

lint: $(STAMP)
	$(BIN)/ruff check .

# The browser tests drive Debian's headless Chromium; without a CJK font pages render as boxes.
# The handouts' tests need Pango (WeasyPrint) and LibreOffice (the .docx rendered to pictures).
browser-deps:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing chromium and fonts-noto-cjk for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else \
	    echo "The browser tests need Debian's chromium and a CJK font: sudo apt-get install chromium fonts-noto-cjk" >&2; \
	    exit 1; \
	  fi; \
	fi
	@# Handouts: WeasyPrint (PDF) needs Pango; the .docx pictures need LibreOffice (soffice).
	@if ! ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so.0' || ! ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0' \
	    || ! command -v soffice >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing libpango-1.0-0, libpangoft2-1.0-0 and libreoffice-writer-nogui for the handouts"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 libreoffice-writer-nogui >/dev/null; \
	  else \
	    echo "Handouts need Pango and LibreOffice: sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0 libreoffice-writer-nogui" >&2; \
	    exit 1; \
	  fi; \
	fi

test: $(STAMP) browser-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m bench

bench-quick: $(STAMP)
	$(BIN)/python -m bench --quick --workdir .bench-quick --json .bench-quick/result.json

# Known vulnerabilities in the project venv's installed packages (pip-audit, from its own venv,
# against PyPI's advisory records); accepted exceptions are in .ci/audit-exceptions.txt.
# `make audit AUDIT_STRICT=1` also fails when a package could not be audited.
$(AUDIT_STAMP): $(TOOLS)
	$(PYTHON) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/python -m pip install --quiet '$(call pip_pin,$(TOOLS))'
	$(AUDIT_VENV)/bin/python -m pip install --quiet -c $(TOOLS) pip-audit
	rm -f $(AUDIT_VENV)/.installed-*
	touch $(AUDIT_STAMP)

audit: $(STAMP) $(AUDIT_STAMP)
	$(AUDIT_VENV)/bin/python .ci/audit.py --python $(BIN)/python \
	  --exceptions .ci/audit-exceptions.txt $(if $(AUDIT_STRICT),--strict)

# Regenerate both locks with pip-tools (from pyproject.toml + .ci/installer.in, and .ci/tools.in).
$(LOCK_STAMP): $(TOOLS)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet '$(call pip_pin,$(TOOLS))'
	$(LOCK_VENV)/bin/python -m pip install --quiet -c $(TOOLS) pip-tools
	rm -f $(LOCK_VENV)/.installed-*
	touch $(LOCK_STAMP)

COMPILE = CUSTOM_COMPILE_COMMAND='make lock' $(LOCK_VENV)/bin/pip-compile --quiet --allow-unsafe \
	--strip-extras --generate-hashes --no-emit-find-links $(LOCK_FLAGS)

lock: $(LOCK_STAMP)
	$(COMPILE) -o $(TOOLS) .ci/tools.in
	$(COMPILE) --extra test --extra bench -o $(LOCK) pyproject.toml .ci/installer.in

clean:
	rm -rf $(VENV) $(AUDIT_VENV) $(LOCK_VENV) data .pytest_cache
