# The two commands: `make run` and `make test`. Everything else is set up on the way.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed

NODE_TOOLS := tests/a11y/node_modules/.package-lock.json

.PHONY: run test bench lint format browser ldap-build-deps identity-servers test-servers clean

# Debian packages, as root or through sudo: $(call apt,PACKAGES)
apt = if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1) >/dev/null; \
  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1) >/dev/null; fi

# python-ldap (for LDAP sign-in) has no wheel on PyPI: it builds against OpenLDAP's and SASL's headers.
ldap-build-deps:
	@test -f /usr/include/ldap.h -a -f /usr/include/sasl/sasl.h || { $(call apt,libldap2-dev libsasl2-dev gcc); }

$(STAMP): requirements.txt | ldap-build-deps
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

run: $(STAMP)
	mkdir -p var
	DEBUG=$${DEBUG:-1} $(PY) manage.py console_run

# Debian's Chromium for the browser tests (Playwright cannot download browsers here).
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; }

# The identity servers the single sign-on tests start: Debian's slapd (its own config in a temporary
# directory, never the system instance) and the npm package oidc-provider, pinned in tests/oidc/.
identity-servers:
	@test -x /usr/sbin/slapd -a -x /usr/bin/ldapsearch || { $(call apt,slapd ldap-utils); }
	@command -v npm >/dev/null || { $(call apt,nodejs npm); }

# Other servers the tests start on free loopback ports: Debian's redis-server (the shared cache).
test-servers:
	@test -x /usr/bin/redis-server || { $(call apt,redis-server); }

tests/oidc/node_modules/.installed: tests/oidc/package-lock.json | identity-servers
	npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error
	touch $@

# Node test tools (axe-core for tests/test_a11y.py), pinned by tests/a11y/package-lock.json.
$(NODE_TOOLS): tests/a11y/package.json tests/a11y/package-lock.json | identity-servers
	cd tests/a11y && npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_TOOLS)

test: $(STAMP) browser identity-servers test-servers tests/oidc/node_modules/.installed $(NODE_TOOLS)
	$(PY) -m ruff check .
	$(PY) -m pytest -n 2

bench: $(STAMP)
	$(PY) bench/run.py

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache tests/oidc/node_modules tests/a11y/node_modules
