package pipeline

import "siemfwd/pipeline/ledger"

// SilenceAlertForTest builds the alert event for s.
func SilenceAlertForTest(a *SilenceAlerts, s ledger.Sender) *Event { return a.alert(s) }
