package process

import (
	"siemfwd/pipeline"
	"siemfwd/pipeline/ledger"
)

// SilenceAlertForTest builds the alert event for s.
func SilenceAlertForTest(a *SilenceAlerts, s ledger.Sender) (*pipeline.Event, error) {
	return a.alert(s)
}

// PoisonReleased tells whether released JSON blocks are overwritten (under
// the race detector).
const PoisonReleased = poisonReleased
