// Package clock gives services their notion of "now". Production uses the real clock; tests and a
// service started with --fake-clock use a Fake that only moves when told to, so the lifecycle
// rules (30/90/120 days, 7-day windows, reminders) can be walked end to end in seconds.
package clock

import (
	"sync"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// Clock tells the time. Every time a service reasons about (terms, windows, token expiry) comes
// from its Clock, always in UTC.
type Clock interface {
	Now() time.Time
}

// Real is the system clock.
type Real struct{}

// Now returns the current UTC time.
func (Real) Now() time.Time { return time.Now().UTC() }

// Fake is a clock that moves only by Set and Advance. It is safe for concurrent use, and one Fake
// may be shared by several services (the devstack does).
type Fake struct {
	mu  sync.RWMutex
	now time.Time
}

// NewFake returns a fake clock at t.
func NewFake(t time.Time) *Fake { return &Fake{now: t.UTC()} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.now
}

// Set moves the clock to t; moving backwards is refused (CLOCK_BACKWARDS), since every rule of
// the suite assumes time only grows (events, leases, reminders sent "once").
func (f *Fake) Set(t time.Time) (time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.Before(f.now) {
		return f.now, errs.New(errs.FailedPrecondition, errs.ReasonClockBackwards,
			"the clock may not move backwards").With("now", f.now.Format(time.RFC3339Nano))
	}
	f.now = t.UTC()
	return f.now, nil
}

// Advance moves the clock forward by d (> 0).
func (f *Fake) Advance(d time.Duration) (time.Time, error) {
	if d <= 0 {
		return f.Now(), errs.Invalid("by", "must be a positive duration")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	return f.now, nil
}
