package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
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

// A subscription filter lists that subscription's events only (found through its customer's
// index, migration 005), for any caller that sees them; an unknown subscription is NOT_FOUND.
func TestListEvents_BySubscription(t *testing.T) {
	h := sqliteHarness(t, 0)
	first := h.provision(h.line(customerC, partnerA))
	second := h.provision(h.line(customerC, partnerA))
	h.provision(h.line(customerD, partnerA))
	if _, err := h.app.Suspend(as(partnerA), app.Change{RequestID: h.rid(), SubscriptionID: second.ID}, "paused"); err != nil {
		t.Fatal(err)
	}
	for name, ctx := range map[string]context.Context{"partner": as(partnerA), "customer": asCustomer(customerC), "service": asService()} {
		evs, _, _, err := h.app.ListEvents(ctx, app.EventsInput{SubscriptionID: second.ID})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(evs) != 2 || evs[0].Type != domain.EventCreated || evs[1].Type != domain.EventSuspended {
			t.Errorf("%s: events of %s = %+v, want CREATED, SUSPENDED", name, second.ID, evs)
		}
		for _, e := range evs {
			if e.SubscriptionID != second.ID {
				t.Errorf("%s: event of %s in the list of %s", name, e.SubscriptionID, second.ID)
			}
		}
	}
	// Another customer does not see them; another partner neither.
	if evs, _, _, err := h.app.ListEvents(asCustomer(customerD), app.EventsInput{SubscriptionID: first.ID}); err != nil || len(evs) != 0 {
		t.Errorf("another customer: %d events, %v", len(evs), err)
	}
	if evs, _, _, err := h.app.ListEvents(as(partnerB), app.EventsInput{SubscriptionID: first.ID}); err != nil || len(evs) != 0 {
		t.Errorf("another partner: %d events, %v", len(evs), err)
	}
	_, _, _, err := h.app.ListEvents(as(partnerA), app.EventsInput{SubscriptionID: "0199a7a0-0000-7000-8000-000000000000"})
	wantReason(t, err, errs.NotFound, "")
}

// A service reading the whole feed with a type filter (orders' ledger: billing events only) gets
// the feed's end as its cursor once it has caught up, so its next poll does not scan the events
// the filter left out again; a page that is not the last ends at its last event; a partner's
// cursor never shows the feed's end (how busy the other partners are).
func TestListEvents_CaughtUpServiceCursorSkipsFilteredEvents(t *testing.T) {
	h := sqliteHarness(t, 0)
	for _, c := range []string{customerC, customerD, customerC} {
		h.provision(h.line(c, partnerA)) // three CREATED events
	}
	billing := []domain.EventType{domain.EventRenewed, domain.EventCancelled}
	evs, next, last, err := h.app.ListEvents(asService(), app.EventsInput{Types: billing, PageSize: 10})
	if err != nil || len(evs) != 0 || next != "" || last != 3 {
		t.Fatalf("service, billing types: %d events, next %q, last %d, %v; want none and last 3", len(evs), next, last, err)
	}
	evs, _, last, err = h.app.ListEvents(as(partnerA), app.EventsInput{Types: billing, PageSize: 10})
	if err != nil || len(evs) != 0 || last != 0 {
		t.Fatalf("partner, billing types: %d events, last %d, %v; want none and its own cursor (0)", len(evs), last, err)
	}
	// Not caught up: the cursor is the page's last event, however far the feed goes.
	evs, next, last, err = h.app.ListEvents(asService(), app.EventsInput{PageSize: 2})
	if err != nil || len(evs) != 2 || next == "" || last != evs[1].Sequence {
		t.Fatalf("first page of 2: %d events, next %q, last %d, %v", len(evs), next, last, err)
	}
	// A matching event after the cursor is found and ends the cursor (the feed's end, 4).
	s := h.provision(h.line(customerD, partnerA))
	if _, _, err := h.app.Cancel(as(partnerA), app.Change{RequestID: h.rid(), SubscriptionID: s.ID}, "wrong tenant"); err != nil {
		t.Fatal(err)
	}
	evs, _, last, err = h.app.ListEvents(asService(), app.EventsInput{After: 3, Types: billing, PageSize: 10})
	if err != nil || len(evs) != 1 || evs[0].Type != domain.EventCancelled || last != evs[0].Sequence {
		t.Fatalf("after 3: %v, last %d, %v; want the CANCELLED event", evs, last, err)
	}
}
