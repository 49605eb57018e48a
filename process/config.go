package process

import (
	"siemfwd/enrich/geoip"
	"siemfwd/enrich/mailflow"
	"siemfwd/internal/confcheck"
)

// Config is what the documents hold: the processor's keys of the pipeline
// section (the engine's keys sit beside them, in pipeline.Config).
type Config struct {
	// KeepOriginal puts the raw message into event.original.
	KeepOriginal bool `mapstructure:"keep_original"`
	// Namespace is data_stream.namespace (Elasticsearch data stream naming).
	Namespace string `mapstructure:"namespace"`
	// Enrich turns on enrichment steps.
	Enrich EnrichConfig `mapstructure:"enrich"`
}

// EnrichConfig configures the optional enrichment steps.
type EnrichConfig struct {
	// GeoIP adds source/destination geo and AS fields from MaxMind databases.
	GeoIP geoip.Config `mapstructure:"geoip"`
	// MailFlow emits one summary event per Kerio Connect message.
	MailFlow mailflow.Config `mapstructure:"mail_flow"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{KeepOriginal: true, Namespace: "default",
		Enrich: EnrichConfig{GeoIP: geoip.DefaultConfig(), MailFlow: mailflow.DefaultConfig()}}
}

// Validate reports every problem, each with its key.
func (c Config) Validate() error {
	var errs confcheck.Problems
	if !validNamespace(c.Namespace) {
		errs.Add("namespace", "must be 1-100 lower-case characters without \\/*?\"<>| ,# or '-', got %q", c.Namespace)
	}
	errs.Under("enrich.geoip", c.Enrich.GeoIP.Validate())
	errs.Under("enrich.mail_flow", c.Enrich.MailFlow.Validate())
	return errs.Err()
}

func validNamespace(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			return false
		case r == '\\' || r == '/' || r == '*' || r == '?' || r == '"' || r == '<' || r == '>' || r == '|' || r == ' ' || r == ',' || r == '#' || r == '-':
			return false
		}
	}
	return true
}
