package app_test

import (
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/app"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
)

// A partner sees its customers' subscriptions; only the partner of record changes them (SU-8);
// a partner without a relationship does not even see them (ID-8); the customer reads them (ID-6).
func TestAccess_SU8_ID6_ID8(t *testing.T) {
	h := sqliteHarness(t, 0)
	s := h.provision(h.line(customerC, partnerA))
	c := app.Change{RequestID: h.rid(), SubscriptionID: s.ID}

	if v, err := h.app.GetSubscription(as(partnerB), s.ID); err != nil || v.ReadOnly != domain.ReadOnlyOtherPartner {
		t.Errorf("partner B reads: %v %v, want read-only OTHER_PARTNER", v.ReadOnly, err)
	}
	_, err := h.app.Suspend(as(partnerB), c, "")
	wantReason(t, err, errs.PermissionDenied, domain.ReasonNotManagedByCaller)
	_, err = h.app.GetSubscription(as(partnerX), s.ID)
	wantReason(t, err, errs.NotFound, "")
	_, err = h.app.Suspend(as(partnerX), c, "")
	wantReason(t, err, errs.NotFound, "")
	if v, err := h.app.GetSubscription(asCustomer(customerC), s.ID); err != nil || v.ReadOnly != domain.ReadOnlyManagedByPartner {
		t.Errorf("customer reads: %v %v, want read-only MANAGED_BY_PARTNER", v.ReadOnly, err)
	}
	_, err = h.app.GetSubscription(asCustomer(customerD), s.ID)
	wantReason(t, err, errs.NotFound, "")

	// Partner B lists customer C: A's subscription flagged read-only; with exclude_read_only none.
	views, _, err := h.app.ListSubscriptions(as(partnerB), app.ListInput{CustomerID: customerC})
	if err != nil || len(views) != 1 || !(views[0].ReadOnly == domain.ReadOnlyOtherPartner) {
		t.Errorf("partner B lists C: %v %v", views, err)
	}
	views, _, err = h.app.ListSubscriptions(as(partnerB), app.ListInput{CustomerID: customerC, ExcludeReadOnly: true})
	if err != nil || len(views) != 0 {
		t.Errorf("partner B lists C without read-only rows: %d rows, %v", len(views), err)
	}
	_, _, err = h.app.ListSubscriptions(as(partnerX), app.ListInput{CustomerID: customerC})
	wantReason(t, err, errs.NotFound, "")
	if _, err := h.app.GetSubscription(as(partnerA), s.ID); err != nil {
		t.Fatal(err)
	}
	if n := len(h.events()); n != 1 {
		t.Errorf("%d events after refused changes, want only CREATED", n)
	}
}

// Seats added within the last 7 days may be removed with a refund, newest first; older ones not
// (SU-7); the limits of quantity are INVALID_ARGUMENT (issue 5, acceptance 4).
func TestQuantity_SU7_DecreaseOnlyRecentSeats(t *testing.T) {
	h := sqliteHarness(t, 0)
	s := h.provision(h.line(customerC, partnerA))
	ctx := as(partnerA)
	h.set(t0.Add(8 * 24 * time.Hour)) // the first 10 seats are past their 7 days
	v, c, err := h.app.ChangeQuantity(ctx, app.Change{RequestID: h.rid(), SubscriptionID: s.ID}, 15)
	if err != nil {
		t.Fatal(err)
	}
	if c.OldQuantity != 10 || c.NewQuantity != 15 || c.PriceDelta.Minor <= 0 || c.RefundableAfter != 5 || v.Sub.Quantity != 15 {
		t.Errorf("increase: %+v, subscription quantity %d", c, v.Sub.Quantity)
	}
	p, err := h.app.PreviewQuantityChange(ctx, s.ID, 12)
	if err != nil || p.PriceDelta.Minor >= 0 || p.NewQuantity != 12 {
		t.Errorf("preview of a decrease: %+v %v", p, err)
	}
	_, _, err = h.app.ChangeQuantity(ctx, app.Change{RequestID: h.rid(), SubscriptionID: s.ID}, 9)
	wantReason(t, err, errs.FailedPrecondition, domain.ReasonQuantityDecreaseNotAllowed)
	for _, bad := range []int32{0, -1, 301} {
		_, _, err = h.app.ChangeQuantity(ctx, app.Change{RequestID: h.rid(), SubscriptionID: s.ID}, bad)
		wantReason(t, err, errs.InvalidArgument, "")
	}
	if _, _, err = h.app.ChangeQuantity(ctx, app.Change{RequestID: h.rid(), SubscriptionID: s.ID}, 10); err != nil {
		t.Fatalf("removing the 5 recent seats: %v", err)
	}
	if got := h.get(s.ID); got.Quantity != 10 || len(got.Lots) != 1 {
		t.Errorf("after the decrease: %d seats in %d lots, want 10 in 1", got.Quantity, len(got.Lots))
	}
}

