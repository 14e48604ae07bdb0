package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// fakeConnector counts attempts and fails them with err while err is set.
type fakeConnector struct {
	calls int
	err   error
}

type fakeConn struct{ driver.Conn }

func (f *fakeConnector) Connect(context.Context) (driver.Conn, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	return fakeConn{}, nil
}

func (f *fakeConnector) Driver() driver.Driver { return nil }

// TestConnectGate: after a connection error, attempts within retryAfter fail at once with that
// error (still a connection error: UNAVAILABLE) without trying; the first one after it tries
// again, and a success clears the gate. The caller's own deadline and errors that are not about
// reaching the database do not close it.
func TestConnectGate(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	down := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	f := &fakeConnector{err: down}
	g := newConnectGate(f, 500*time.Millisecond)
	g.now = func() time.Time { return now }

	if _, err := g.Connect(ctx); !errors.Is(err, down) || f.calls != 1 {
		t.Fatalf("first attempt: %v after %d calls; want the connector's error after 1", err, f.calls)
	}
	now = now.Add(100 * time.Millisecond)
	_, err := g.Connect(ctx)
	if f.calls != 1 || !errors.Is(err, down) || !isConnectionError(err) {
		t.Fatalf("attempt 100 ms after a failure: %v after %d calls; want the remembered connection error, no new call", err, f.calls)
	}
	if MapError(err) == err { //nolint:errorlint // the very same value back means MapError did nothing
		t.Errorf("MapError left the remembered error as is; want errs.Unavailable")
	}
	now = now.Add(450 * time.Millisecond)
	f.err = nil
	if c, err := g.Connect(ctx); err != nil || c == nil || f.calls != 2 {
		t.Fatalf("attempt 550 ms after the failure, database back: %v, %v after %d calls; want a connection from a new call", c, err, f.calls)
	}
	if _, err := g.Connect(ctx); err != nil || f.calls != 3 {
		t.Fatalf("attempt after a success: %v after %d calls; want a new call", err, f.calls)
	}

	// The caller's deadline is not the database's failure.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	f.err = &pgconn.ConnectError{}
	if _, err := g.Connect(cctx); err == nil {
		t.Fatal("attempt failing with a cancelled context succeeded")
	}
	f.err = nil
	if _, err := g.Connect(ctx); err != nil || f.calls != 5 {
		t.Fatalf("attempt after one that failed for the caller's cancellation: %v after %d calls; want a new call", err, f.calls)
	}
	// Nor is an error that is not about reaching it (a bad password).
	f.err = &pgconn.PgError{Code: "28P01"}
	_, _ = g.Connect(ctx)
	f.err = nil
	if _, err := g.Connect(ctx); err != nil || f.calls != 7 {
		t.Fatalf("attempt after an authentication failure: %v after %d calls; want a new call", err, f.calls)
	}
}
