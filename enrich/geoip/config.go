package geoip

import (
	"time"

	"siemfwd/internal/confcheck"
)

// minReloadInterval keeps a typo like "1ms" from turning the file check into
// a busy loop; a database changes at most a few times a week.
const minReloadInterval = time.Second

// Config names the MaxMind-format databases. Both are optional; with
// neither, enrichment is off (Enabled reports false).
type Config struct {
	// CityDB is the path of a GeoLite2-City or GeoIP2-City (.mmdb) database;
	// it fills source.geo.* and destination.geo.*. Empty: no geo fields.
	CityDB string `mapstructure:"city_db"`
	// ASNDB is the path of a GeoLite2-ASN (.mmdb) database; it fills
	// source.as.* and destination.as.*. Empty: no AS fields.
	ASNDB string `mapstructure:"asn_db"`
	// ReloadInterval is how often the files are checked for a change (size,
	// modification time or inode); a changed file is loaded and swapped in
	// without stopping lookups. 0 never checks.
	ReloadInterval time.Duration `mapstructure:"reload_interval"`
}

// DefaultConfig returns the defaults: no databases, checked every minute.
func DefaultConfig() Config {
	return Config{ReloadInterval: time.Minute}
}

// Enabled reports whether at least one database is configured.
func (c Config) Enabled() bool { return c.CityDB != "" || c.ASNDB != "" }

// Validate reports every problem, each with its key. Whether the files exist
// and are databases is checked by New, which opens them.
func (c Config) Validate() error {
	var errs confcheck.Problems
	if c.ReloadInterval < 0 || (c.ReloadInterval > 0 && c.ReloadInterval < minReloadInterval) {
		errs.Add("reload_interval", "must be 0 (never) or at least %s, got %s", minReloadInterval, c.ReloadInterval)
	}
	if c.CityDB != "" && c.CityDB == c.ASNDB {
		errs.Add("asn_db", "must not be the same file as city_db (%q): the two have different layouts", c.CityDB)
	}
	return errs.Err()
}
