package domain

import (
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// OR-3: [purchase, purchase + 30 × 24 h), to the second.
func TestPlanCancel_PerpetualWindowBoundary_OR3(t *testing.T) {
	end := t0.Add(30 * 24 * time.Hour)
	tests := []struct {
		name   string
		now    time.Time
		reason errs.Reason
	}{
		{"at purchase", t0, ""},
		{"end - 1s", end.Add(-time.Second), ""},
		{"at end", end, ReasonCancellationWindowClosed},
		{"end + 1s", end.Add(time.Second), ReasonCancellationWindowClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := completedOrder(perpetualLine("l1"))
			p, err := PlanCancel(o, nil, tt.now)
			if got := errs.ReasonOf(err); got != tt.reason {
				t.Fatalf("reason %q, want %q (%v)", got, tt.reason, err)
			}
			if err != nil {
				e, _ := errs.As(err)
				if e.Kind != errs.FailedPrecondition || e.Metadata["window_end"] != "2026-03-31T10:00:00Z" || e.Metadata["line_id"] != "l1" {
					t.Fatalf("error %v", err)
				}
				return
			}
			if len(p.Lines) != 1 || p.Lines[0].Route != RoutePerpetualCredit || p.Lines[0].Credit != eur(-100000) {
				t.Fatalf("plan %+v, want 100 %% credit -100000", p)
			}
			if !p.ExpectedCompleteAt.Equal(tt.now.Add(15 * time.Minute)) {
				t.Fatalf("expected complete %v", p.ExpectedCompleteAt)
			}
		})
	}
}

func TestPlanCancel_Refusals(t *testing.T) {
	tests := []struct {
		name   string
		order  Order
		lines  []string
		kind   errs.Kind
		reason errs.Reason
	}{
		{"software plan never (CA-10)", completedOrder(planLine_("l1")), nil, errs.FailedPrecondition, ReasonNotCancellable},
		{"unknown line", completedOrder(perpetualLine("l1")), []string{"nope"}, errs.InvalidArgument, ReasonInvalidRequest},
		{"order provisioning", func() Order { o := completedOrder(perpetualLine("l1")); o.State = OrderProvisioning; return o }(),
			nil, errs.FailedPrecondition, ReasonOrderNotCancellable},
		{"order failed", func() Order { o := completedOrder(perpetualLine("l1")); o.State = OrderFailed; return o }(),
			[]string{"l1"}, errs.FailedPrecondition, ReasonOrderNotCancellable},
		{"all or nothing: one bad line refuses the call", completedOrder(perpetualLine("l1"), planLine_("l2")),
			nil, errs.FailedPrecondition, ReasonNotCancellable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := PlanCancel(tt.order, tt.lines, t0.Add(time.Hour))
			if errs.KindOf(err) != tt.kind || errs.ReasonOf(err) != tt.reason {
				t.Fatalf("got %v, want %v %v", err, tt.kind, tt.reason)
			}
		})
	}
}

// SU-10 lines are routed to subscriptions whatever the time: it owns the window.
func TestPlanCancel_SubscriptionLineRoutedToSubscriptions_SU10(t *testing.T) {
	o := completedOrder(onlineLine("l1"))
	p, err := PlanCancel(o, []string{"l1"}, t0.Add(400*24*time.Hour))
	if err != nil || len(p.Lines) != 1 || p.Lines[0].Route != RouteViaSubscriptions {
		t.Fatalf("plan %+v, err %v", p, err)
	}
}

// OR-4: CANCELLING until every service reports, then CANCELLED / PARTIALLY_CANCELLED.
func TestCancel_PendingUntilEveryServiceApplied_OR4(t *testing.T) {
	o := completedOrder(perpetualLine("l1"), onlineLine("l2"))
	now := t0.Add(24 * time.Hour)
	p, err := PlanCancel(o, []string{"l1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	c := ApplyCancel(o, p, "wrong product", now)
	if c.State != OrderCancelling || !c.CancellationPending || c.Lines[0].State != LineCancelling || c.Lines[1].State != LineProvisioned {
		t.Fatalf("after apply: %s pending=%v lines %s %s", c.State, c.CancellationPending, c.Lines[0].State, c.Lines[1].State)
	}
	if o.State != OrderCompleted || o.Lines[0].Cancellation != nil {
		t.Fatal("ApplyCancel modified its input")
	}
	for i, svc := range []Service{ServiceKeys, ServiceSubscriptions, ServiceLedger} {
		if c.State != OrderCancelling {
			t.Fatalf("step %d: state %s before every service applied", i, c.State)
		}
		if c, err = CancellationApplied(c, "l1", svc, eur(-1), now); err != nil {
			t.Fatal(err)
		}
		again, err := CancellationApplied(c, "l1", svc, eur(-1), now)
		if err != nil || again.Version != c.Version {
			t.Fatalf("repeated report not a no-op: %v", err)
		}
	}
	if c.State != OrderPartiallyCancelled || c.CancellationPending || c.Lines[0].State != LineCancelled {
		t.Fatalf("got %s pending=%v line %s", c.State, c.CancellationPending, c.Lines[0].State)
	}
	if c.Lines[0].Cancellation.Credit != eur(-100000) {
		t.Fatalf("perpetual credit changed by subscriptions' answer: %v", c.Lines[0].Cancellation.Credit)
	}
	// The second line, a subscription line with no entitlement: keys is applied at once.
	p2, err := PlanCancel(c, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	c = ApplyCancel(c, p2, "", now)
	if !c.Lines[1].Cancellation.EntitlementsRevoked || c.Lines[1].Cancellation.SubscriptionCancelled {
		t.Fatalf("flags %+v", c.Lines[1].Cancellation)
	}
	c, _ = CancellationApplied(c, "l2", ServiceSubscriptions, eur(-5000), now)
	c, _ = CancellationApplied(c, "l2", ServiceLedger, Money{}, now)
	if c.State != OrderCancelled || c.Lines[1].Cancellation.Credit != eur(-5000) {
		t.Fatalf("got %s credit %v", c.State, c.Lines[1].Cancellation.Credit)
	}
	// Cancelling again is a no-op, named or not.
	if p3, err := PlanCancel(c, []string{"l1", "l2"}, now); err != nil || !p3.Lines[0].NoOp || !p3.Lines[1].NoOp {
		t.Fatalf("repeat: %+v %v", p3, err)
	}
	if _, err := CancellationApplied(o, "l1", ServiceKeys, Money{}, now); !errs.HasReason(err, ReasonInvalidStateTransition) {
		t.Fatalf("report without cancellation: %v", err)
	}
}
