// Package configs embeds the default configuration, so `siemfwd run` works
// with no file at all.
package configs

import _ "embed"

// Default is configs/siemfwd.yaml: syslog on UDP and TCP 127.0.0.1:5514, ECS JSON to stdout.
//
//go:embed siemfwd.yaml
var Default []byte
