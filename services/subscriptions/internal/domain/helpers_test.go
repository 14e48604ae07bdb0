package domain

import (
	"fmt"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// date is 00:00 UTC of a calendar day.
func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func eur(minor int64) Money { return Money{Minor: minor, Currency: "EUR"} }

// sub is a one-year CSP software subscription, 2026-01-15 → 2027-01-15, 10 seats at 120.00 EUR,
// bought (and its only lot added) on the first day at 09:00.
func sub() Subscription {
	start := date(2026, 1, 15)
	bought := start.Add(9 * time.Hour)
	return Subscription{
		ID: "sub-1", CustomerID: "cust-1", PartnerID: "partner-1", SkuID: "sku-1", ProductID: "prod-1",
		DisplayName: "Windows Server Standard", Kind: KindSoftwareSubscription,
		State: StateActive, Channel: ChannelCSP, Quantity: 10, MaxQuantity: 100,
		Lots: []SeatLot{{ID: "lot-1", Quantity: 10, AddTime: bought, OrderID: "order-1", UnitPrice: eur(12000)}},
		Plan: PlanMonthly, Term: TermP1Y, TermStart: start, TermEnd: date(2027, 1, 15),
		UnitPrice: eur(12000), Policy: PolicyProratedRefundWindow, WindowDays: 7, OrderID: "order-1",
		PurchaseTime: bought, StateTime: bought, Version: 3, CreateTime: bought, UpdateTime: bought,
	}
}

// seq returns an ID generator ev-1, ev-2, ….
func seq() func() string {
	n := 0
	return func() string { n++; return fmt.Sprintf("ev-%d", n) }
}

// wantErr checks an error's kind, reason and metadata.
func wantErr(t *testing.T, err error, kind errs.Kind, reason errs.Reason, meta map[string]string) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok {
		t.Fatalf("error = %v; want %v / %s", err, kind, reason)
	}
	if e.Kind != kind || e.Reason != reason {
		t.Fatalf("error = %v; want %v / %s", err, kind, reason)
	}
	for k, v := range meta {
		if got := e.Metadata[k]; got != v {
			t.Errorf("metadata %s = %q, want %q (error %v)", k, got, v, err)
		}
	}
}

// wantViolation checks an INVALID_ARGUMENT / INVALID_REQUEST error naming field.
func wantViolation(t *testing.T, err error, field string) {
	t.Helper()
	wantErr(t, err, errs.InvalidArgument, errs.ReasonInvalidRequest, nil)
	e, _ := errs.As(err)
	if len(e.Violations) != 1 || e.Violations[0].Field != field {
		t.Errorf("violations = %+v, want one on %q", e.Violations, field)
	}
}

// types lists the types of events.
func types(evs []Event) []EventType {
	var ts []EventType
	for _, e := range evs {
		ts = append(ts, e.Type)
	}
	return ts
}
