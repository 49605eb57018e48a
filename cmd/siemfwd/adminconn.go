package main

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"slices"
	"sync"
)

// connGuard bounds the admin listener's open connections. When the bound
// is reached, a new connection takes the place of the oldest one that is
// not being answered: one that has not sent a whole request yet, or sits
// idle between requests. Clients that open connections and send nothing,
// or send slowly, therefore cannot lock a health probe out: the probe's
// request arrives at once and is answered before it could be evicted. Only
// when every connection is being answered does Accept wait for one to end.
type connGuard struct {
	net.Listener
	max    int
	freed  chan struct{} // a token when a connection closed
	closed chan struct{} // closed by Close

	mu   sync.Mutex
	open []*guardedConn // in accept order; guarded by mu
	once sync.Once
}

func newConnGuard(ln net.Listener, max int) *connGuard {
	return &connGuard{Listener: ln, max: max, freed: make(chan struct{}, 1), closed: make(chan struct{})}
}

// Accept returns the next connection, making room for it as above.
func (g *connGuard) Accept() (net.Conn, error) {
	c, err := g.Listener.Accept()
	if err != nil {
		return nil, err
	}
	gc := &guardedConn{Conn: c, guard: g}
	for {
		g.mu.Lock()
		if len(g.open) < g.max {
			g.open = append(g.open, gc)
			g.mu.Unlock()
			return gc, nil
		}
		i := slices.IndexFunc(g.open, func(o *guardedConn) bool { return !o.busy })
		var victim *guardedConn
		if i >= 0 {
			victim = g.open[i]
		}
		g.mu.Unlock()
		if victim != nil {
			victim.Close() // removes it from open
			continue
		}
		select {
		case <-g.freed:
		case <-g.closed:
			c.Close()
			return nil, net.ErrClosed
		}
	}
}

// Close stops accepting; connections already open stay to the server.
func (g *connGuard) Close() error {
	g.once.Do(func() { close(g.closed) })
	return g.Listener.Close()
}

func (g *connGuard) remove(gc *guardedConn) {
	g.mu.Lock()
	if i := slices.Index(g.open, gc); i >= 0 {
		g.open = slices.Delete(g.open, i, i+1)
	}
	g.mu.Unlock()
	select {
	case g.freed <- struct{}{}:
	default:
	}
}

// guardedConn is one connection of a connGuard.
type guardedConn struct {
	net.Conn
	guard *connGuard
	busy  bool // a handler is answering a request on it; guarded by guard.mu
	once  sync.Once
}

func (c *guardedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.guard.remove(c) })
	return err
}

func (c *guardedConn) setBusy(busy bool) {
	c.guard.mu.Lock()
	c.busy = busy
	c.guard.mu.Unlock()
}

// connKey is the context key of the request's *guardedConn.
type connKey struct{}

// withConn is the server's ConnContext: it lets markBusy find the connection.
func withConn(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if gc, ok := c.(*guardedConn); ok {
		return context.WithValue(ctx, connKey{}, gc)
	}
	return ctx
}

// markBusy keeps a connection from being evicted while next answers on it.
func markBusy(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gc, ok := r.Context().Value(connKey{}).(*guardedConn); ok {
			gc.setBusy(true)
			defer gc.setBusy(false)
		}
		next.ServeHTTP(w, r)
		// Send the answer before the connection may be evicted again.
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	})
}
