package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// corpusLine is what loadgen needs of one labelled line of the Kerio corpora
// in testdata/kerio (docs/kerio.md §6.6): its log label, its syslog format when the
// line is already syslog-wrapped ("" for a bare Kerio line), and the text.
type corpusLine struct {
	Log    string `json:"log"`
	Format string `json:"format"`
	Raw    string `json:"raw"`
}

// readCorpus reads the jsonl files and keeps the lines labelled log, or all
// of them when log is empty. A load test replays exactly these lines, so a
// line that cannot be read is an error rather than skipped.
func readCorpus(paths []string, log string) ([]corpusLine, error) {
	var lines []corpusLine
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for n := 1; sc.Scan(); n++ {
			var l corpusLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				f.Close()
				return nil, fmt.Errorf("%s:%d: %w", path, n, err)
			}
			if strings.Contains(l.Raw, "\n") {
				f.Close()
				return nil, fmt.Errorf("%s:%d: a line with a newline cannot be sent with LF framing", path, n)
			}
			if log == "" || l.Log == log {
				lines = append(lines, l)
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("no corpus lines labelled %q in %v", log, paths)
	}
	return lines, nil
}

// corpusMessages builds n messages by cycling through lines in order. A
// syslog-wrapped line is sent as it is; a bare Kerio line gets the header
// the generator writes (cfg's format and hostname, the sequence number, a
// time a few ms after the last, mail.info priority), with its log's name as APP-NAME
// ("connect.mail" → "mail", as Kerio names its logs; "unknown" for the
// foreign lines) unless cfg.App names one for every line.
func corpusMessages(cfg genConfig, lines []corpusLine, n int) (*messages, error) {
	g, err := newGenerator(cfg)
	if err != nil {
		return nil, err
	}
	size := 0
	for _, l := range lines {
		size += len(l.Raw)
	}
	m := newMessages(n, size/len(lines)+80)
	ts := cfg.Start.UTC()
	for seq := range n {
		l := lines[seq%len(lines)]
		if l.Format == "" {
			ts = ts.Add(time.Duration(g.rng.IntN(4000)) * time.Microsecond)
			_, app, ok := strings.Cut(l.Log, ".")
			if !ok {
				app = l.Log
			}
			m.buf = g.appendHeader(m.buf, variant{app: app, pri: priInfo}, seq, ts)
		}
		m.buf = append(m.buf, l.Raw...)
		m.ends = append(m.ends, len(m.buf))
	}
	return m, nil
}
