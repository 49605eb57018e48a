// Package testservice hands tests the addresses of the real Kafka broker and
// Elasticsearch node that scripts/testenv starts. Without them a test skips
// with how to start them; under `make test`, which starts them and sets
// SIEMFWD_TEST_REQUIRE_SERVICES, a missing address fails the test instead,
// so CI can never pass by skipping. Only tests import it.
package testservice

import (
	"os"
	"strings"
	"testing"
)

// Kafka returns the test broker's addresses (SIEMFWD_TEST_KAFKA).
func Kafka(t testing.TB) []string {
	t.Helper()
	return strings.Split(address(t, "SIEMFWD_TEST_KAFKA", "kafka"), ",")
}

// Elasticsearch returns the test node's URL (SIEMFWD_TEST_ES).
func Elasticsearch(t testing.TB) string {
	t.Helper()
	return address(t, "SIEMFWD_TEST_ES", "es")
}

func address(t testing.TB, env, service string) string {
	t.Helper()
	addr := os.Getenv(env)
	if addr != "" {
		return addr
	}
	how := env + " is not set: run `make test`, or start the service with `scripts/testenv/up " + service +
		"` and `eval \"$(scripts/testenv/env)\"`"
	if os.Getenv("SIEMFWD_TEST_REQUIRE_SERVICES") != "" {
		t.Fatal(how)
	}
	t.Skip(how)
	return ""
}