// A stale etag is ABORTED and changes nothing; an unknown or malformed ID is NOT_FOUND or
// INVALID_ARGUMENT (issue 5, acceptance 4).
func TestBadInput_EtagUnknownMalformed(t *testing.T) {
	h := sqliteHarness(t, 0)
	s := h.provision(h.line(customerC, partnerA))
	ctx := as(partnerA)
	v, err := h.app.SetAutoRenew(ctx, app.Change{RequestID: h.rid(), SubscriptionID: s.ID, Etag: domain.Etag(s)}, false)
	if err != nil || v.Sub.AutoRenew {
		t.Fatalf("SetAutoRenew with the current etag: %v", err)
	}
	_, err = h.app.Suspend(ctx, app.Change{RequestID: h.rid(), SubscriptionID: s.ID, Etag: domain.Etag(s)}, "")
	wantReason(t, err, errs.Aborted, errs.ReasonEtagMismatch)
	if got := h.get(s.ID).State; got != domain.StateActive {
		t.Errorf("state %s after a refused suspension", got)
	}
	_, err = h.app.GetSubscription(ctx, "0f0f0f0f-0000-4000-8000-000000000000")
	wantReason(t, err, errs.NotFound, "")
	_, err = h.app.Suspend(ctx, app.Change{RequestID: h.rid(), SubscriptionID: "not-a-uuid"}, "")
	wantReason(t, err, errs.InvalidArgument, "")
}

// Cancellation within the first 7 days of the term refunds price × remaining days / term days;
// one second after the window it is refused with the window end; Red Hat / SUSE plans never
// (SU-10, CA-10).
func TestCancel_SU10_WindowAndRefund_CA10_Never(t *testing.T) {
	h := sqliteHarness(t, 0)
	ctx := as(partnerA)
	software := func(in *app.ProvisionInput) {
		in.Kind, in.Term, in.Plan = domain.KindSoftwareSubscription, domain.TermP1Y, domain.PlanAnnual
	}
	s := h.provision(h.line(customerC, partnerA, software))
	late := h.provision(h.line(customerC, partnerA, software))
	windowEnd := s.TermStart.Add(7 * 24 * time.Hour)

	h.set(windowEnd.Add(-time.Second))
	v, refund, err := h.app.Cancel(ctx, app.Change{RequestID: h.rid(), SubscriptionID: s.ID}, "customer changed its mind")
	if err != nil {
		t.Fatal(err)
	}
	// 10 × 120.00 EUR for 365 days; cancelled on day 7 (2026-03-08): 359 days remain.
	termDays := domain.Days(s.TermStart, s.TermEnd)
	remaining := domain.Days(domain.Day(h.clock.Now()), s.TermEnd)
	want := -domain.Prorate(domain.Money{Minor: 120000, Currency: "EUR"}, remaining, termDays).Minor
	if v.Sub.State != domain.StateCancelled || refund.Minor != want || refund.Currency != "EUR" || remaining != 359 {
		t.Errorf("cancelled: %s refund %v, want CANCELLED and %d EUR minor", v.Sub.State, refund, want)
	}

	h.set(windowEnd.Add(time.Second))
	p, err := h.app.PreviewCancellation(ctx, late.ID)
	if err != nil || p.Cancellable || errs.ReasonOf(p.Refusal) != domain.ReasonCancellationWindowClosed || !p.Window.End.Equal(windowEnd) {
		t.Errorf("preview after the window: %+v %v", p, err)
	}
	_, _, err = h.app.Cancel(ctx, app.Change{RequestID: h.rid(), SubscriptionID: late.ID}, "")
	wantReason(t, err, errs.FailedPrecondition, domain.ReasonCancellationWindowClosed)
	if e, _ := errs.As(err); e == nil || e.Metadata["window_end"] != windowEnd.Format(time.RFC3339) {
		t.Errorf("refusal metadata: %v, want window_end %s", err, windowEnd.Format(time.RFC3339))
	}

	plan := h.provision(h.line(customerC, partnerA, func(in *app.ProvisionInput) {
		in.Kind, in.Policy, in.WindowDays = domain.KindSoftwarePlan, domain.PolicyNever, 0
	}))
	_, _, err = h.app.Cancel(ctx, app.Change{RequestID: h.rid(), SubscriptionID: plan.ID}, "")
	wantReason(t, err, errs.FailedPrecondition, domain.ReasonNotCancellable)
}

