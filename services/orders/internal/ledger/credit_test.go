package ledger

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestPerpetualCancellationCredit(t *testing.T) {
	line := testLine()
	line.Term, line.Plan, line.SubscriptionID = TermPerpetual, PlanOneTime, ""
	tests := []struct {
		name, cancel, month string
	}{
		{"31 Jan 23:59:59 → February invoice", "2025-01-31T23:59:59Z", "2025-02"},
		{"1 Feb 00:00:00 → March invoice", "2025-02-01T00:00:00Z", "2025-03"},
		{"December → next year's January", "2025-12-20T08:00:00Z", "2026-01"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := PerpetualCancellationCredit(line, eur(59997), ts(tc.cancel), ts(tc.cancel))
			if err != nil {
				t.Fatal(err)
			}
			if e.InvoiceMonth.String() != tc.month || e.Amount != eur(-59997) || e.Kind != KindCredit {
				t.Errorf("got %s %s %s", e.InvoiceMonth, e.Amount, e.Kind)
			}
			if e.Key.String() != "order-cancellation/o1/l1" {
				t.Errorf("key %s", e.Key)
			}
		})
	}
	if _, err := PerpetualCancellationCredit(testLine(), eur(1), ts("2025-01-01T00:00:00Z"), ts("2025-01-01T00:00:00Z")); err == nil {
		t.Error("subscription line: want an error")
	}
	if _, err := PerpetualCancellationCredit(line, eur(-1), ts("2025-01-01T00:00:00Z"), ts("2025-01-01T00:00:00Z")); err == nil {
		t.Error("negative charged amount: want an error")
	}
}

func TestEntryFromEvent(t *testing.T) {
	base := SubscriptionEvent{
		EventID: "e1", PartnerID: "p1", CustomerID: "c1", SubscriptionID: "s1",
		Time: ts("2025-03-31T23:59:59Z"), Term: TermP1Y, Plan: PlanAnnual, Quantity: 2,
	}
	tests := []struct {
		name     string
		typ      EventType
		amount   int64
		partner  string
		wantOK   bool
		wantKind Kind
		wantErr  bool
	}{
		{"renewal charge", EventRenewed, 24000, "p1", true, KindCharge, false},
		{"Open renewal bills nothing (BI-1)", EventRenewed, 0, "p1", false, 0, false},
		{"reactivation charge", EventReactivated, 100, "p1", true, KindCharge, false},
		{"seats added", EventQuantityChanged, 500, "p1", true, KindCharge, false},
		{"seats removed → refund", EventQuantityChanged, -500, "p1", true, KindRefund, false},
		{"SU-10 prorated refund → credit", EventCancelled, -1973, "p1", true, KindCredit, false},
		{"compensation: zero refund", EventCancelled, 0, "p1", false, 0, false},
		{"SU-15 penalty", EventPenalty, 2500, "p1", true, KindPenalty, false},
		{"directly bought: no partner", EventRenewed, 100, "", false, 0, false},
		{"positive refund refused", EventCancelled, 1973, "p1", false, 0, true},
		{"negative penalty refused", EventPenalty, -1, "p1", false, 0, true},
		{"negative renewal refused", EventRenewed, -1, "p1", false, 0, true},
		{"non-billing type", EventUnspecified, 1, "p1", false, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := base
			ev.Type, ev.Amount, ev.PartnerID = tc.typ, eur(tc.amount), tc.partner
			e, ok, err := EntryFromEvent(ev, ts("2025-04-01T00:00:05Z"))
			if (err != nil) != tc.wantErr || ok != tc.wantOK {
				t.Fatalf("ok %v err %v", ok, err)
			}
			if !ok {
				return
			}
			if e.Kind != tc.wantKind || e.Amount != eur(tc.amount) {
				t.Errorf("kind %s amount %s", e.Kind, e.Amount)
			}
			// Event month, not the recording month: a charge on 31 Mar 23:59:59 stays on March; a
			// credit or refund goes on the next monthly invoice, April (BI-3).
			want := "2025-03"
			if tc.wantKind == KindCredit || tc.wantKind == KindRefund {
				want = "2025-04"
			}
			if e.InvoiceMonth.String() != want {
				t.Errorf("month %s, want %s", e.InvoiceMonth, want)
			}
			if e.Key.String() != "subscription-event/e1" {
				t.Errorf("key %s", e.Key)
			}
		})
	}
	ev := base
	ev.Type, ev.Amount, ev.EventID = EventRenewed, eur(1), ""
	if _, _, err := EntryFromEvent(ev, ts("2025-04-01T00:00:00Z")); !errors.Is(err, ErrInvalidSource) {
		t.Errorf("no event ID: err %v", err)
	}
}

