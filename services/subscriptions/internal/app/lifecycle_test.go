package app_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/testkit"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/app"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
)

func noAutoRenew(in *app.ProvisionInput) { in.AutoRenew = false }

// A subscription without autorenew walks active → expired → disabled → deleted on the service
// clock, each step at its exact instant and recorded once, however often the engine runs (SU-2).
func TestLifecycle_SU2_ExpiredDisabledDeleted(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn, 0)
		s := h.provision(h.line(customerC, partnerA, noAutoRenew))
		end := s.TermEnd
		if want := day(2027, 3, 2); !end.Equal(want) {
			t.Fatalf("term end %s, want %s (P1Y from 2026-03-02)", end, want)
		}
		steps := []struct {
			at   time.Time
			want domain.State
		}{
			{end.Add(-time.Second), domain.StateActive},
			{end, domain.StateExpired},
			{end.AddDate(0, 0, 29), domain.StateExpired},
			{end.AddDate(0, 0, 30).Add(-time.Second), domain.StateExpired},
			{end.AddDate(0, 0, 30), domain.StateDisabled},
			{end.AddDate(0, 0, 119), domain.StateDisabled},
			{end.AddDate(0, 0, 120).Add(-time.Second), domain.StateDisabled},
			{end.AddDate(0, 0, 120), domain.StateDeleted},
			{end.AddDate(0, 0, 121), domain.StateDeleted},
		}
		for _, st := range steps {
			h.advanceTo(st.at)
			h.advanceTo(st.at) // a second sweep at the same instant changes nothing
			if got := h.get(s.ID).State; got != st.want {
				t.Errorf("at end%+v: state %s, want %s", st.at.Sub(end), got, st.want)
			}
		}
		for _, typ := range []domain.EventType{domain.EventExpired, domain.EventDisabled, domain.EventDeleted} {
			if n := len(h.eventsOf(s.ID, typ)); n != 1 {
				t.Errorf("%d %s events, want 1", n, typ)
			}
		}
	})
}

// Reactivated before deletion, the subscription keeps its data and starts a new term today with
// the amount due; it never reaches DELETED (SU-2).
func TestLifecycle_SU2_ReactivateBeforeDeletion(t *testing.T) {
	h := sqliteHarness(t, 0)
	s := h.provision(h.line(customerC, partnerA, noAutoRenew))
	h.advanceTo(s.TermEnd.AddDate(0, 0, 45)) // disabled
	v, due, err := h.app.Reactivate(as(partnerA), app.Change{RequestID: h.rid(), SubscriptionID: s.ID})
	if err != nil {
		t.Fatal(err)
	}
	today := domain.Day(h.clock.Now())
	if v.Sub.State != domain.StateActive || !v.Sub.TermStart.Equal(today) || !v.Sub.TermEnd.Equal(domain.AddTerm(today, domain.TermP1Y)) {
		t.Errorf("reactivated: %s term %s–%s, want ACTIVE from %s", v.Sub.State, v.Sub.TermStart, v.Sub.TermEnd, today)
	}
	if want := (domain.Money{Minor: 10000, Currency: "EUR"}); due != want { // 10 × 120.00 / 12 months
		t.Errorf("amount due %v, want %v", due, want)
	}
	h.advanceTo(s.TermEnd.AddDate(0, 0, 121))
	if got := h.get(s.ID).State; got != domain.StateActive {
		t.Errorf("after the old deletion date: %s, want ACTIVE", got)
	}
	if n := len(h.eventsOf(s.ID, domain.EventDeleted)); n != 0 {
		t.Errorf("%d DELETED events after reactivation", n)
	}
}

