package domain_test

import (
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

func groups() []domain.KeyGroup {
	return []domain.KeyGroup{{ID: "A/P1Y", SkuID: "A", Seats: 1}, {ID: "B/P1Y", SkuID: "B", Seats: 2}}
}

func steps(s domain.RedemptionSaga) []string {
	var out []string
	for _, t := range s.Tasks {
		out = append(out, string(t.Step)+":"+t.LineID)
	}
	return out
}

// KD-2, ID-2: a new tenant's saga reserves every group, creates the tenant once, provisions and
// confirms every group, then completes.
func TestRedemptionSaga_Layout_KD2(t *testing.T) {
	s := domain.NewRedemptionSaga("r1", domain.RedeemNewTenant, groups())
	want := []string{"reserve_keys:A/P1Y", "reserve_keys:B/P1Y", "create_tenant:", "create_subscription:A/P1Y",
		"create_subscription:B/P1Y", "confirm_keys:A/P1Y", "confirm_keys:B/P1Y", "complete:"}
	if got := steps(s); len(got) != len(want) {
		t.Fatalf("tasks %v; want %v", got, want)
	} else {
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("tasks %v; want %v", got, want)
			}
		}
	}
	r := domain.NewRedemptionSaga("r1", domain.RedeemRenewal, groups()[:1])
	if got := steps(r); len(got) != 4 || got[1] != "renew_subscription:A/P1Y" {
		t.Errorf("renewal tasks %v", got)
	}
	if got := steps(domain.NewRedemptionSaga("r1", domain.RedeemAddSeats, groups()[:1])); got[1] != "add_seats:A/P1Y" {
		t.Errorf("add seats tasks %v", got)
	}
}

// run drives the saga to its end, answering each run action with ok(action).
func drive(t *testing.T, s domain.RedemptionSaga, fail domain.Step) (domain.RedemptionSaga, []domain.Action) {
	t.Helper()
	var acts []domain.Action
	for i := 0; i < 50; i++ {
		a, ok := s.Next()
		if !ok {
			return s, acts
		}
		acts = append(acts, a)
		var err error
		switch {
		case a.Kind == domain.ActionCompensate:
			s, err = s.Compensated(a.Step, a.LineID)
		case a.Step == fail:
			s, _, err = s.Failed(a.Step, a.LineID, domain.Failure{Reason: "RESERVATION_EXPIRED"}, false, time.Time{}, domain.DefaultRetry)
		default:
			s, err = s.Done(a.Step, a.LineID, "id-"+string(a.Step)+a.LineID)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("saga does not end")
	return s, nil
}

// KD-1: a refused confirmation undoes the provisioning and releases the reservations, in reverse
// order; the tenant stays (no compensation exists).
func TestRedemptionSaga_RefusedStepCompensates_KD1(t *testing.T) {
	s, acts := drive(t, domain.NewRedemptionSaga("r1", domain.RedeemNewTenant, groups()), domain.StepConfirmKeys)
	if s.Status != domain.SagaFailed || s.Failure == nil || s.Failure.Step != domain.StepConfirmKeys {
		t.Fatalf("saga %+v", s)
	}
	var comp []string
	for _, a := range acts {
		if a.Kind == domain.ActionCompensate {
			comp = append(comp, string(a.Compensation)+":"+a.LineID)
			if a.StepRequestID != domain.RedemptionRequestIDFor("r1", a.Step, a.LineID) || a.RequestID == a.StepRequestID {
				t.Errorf("compensation IDs %+v", a)
			}
		}
	}
	want := []string{"compensate_provisioning:B/P1Y", "compensate_provisioning:A/P1Y", "release_reservation:B/P1Y", "release_reservation:A/P1Y"}
	if len(comp) != len(want) {
		t.Fatalf("compensations %v; want %v", comp, want)
	}
	for i := range want {
		if comp[i] != want[i] {
			t.Fatalf("compensations %v; want %v", comp, want)
		}
	}
}

// OR-7: request IDs depend on redemption, step and group only, and a replayed Done is a no-op.
func TestRedemptionSaga_RequestIDs_OR7(t *testing.T) {
	s := domain.NewRedemptionSaga("r1", domain.RedeemAddSeats, groups()[:1])
	a, _ := s.Next()
	if a.RequestID != domain.RedemptionRequestIDFor("r1", domain.StepReserveKeys, "A/P1Y") ||
		a.RequestID == domain.RedemptionRequestIDFor("r2", domain.StepReserveKeys, "A/P1Y") || len(a.RequestID) != 36 {
		t.Errorf("request ID %q", a.RequestID)
	}
	s2, _, _ := s.Failed(a.Step, a.LineID, domain.Failure{}, true, now, domain.DefaultRetry)
	if b, _ := s2.Next(); b.RequestID != a.RequestID || b.Attempt != 2 || !b.NotBefore.Equal(now.Add(100*time.Millisecond)) {
		t.Errorf("retry %+v", b)
	}
	d, err := s.Done(a.Step, a.LineID, "res-1")
	if err != nil {
		t.Fatal(err)
	}
	if d2, err := d.Done(a.Step, a.LineID, "res-1"); err != nil || len(d2.Tasks) != len(d.Tasks) {
		t.Errorf("replayed Done: %v", err)
	}
	if _, err := d.Done(a.Step, a.LineID, "res-2"); err == nil {
		t.Error("Done of a done task with another result accepted")
	}
	if id, again := domain.RedemptionIDFor("PARTNER:p", "req"), domain.RedemptionIDFor("PARTNER:p", "req"); id != again ||
		id == domain.RedemptionIDFor("PARTNER:q", "req") {
		t.Error("RedemptionIDFor not deterministic per scope")
	}
}

// An uncertain reservation (retries ran out) is released like a done one.
func TestRedemptionSaga_UncertainReserveReleased(t *testing.T) {
	s := domain.NewRedemptionSaga("r1", domain.RedeemRenewal, groups()[:1])
	a, _ := s.Next()
	s, _, _ = s.Failed(a.Step, a.LineID, domain.Failure{}, true, now, domain.RetryPolicy{Base: time.Millisecond, Max: time.Millisecond, MaxAttempts: 1})
	b, ok := s.Next()
	if !ok || b.Kind != domain.ActionCompensate || b.Compensation != domain.CompensateReleaseReservation {
		t.Fatalf("next %+v", b)
	}
	s, _ = s.Compensated(b.Step, b.LineID)
	if s.Status != domain.SagaFailed {
		t.Errorf("status %s", s.Status)
	}
}