// BI-2: a renewal under a plan of several installments books every installment of the renewed
// term, as a purchase does, from the term's price: they sum to it exactly, each on the invoice of
// the month it starts in, keyed (event, n) after the first (the event's own key), so a replayed
// event adds nothing. Without a term price (an event written before it existed), or with one
// installment, the renewal is amount_due alone.
func TestEntriesFromEvent_BI2_RenewalBooksEveryInstallment(t *testing.T) {
	ev := SubscriptionEvent{EventID: "e1", Type: EventRenewed, PartnerID: "p1", CustomerID: "c1", SubscriptionID: "s1",
		Time: ts("2026-01-31T00:00:04Z"), Term: TermP1Y, Plan: PlanMonthly, Quantity: 3,
		Amount: eur(10000), TermAmount: eur(120005),
		PeriodStart: ts("2026-01-31T00:00:00Z"), PeriodEnd: ts("2026-02-28T00:00:00Z")}
	es, err := EntriesFromEvent(ev, ts("2026-01-31T00:00:05Z"))
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 12 {
		t.Fatalf("%d entries, want 12", len(es))
	}
	var sum int64
	for i, e := range es {
		sum += e.Amount.Minor
		wantKey := "subscription-event/e1"
		if i > 0 {
			wantKey = fmt.Sprintf("subscription-event/e1/%d", i+1)
		}
		if e.Key.String() != wantKey || e.Kind != KindCharge || e.Amount.Currency != "EUR" {
			t.Errorf("entry %d: key %s kind %s amount %s", i+1, e.Key, e.Kind, e.Amount)
		}
		if want := MonthOf(time.Date(2026, time.Month(1+i), 1, 0, 0, 0, 0, time.UTC)).String(); e.InvoiceMonth.String() != want {
			t.Errorf("entry %d on %s, want %s", i+1, e.InvoiceMonth, want)
		}
	}
	if sum != 120005 || es[0].Amount != eur(10001) || es[11].Amount != eur(10000) {
		t.Errorf("installments sum to %d (first %s, last %s), want 1,200.05 with the remainder first", sum, es[0].Amount, es[11].Amount)
	}
	// The day clamps to the month's end, as for a purchase: 31 Jan, 28 Feb, 31 Mar, …
	if es[1].ServicePeriodStart != ts("2026-02-28T00:00:00Z") || es[2].ServicePeriodStart != ts("2026-03-31T00:00:00Z") ||
		es[11].ServicePeriodEnd != ts("2027-01-31T00:00:00Z") || es[0].InvoiceMonth.String() != "2026-01" {
		t.Errorf("periods: %s, %s, …, %s; first on %s", es[1].ServicePeriodStart, es[2].ServicePeriodStart,
			es[11].ServicePeriodEnd, es[0].InvoiceMonth)
	}

	old := ev
	old.TermAmount = Money{}
	if es, err := EntriesFromEvent(old, ev.Time); err != nil || len(es) != 1 || es[0].Amount != eur(10000) {
		t.Errorf("without a term price: %v, %v; want amount_due alone", es, err)
	}
	annual := ev
	annual.Plan, annual.Amount, annual.PeriodEnd = PlanAnnual, eur(120005), ts("2027-01-31T00:00:00Z")
	if es, err := EntriesFromEvent(annual, ev.Time); err != nil || len(es) != 1 || es[0].Amount != eur(120005) {
		t.Errorf("annual plan: %v, %v; want one entry", es, err)
	}
	open := ev
	open.Amount, open.TermAmount = Money{}, Money{}
	if es, err := EntriesFromEvent(open, ev.Time); err != nil || len(es) != 0 {
		t.Errorf("Open renewal (BI-1): %v, %v; want nothing", es, err)
	}
	other := ev
	other.TermAmount = Money{Minor: 120005, Currency: "USD"}
	if _, err := EntriesFromEvent(other, ev.Time); err == nil {
		t.Error("term price in another currency: want an error")
	}
}
