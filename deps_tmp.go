package main

import (
	_ "github.com/elastic/go-elasticsearch/v8"
	_ "github.com/leodido/go-syslog/v4/rfc3164"
	_ "github.com/leodido/go-syslog/v4/rfc5424"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/prometheus/common/expfmt"
	_ "github.com/segmentio/kafka-go"
	_ "github.com/spf13/viper"
	_ "github.com/stretchr/testify/require"
	_ "go.uber.org/goleak"
	_ "golang.org/x/net/ipv4"
	_ "golang.org/x/sys/unix"
	_ "github.com/twmb/franz-go/pkg/kfake"
	_ "github.com/twmb/franz-go/pkg/kgo"
)

func main() {}
