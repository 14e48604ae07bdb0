package ledger

import (
	"errors"
	"testing"
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
