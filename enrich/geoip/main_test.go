package geoip

import (
	"testing"

	"go.uber.org/goleak"
)

// Run starts a goroutine in the lead's wiring; the tests start it too.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
