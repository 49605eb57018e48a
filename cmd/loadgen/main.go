// Command loadgen sends Kerio Connect style syslog messages to a receiver on
// this machine, for end-to-end load tests of siemfwd and its peers.
//
// Messages are generated before the timed phase so that the sender costs as
// little CPU as possible: on a 2-core machine it competes with the receiver.
// At the end it prints one summary line of key=value pairs that the scripts in
// scripts/bench parse (start_unix_ns marks the first send).
//
//	go run ./cmd/loadgen -proto tcp -addr 127.0.0.1:5514 -format rfc5424 -framing lf -n 2000000
//	go run ./cmd/loadgen -proto udp -rate 100000 -n 2000000
//	go run ./cmd/loadgen -proto tcp -conns 6 -senders 6 -n 1000000   # six sender addresses
//	go run ./cmd/loadgen -print -n 10
//	go run ./cmd/loadgen -proto tcp -corpus testdata/kerio/dev.jsonl -corpus-log connect.security -n 1000000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
		}
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	proto    string
	addr     string
	format   string
	framing  string
	n        int
	rate     int
	conns    int
	senders  int
	hostname string
	app      string
	seed     uint64
	print    bool
	corpus   string
	log      string
}

// parseFlags parses args into options and checks them.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.proto, "proto", "udp", "transport: udp or tcp")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:5514", "receiver address (keep it on this machine)")
	fs.StringVar(&o.format, "format", formatRFC5424, "syslog format: rfc5424 or rfc3164")
	fs.StringVar(&o.framing, "framing", framingLF, "TCP framing and -print framing: lf or octet (RFC 6587 octet counting)")
	fs.IntVar(&o.n, "n", 2_000_000, "number of messages")
	fs.IntVar(&o.rate, "rate", 100_000, "UDP only: paced rate in messages/s; 0 = as fast as possible (TCP is never paced)")
	fs.IntVar(&o.conns, "conns", 1, "TCP only: connections in parallel, each sending a contiguous share")
	fs.IntVar(&o.senders, "senders", 1, "TCP only: connection i comes from 127.0.0.(1 + i%senders), so a receiver keyed by sender address sees that many senders; 1 = the system's choice")
	fs.StringVar(&o.hostname, "hostname", "mail01.contoso.example", "syslog HOSTNAME")
	fs.StringVar(&o.app, "app", "", "syslog APP-NAME / TAG of every line; empty = each line's Kerio log (security, audit)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed for generated values; equal seeds give equal messages")
	fs.BoolVar(&o.print, "print", false, "write the framed messages to stdout instead of sending them")
	fs.StringVar(&o.corpus, "corpus", "", "comma-separated labelled jsonl corpora (testdata/kerio) to replay, cycling through their lines, instead of generated messages")
	fs.StringVar(&o.log, "corpus-log", "", "with -corpus: only the lines labelled this log (e.g. connect.security); empty = all")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var errs []error
	if o.proto != "udp" && o.proto != "tcp" {
		errs = append(errs, fmt.Errorf("-proto: want udp or tcp, got %q", o.proto))
	}
	if o.framing != framingLF && o.framing != framingOctet {
		errs = append(errs, fmt.Errorf("-framing: want %s or %s, got %q", framingLF, framingOctet, o.framing))
	}
	if o.n <= 0 {
		errs = append(errs, fmt.Errorf("-n: must be > 0, got %d", o.n))
	}
	if o.rate < 0 {
		errs = append(errs, fmt.Errorf("-rate: must be >= 0, got %d", o.rate))
	}
	if o.conns < 1 {
		errs = append(errs, fmt.Errorf("-conns: must be >= 1, got %d", o.conns))
	}
	if o.senders < 1 || o.senders > o.conns || o.senders > 254 {
		errs = append(errs, fmt.Errorf("-senders: must be between 1 and -conns (at most 254), got %d", o.senders))
	}
	if o.log != "" && o.corpus == "" {
		errs = append(errs, errors.New("-corpus-log needs -corpus"))
	}
	return o, errors.Join(errs...)
}

// messagesFor generates the messages or builds them from the corpus.
func messagesFor(o options) (*messages, error) {
	cfg := genConfig{
		Format:   o.format,
		Hostname: o.hostname,
		App:      o.app,
		Seed:     o.seed,
		Start:    time.Now().Truncate(time.Second),
	}
	if o.corpus == "" {
		return generate(cfg, o.n)
	}
	lines, err := readCorpus(strings.Split(o.corpus, ","), o.log)
	if err != nil {
		return nil, err
	}
	return corpusMessages(cfg, lines, o.n)
}

// run generates the messages, then prints or sends them and reports.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	msgs, err := messagesFor(o)
	if err != nil {
		return err
	}
	if o.print {
		return writeFramed(stdout, msgs, 0, msgs.Len(), o.framing)
	}

	var res result
	switch o.proto {
	case "tcp":
		res, err = sendTCP(ctx, o.addr, msgs, o.framing, o.conns, o.senders)
	default:
		res, err = sendUDP(ctx, o.addr, msgs, o.rate)
	}
	elapsed := res.end.Sub(res.start)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(res.sent) / elapsed.Seconds()
	}
	fmt.Fprintf(stdout, "loadgen: proto=%s format=%s framing=%s conns=%d target_rate=%d sent=%d bytes=%d elapsed=%s rate=%.0f start_unix_ns=%d end_unix_ns=%d\n",
		o.proto, o.format, o.framing, o.conns, o.rate, res.sent, res.bytes,
		elapsed.Round(time.Millisecond), rate, res.start.UnixNano(), res.end.UnixNano())
	return err
}
