.PHONY: test test-env

# test runs the test suite: scripts/test.sh prepares the machine, then go vet and go test.
test:
	scripts/test.sh $(ARGS)

# test-env prepares the machine for the tests (Docker engine, Postgres image).
test-env:
	scripts/test-env.sh
