package ledger

import "github.com/prometheus/client_golang/prometheus"

// Register adds the ledger's metrics to reg. They are computed when
// scraped, from the ledger's own counters, so the hot path pays nothing for
// them. Per-sender numbers stay out of Prometheus (an address is not a
// bounded label); they are served by the admin /senders endpoint.
func (l *Ledger) Register(reg prometheus.Registerer) error {
	if l == nil {
		return nil
	}
	cs := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "siemfwd_ledger_senders",
			Help: "Senders the loss ledger tracks, expected ones included.",
		}, func() float64 { return float64(l.Len()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "siemfwd_ledger_capacity_senders",
			Help: "Most senders the loss ledger tracks besides the expected ones (ledger.max_senders).",
		}, func() float64 { return float64(l.maxSenders) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "siemfwd_ledger_evictions_total",
			Help: "Senders forgotten by the loss ledger to stay within ledger.max_senders.",
		}, func() float64 { return float64(l.Evictions()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "siemfwd_ledger_quiet_senders",
			Help: "Senders silent for longer than their expected interval.",
		}, func() float64 { return float64(l.Quiet()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "siemfwd_ledger_silence_alerts_total",
			Help: "Silence alerts raised for senders that went quiet.",
		}, func() float64 { return float64(l.Alerts()) }),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