// The tenant maximum counts ACTIVE and SUSPENDED subscriptions and is reported with its numbers
// (SU-13).
func TestProvision_SU13_TenantLimit(t *testing.T) {
	h := sqliteHarness(t, 2)
	h.provision(h.line(customerC, partnerA))
	h.provision(h.line(customerC, partnerB))
	_, _, err := h.app.Provision(asSaga(partnerA), h.line(customerC, partnerA))
	wantReason(t, err, errs.FailedPrecondition, domain.ReasonTenantSubscriptionLimit)
	if e, _ := errs.As(err); e == nil || e.Metadata["limit"] != "2" || e.Metadata["active"] != "2" {
		t.Errorf("limit metadata: %v", err)
	}
	h.provision(h.line(customerD, partnerA)) // another tenant has its own count
}

// The order review asks, with no side effect, whether a tenant can take more subscriptions
// (SU-13): the numbers of the maximum, and no for one too many.
func TestCheckTenantCapacity_SU13(t *testing.T) {
	h := sqliteHarness(t, 2)
	h.provision(h.line(customerC, partnerA))
	c, err := h.app.CheckTenantCapacity(asSaga(partnerA), customerC, 1)
	if err != nil || !c.Allowed || c.Limit != 2 || c.Active != 1 || c.Requested != 1 {
		t.Errorf("one more = %+v, %v; want allowed, limit 2, active 1", c, err)
	}
	if c, err := h.app.CheckTenantCapacity(asSaga(partnerA), customerC, 2); err != nil || c.Allowed {
		t.Errorf("two more = %+v, %v; want refused", c, err)
	}
	if _, err := h.app.CheckTenantCapacity(asSaga(partnerA), "not-a-uuid", 0); errs.KindOf(err) != errs.InvalidArgument {
		t.Errorf("bad input = %v; want INVALID_ARGUMENT", err)
	}
	if _, err := h.app.CheckTenantCapacity(as(partnerA), customerC, 1); errs.KindOf(err) != errs.PermissionDenied {
		t.Errorf("a partner's own call = %v; want PERMISSION_DENIED (service tokens only)", err)
	}
	if c, _ := h.app.CheckTenantCapacity(asSaga(partnerA), customerC, 1); c.Active != 1 {
		t.Errorf("checking changed the count: %+v", c)
	}
}

// Software subscriptions bought before 2021-10-14 are not listed but stay readable (SU-11).
func TestList_SU11_OldSoftwareHidden(t *testing.T) {
	h := sqliteHarness(t, 0)
	h.startAt(time.Date(2021, 10, 13, 12, 0, 0, 0, time.UTC), 0)
	old := h.provision(h.line(customerC, partnerA, func(in *app.ProvisionInput) {
		in.Kind, in.Plan = domain.KindSoftwareSubscription, domain.PlanAnnual
	}))
	h.set(time.Date(2021, 10, 14, 0, 0, 0, 0, time.UTC))
	online := h.provision(h.line(customerC, partnerA, func(in *app.ProvisionInput) {
		in.Kind, in.Plan = domain.KindSoftwareSubscription, domain.PlanAnnual
	}))
	views, _, err := h.app.ListSubscriptions(as(partnerA), app.ListInput{CustomerID: customerC})
	if err != nil || len(views) != 1 || views[0].Sub.ID != online.ID {
		t.Errorf("listed %d rows (%v), want only the online service", len(views), err)
	}
	if _, err := h.app.GetSubscription(as(partnerA), old.ID); err != nil {
		t.Errorf("the old software subscription is gone: %v", err)
	}
}

