package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/services/subscriptions/internal/app"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
)

// WatchEvents sends what is stored, then what is appended, without gaps or repeats: at once for
// events of its own instance, within the poll interval for those of another instance sharing the
// database; a partner sees only its own (as partner of record), a customer its tenant's.
func TestWatchEvents_OwnAndOtherInstance(t *testing.T) {
	h := sqliteHarness(t, 0)
	other := app.New(h.store, h.clock, fakeRels{}, fakeCatalog{}, app.Options{}) // a second replica
	first := h.provision(h.line(customerC, partnerA))

	ctx, cancel := context.WithTimeout(as(partnerA), 10*time.Second)
	defer cancel()
	got := make(chan domain.Event, 16)
	done := make(chan error, 1)
	go func() {
		done <- h.app.WatchEvents(ctx, app.EventsInput{}, 50*time.Millisecond, func(e domain.Event) error {
			got <- e
			return nil
		})
	}()
	next := func() domain.Event {
		t.Helper()
		select {
		case e := <-got:
			return e
		case <-time.After(5 * time.Second):
			t.Fatal("no event within 5 s")
			return domain.Event{}
		}
	}
	if e := next(); e.SubscriptionID != first.ID || e.Type != domain.EventCreated {
		t.Fatalf("stored event %+v", e)
	}
	// Another partner's subscription is not this partner's event.
	h.provision(h.line(customerC, partnerB))
	// Appended by the second replica: seen through the poll.
	in := h.line(customerD, partnerA)
	v, _, err := other.Provision(asSaga(partnerA), in)
	if err != nil {
		t.Fatal(err)
	}
	e := next()
	if e.SubscriptionID != v.Sub.ID || e.PartnerID != partnerA {
		t.Fatalf("event of the other instance %+v, want CREATED of %s", e, v.Sub.ID)
	}
	// Appended by this instance: sent at once, after the previous one.
	if _, err := h.app.Suspend(as(partnerA), app.Change{RequestID: h.rid(), SubscriptionID: first.ID}, "paused"); err != nil {
		t.Fatal(err)
	}
	s := next()
	if s.Type != domain.EventSuspended || s.Sequence <= e.Sequence {
		t.Fatalf("event %+v after sequence %d", s, e.Sequence)
	}
	select {
	case extra := <-got:
		t.Errorf("unexpected event %+v (another partner's, or a repeat)", extra)
	case <-time.After(200 * time.Millisecond):
	}
	cancel()
	if err := <-done; err != nil && ctx.Err() == nil {
		t.Errorf("WatchEvents: %v", err)
	}
}
