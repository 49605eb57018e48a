package mailflow

import (
	"testing"

	"go.uber.org/goleak"
)

// The concurrency test starts goroutines.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
