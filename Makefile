# Shindan: `make run` to try it, `make test` to run the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export SHINDAN_DATA_DIR ?= $(CURDIR)/data
PORT ?= 8000
export SHINDAN_BASE_URL ?= http://127.0.0.1:$(PORT)

.PHONY: run test test-sqlite test-postgresql install install-test proto fixtures bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

run: install
	$(BIN)/shindan migrate
	$(BIN)/python -m service.first_run
	$(BIN)/shindan serve --host 127.0.0.1 --port $(PORT)

# The suite runs every server test on SQLite and on PostgreSQL
# (127.0.0.1:5432, database `test`; override with SHINDAN_TEST_POSTGRES).
test: install-test
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-sqlite: install-test
	SHINDAN_TEST_BACKENDS=sqlite $(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-postgresql: install-test
	SHINDAN_TEST_BACKENDS=postgresql $(BIN)/python -m pytest -q $(PYTEST_ARGS)

# Regenerate the protobuf modules after editing a .proto file in service/schema.
proto: install-test
	$(BIN)/python -m grpc_tools.protoc -I service/schema --python_out=service/schema --pyi_out=service/schema service/schema/crash_report.proto service/schema/sessions.proto service/schema/android_tombstone.proto
	sed -i 's/^import crash_report_pb2/from service.schema import crash_report_pb2/' service/schema/crash_report_pb2.py service/schema/crash_report_pb2.pyi

fixtures:
	$(BIN)/python fixtures/build.py

bench: install-test
	$(BIN)/python bench/run.py

lint: install-test
	$(BIN)/python -m mypy service symbolication web

clean:
	rm -rf $(VENV) data
