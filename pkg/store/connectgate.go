package store

import (
	"context"
	"database/sql/driver"
	"fmt"
	"sync"
	"time"
)

// pgRetryConnectAfter is how long after a failed attempt to open a PostgreSQL connection the
// next one is made: attempts in between fail at once with the same error (connectGate).
const pgRetryConnectAfter = 500 * time.Millisecond

// connectGate wraps the driver's connector so that requests fail fast while the database cannot
// be reached. After an attempt to open a connection fails with a connection error (no answer
// within the connect timeout, refused, name not found: isConnectionError), every attempt in the
// next retryAfter fails at once with that error, which the repositories map to UNAVAILABLE,
// instead of each request waiting out its own connect timeout (2 s); the first attempt after
// the pause tries the database again, so a database that is back is used again within
// retryAfter. A failure caused by the caller's own cancellation or deadline says nothing about
// the database and is not remembered. Connections already open are not affected.
type connectGate struct {
	driver.Connector
	retryAfter time.Duration
	now        func() time.Time

	mu      sync.Mutex
	failed  time.Time // when the last attempt failed, if lastErr is set
	lastErr error
}

func newConnectGate(c driver.Connector, retryAfter time.Duration) *connectGate {
	return &connectGate{Connector: c, retryAfter: retryAfter, now: time.Now}
}

// Connect implements driver.Connector.
func (g *connectGate) Connect(ctx context.Context) (driver.Conn, error) {
	g.mu.Lock()
	if g.lastErr != nil {
		if since := g.now().Sub(g.failed); since < g.retryAfter {
			err := g.lastErr
			g.mu.Unlock()
			return nil, fmt.Errorf("%w (the last attempt to connect failed %v ago; next in %v)", err,
				since.Round(time.Millisecond), (g.retryAfter - since).Round(time.Millisecond))
		}
	}
	g.mu.Unlock()
	c, err := g.Connector.Connect(ctx)
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case err == nil:
		g.lastErr = nil
	case ctx.Err() == nil && isConnectionError(err):
		g.failed, g.lastErr = g.now(), err
	}
	return c, err
}