// Open renewal by key (SU-4): before the end date the new term starts on the redemption day and
// the days left are lost; in the 30-day grace it starts at the old end date.
func TestRenew_SU4_BeforeAndAfterEndDate(t *testing.T) {
	h := sqliteHarness(t, 0)
	open := func(in *app.ProvisionInput) {
		in.Channel, in.AutoRenew, in.UnitPrice = domain.ChannelOpen, false, domain.Money{Currency: "EUR"}
	}
	a := h.provision(h.line(customerC, partnerA, open))
	b := h.provision(h.line(customerC, partnerA, open))
	renew := func(id string) (app.View, domain.Renewal, error) {
		return h.app.Renew(asSaga(partnerA), app.RenewInput{RequestID: h.rid(), SubscriptionID: id, OrderID: "redeem-1",
			Term: domain.TermP1Y})
	}
	h.set(a.TermEnd.AddDate(0, 0, -31))
	_, _, err := renew(a.ID)
	wantReason(t, err, errs.FailedPrecondition, domain.ReasonRenewalWindowNotOpen)

	h.set(a.TermEnd.AddDate(0, 0, -10).Add(5 * time.Hour))
	_, r, err := renew(a.ID)
	today := a.TermEnd.AddDate(0, 0, -10)
	if err != nil || r.Timing != domain.TimingBeforeEndDate || !r.Start.Equal(today) || !r.End.Equal(domain.AddTerm(today, domain.TermP1Y)) || r.DaysForfeited != 10 {
		t.Errorf("renewal 10 days before the end: %+v %v", r, err)
	}

	h.advanceTo(b.TermEnd.AddDate(0, 0, 5)) // b expired 5 days ago
	v, r, err := renew(b.ID)
	if err != nil || r.Timing != domain.TimingInGrace || !r.Start.Equal(b.TermEnd) || !r.End.Equal(domain.AddTerm(b.TermEnd, domain.TermP1Y)) ||
		v.Sub.State != domain.StateActive {
		t.Errorf("renewal in the grace: %+v %s %v", r, v.Sub.State, err)
	}
}

// A compensated provisioning step cancels the subscription without charge; a step compensated
// before it ran leaves a tombstone that refuses it when it arrives late.
func TestCompensate_CancelsAndTombstones(t *testing.T) {
	h := sqliteHarness(t, 0)
	in := h.line(customerC, partnerA)
	s := h.provision(in)
	v, found, err := h.app.Compensate(asSaga(partnerA), h.rid(), in.RequestID, "payment failed")
	if err != nil || !found || v.Sub.State != domain.StateCancelled {
		t.Fatalf("compensate: %s %v %v", v.Sub.State, found, err)
	}
	if _, _, err := h.app.Compensate(asSaga(partnerA), h.rid(), in.RequestID, "again"); err != nil {
		t.Errorf("second compensation: %v", err)
	}
	if c := h.eventsOf(s.ID, domain.EventCancelled); len(c) != 1 || !c[0].Cancelled.Compensation || c[0].Cancelled.Refund.Minor != 0 {
		t.Errorf("CANCELLED events %+v, want one zero-refund compensation", c)
	}

	late := h.line(customerC, partnerA)
	if _, found, err := h.app.Compensate(asSaga(partnerA), h.rid(), late.RequestID, "timeout"); err != nil || found {
		t.Fatalf("compensating a step that never ran: %v %v", found, err)
	}
	_, _, err = h.app.Provision(asSaga(partnerA), late)
	wantReason(t, err, errs.FailedPrecondition, domain.ReasonStepAlreadyCompensated)
}