// Renewal reminders reach the partner of record 60, 30, 7 and 1 day before expiry, once each,
// with the engine running every hour (SU-3); autorenew then starts the next term with the first
// monthly charge due (SU-9).
func TestLifecycle_SU3_RemindersOnce_SU9_AutoRenew(t *testing.T) {
	h := sqliteHarness(t, 0)
	s := h.provision(h.line(customerC, partnerA))
	for at := s.TermEnd.AddDate(0, 0, -61); !at.After(s.TermEnd.Add(2 * time.Hour)); at = at.Add(time.Hour) {
		h.advanceTo(at)
	}
	var days []int32
	for _, e := range h.eventsOf(s.ID, domain.EventRenewalReminder) {
		days = append(days, e.RenewalReminder.DaysBeforeExpiry)
		if e.PartnerID != partnerA {
			t.Errorf("reminder to %q, want the partner of record", e.PartnerID)
		}
	}
	if !slices.Equal(days, []int32{60, 30, 7, 1}) {
		t.Errorf("reminders %v, want [60 30 7 1] once each", days)
	}
	renewed := h.eventsOf(s.ID, domain.EventRenewed)
	if len(renewed) != 1 {
		t.Fatalf("%d RENEWED events, want 1", len(renewed))
	}
	r := renewed[0].Renewed
	if r.Kind != domain.RenewalAuto || !r.TermStart.Equal(s.TermEnd) || !r.TermEnd.Equal(domain.AddTerm(s.TermEnd, domain.TermP1Y)) ||
		r.AmountDue != (domain.Money{Minor: 10000, Currency: "EUR"}) {
		t.Errorf("RENEWED %+v, want AUTO_RENEW from %s with 100.00 EUR due", r, s.TermEnd)
	}
}

// Two engine instances on one PostgreSQL sweep the same due subscriptions concurrently: every
// transition and every reminder is recorded exactly once (issue 5, the lifecycle engine).
func TestLifecycle_TwoEnginesOnePostgres_ExactlyOnce(t *testing.T) {
	dsn := testkit.StartPostgres(t)
	h1 := newHarness(t, dsn, 1000)
	h2 := newHarness(t, dsn, 1000)
	h2.clock = h1.clock
	h2.app = app.New(h2.store, h1.clock, fakeRels{}, fakeCatalog{}, app.Options{TenantLimit: 1000})
	const n = 300
	var ids []string
	for i := range n {
		in := h1.line(customerC, partnerA, noAutoRenew)
		if i%2 == 0 {
			in.CustomerID = customerD
		}
		ids = append(ids, h1.provision(in).ID)
	}
	end := h1.get(ids[0]).TermEnd
	for _, at := range []time.Time{end.AddDate(0, 0, -60), end.AddDate(0, 0, -1), end, end.AddDate(0, 0, 30), end.AddDate(0, 0, 120)} {
		if _, err := h1.clock.Set(at); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for _, a := range []*app.App{h1.app, h2.app, h1.app, h2.app} {
			wg.Go(func() {
				if _, err := a.Sweep(context.Background(), 50); err != nil {
					t.Errorf("Sweep: %v", err)
				}
			})
		}
		wg.Wait()
	}
	count := map[domain.EventType]int{}
	perSub := map[string]int{} // subscription, type and reminder day
	for _, e := range h1.events() {
		count[e.Type]++
		key := e.SubscriptionID + " " + string(e.Type)
		if e.RenewalReminder != nil {
			key += " " + strconv.Itoa(int(e.RenewalReminder.DaysBeforeExpiry))
		}
		perSub[key]++
	}
	for _, typ := range []domain.EventType{domain.EventExpired, domain.EventDisabled, domain.EventDeleted} {
		if count[typ] != n {
			t.Errorf("%d %s events, want %d", count[typ], typ, n)
		}
	}
	// 60 days before: the 60-day reminder; a day before: the 30-, 7- and 1-day ones, late but
	// still before expiry.
	if count[domain.EventRenewalReminder] != 4*n {
		t.Errorf("%d reminders, want %d", count[domain.EventRenewalReminder], 4*n)
	}
	for k, c := range perSub {
		if c > 1 {
			t.Errorf("%s recorded %d times", k, c)
		}
	}
}
