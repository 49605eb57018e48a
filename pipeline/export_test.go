package pipeline

import "siemfwd/pipeline/ledger"

// SilenceAlertForTest builds the alert event for s.
func SilenceAlertForTest(a *SilenceAlerts, s ledger.Sender) (*Event, error) { return a.alert(s) }
