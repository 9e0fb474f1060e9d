# Two commands: `make run` and `make test` (see README.md). Everything else is a helper.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# Starts the embedded PostgreSQL and Redis under ./var/ when DATABASE_URL / REDIS_URL are unset.
WITH_SERVICES := $(PY) devtools/embedded.py run --

.PHONY: run test lint format bench messages vendor shell clean browser

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

run: $(VENV)/.installed
	$(WITH_SERVICES) sh -c '$(PY) manage.py bootstrap --demo-users && exec honcho start'

test: $(VENV)/.installed browser
	$(WITH_SERVICES) $(PY) -m pytest $(PYTEST_ARGS)

# The end-to-end tests drive Debian's chromium (never a downloaded browser); CJK fonts so Chinese is not boxes.
browser:
	@dpkg -s chromium fonts-noto-cjk >/dev/null 2>&1 || { \
		echo "installing Debian's chromium and fonts-noto-cjk for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(VENV)/.installed
	$(WITH_SERVICES) $(PY) bench/regions.py
	$(WITH_SERVICES) $(PY) bench/sla.py
	$(WITH_SERVICES) $(PY) bench/intake.py
	$(WITH_SERVICES) $(PY) bench/dispatch_sim.py

# Re-extract translatable strings and compile them (needs GNU gettext; the compiled .mo files are committed).
messages: $(VENV)/.installed
	DJANGO_SECRET_KEY=x DATABASE_URL=postgres:///x REDIS_URL=redis://x FIELD_ENCRYPTION_KEYS=x BLIND_INDEX_KEY=x $(PY) manage.py makemessages -l zh_Hans --ignore=.venv --ignore=var --ignore=static --ignore=bench --ignore=tests
	DJANGO_SECRET_KEY=x DATABASE_URL=postgres:///x REDIS_URL=redis://x FIELD_ENCRYPTION_KEYS=x BLIND_INDEX_KEY=x $(PY) manage.py compilemessages --ignore=.venv

# Front-end assets, fetched from the npm registry at pinned versions and committed under static/vendor/.
vendor:
	sh static/vendor/fetch.sh

shell: $(VENV)/.installed
	$(WITH_SERVICES) $(PY) manage.py shell

clean:
	rm -rf $(VENV) var
