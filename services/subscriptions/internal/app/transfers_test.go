package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/app"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
)

// specs names the subscriptions to move, each to its own SKU.
func specs(subs ...domain.Subscription) []app.TransferItemSpec {
	var out []app.TransferItemSpec
	for _, s := range subs {
		out = append(out, app.TransferItemSpec{SubscriptionID: s.ID})
	}
	return out
}

// createTransfer is partner B's request for partner A's subscriptions of customer C.
func (h *harness) createTransfer(method domain.TransferMethod, subs ...domain.Subscription) domain.Transfer {
	h.t.Helper()
	t, err := h.app.CreateTransfer(as(partnerB), app.CreateTransferInput{RequestID: h.rid(), CustomerID: customerC,
		SourcePartnerID: partnerA, Items: specs(subs...), Method: method, Note: "taking over"})
	if err != nil {
		h.t.Fatalf("CreateTransfer: %v", err)
	}
	return t
}

func (h *harness) decision(t domain.Transfer) app.Decision {
	return app.Decision{RequestID: h.rid(), TransferID: t.ID, Etag: domain.TransferEtag(t)}
}

// transfer reads a transfer as the service sees it.
func (h *harness) transfer(id string) domain.Transfer {
	h.t.Helper()
	t, err := h.app.GetTransfer(asService(), id)
	if err != nil {
		h.t.Fatalf("GetTransfer %s: %v", id, err)
	}
	return t
}

func wantMeta(t *testing.T, err error, meta map[string]string) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok {
		t.Fatalf("error %v has no metadata", err)
	}
	for k, v := range meta {
		if e.Metadata[k] != v {
			t.Errorf("metadata %s = %q, want %q (%v)", k, e.Metadata[k], v, err)
		}
	}
}

// A direct move (SU-12..SU-14): partner B requests A's two subscriptions of C, A accepts; B gets
// copies with the same term, seats and autorenew, A's are CANCELLED without refund, every moved
// source emits TRANSFERRED naming its copy, and the transfer is COMPLETED. Only the source side
// accepts; the etag guards the decision; a second decision finds it no longer pending.
func TestTransfer_DirectMove_SU12_SU14(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn, 0)
		s1 := h.provision(h.line(customerC, partnerA))
		s2 := h.provision(h.line(customerC, partnerA, noAutoRenew))
		h.set(t0.Add(40 * 24 * time.Hour))

		tr := h.createTransfer(domain.MethodUnspecified, s1, s2)
		if tr.State != domain.TransferPending || tr.Method != domain.MethodDirectMove || tr.TargetPartnerID != partnerB ||
			tr.Limit != (domain.TenantLimit{Limit: 300, Active: 2, Peak: 4}) || !tr.RepurchaseDeadline.IsZero() ||
			len(tr.Items) != 2 || tr.Items[0].State != domain.ItemPending || tr.Items[0].Quantity != 10 {
			t.Fatalf("created %+v", tr)
		}
		if got := h.get(s1.ID); got.PendingTransferID != tr.ID || got.Version != s1.Version+1 {
			t.Errorf("source after creation: pending %q version %d", got.PendingTransferID, got.Version)
		}

		// Visible to both sides only (ID-8); only the source decides.
		if _, err := h.app.GetTransfer(as(partnerA), tr.ID); err != nil {
			t.Errorf("source partner reads: %v", err)
		}
		for _, ctx := range []context.Context{as(partnerX), asCustomer(customerC)} {
			_, err := h.app.GetTransfer(ctx, tr.ID)
			wantReason(t, err, errs.NotFound, errs.ReasonResourceNotFound)
		}
		_, err := h.app.AcceptTransfer(as(partnerB), h.decision(tr), false)
		wantReason(t, err, errs.PermissionDenied, errs.ReasonTenantMismatch)
		_, err = h.app.AcceptTransfer(as(partnerA), app.Decision{RequestID: h.rid(), TransferID: tr.ID, Etag: "v9"}, false)
		wantReason(t, err, errs.Aborted, errs.ReasonEtagMismatch)

		done, err := h.app.AcceptTransfer(as(partnerA), h.decision(tr), false)
		if err != nil {
			t.Fatal(err)
		}
		if done.State != domain.TransferCompleted || done.CompleteTime.IsZero() || done.DecidedBy == "" ||
			done.Version != tr.Version+1 {
			t.Fatalf("accepted %+v", done)
		}
		for i, src := range []domain.Subscription{s1, s2} {
			it := done.Items[i]
			if it.State != domain.ItemMoved || it.TargetSubscriptionID == "" {
				t.Fatalf("item %d: %+v", i, it)
			}
			old, moved := h.get(src.ID), h.get(it.TargetSubscriptionID)
			if old.State != domain.StateCancelled || old.PendingTransferID != "" || old.PartnerID != partnerA {
				t.Errorf("source %d after the move: %s pending %q", i, old.State, old.PendingTransferID)
			}
			if moved.PartnerID != partnerB || moved.CustomerID != customerC || moved.State != domain.StateActive ||
				moved.Channel != domain.ChannelCSP || moved.SkuID != src.SkuID || moved.Quantity != src.Quantity ||
				!moved.TermStart.Equal(src.TermStart) || !moved.TermEnd.Equal(src.TermEnd) || moved.AutoRenew != src.AutoRenew ||
				len(moved.Lots) != 1 || moved.Lots[0].Quantity != 10 || moved.Lots[0].ID == src.Lots[0].ID {
				t.Errorf("target subscription %d: %+v", i, moved)
			}
			// The source partner paid the term and its seats: nothing of it is refunded to the target
			// (SU-12; domain.TestMovedIn_SU12_NoRefundOfThePreviousPartnersTerm has the window cases).
			if moved.MovedInTime.IsZero() {
				t.Errorf("target %d has no moved-in time", i)
			}
			if p, err := h.app.PreviewCancellation(as(partnerB), moved.ID); err != nil || p.Cancellable ||
				errs.ReasonOf(p.Refusal) != domain.ReasonCancellationWindowClosed || p.Window.Refund.Minor != 0 {
				t.Errorf("target %d: cancellation preview %+v %v, want closed with no refund", i, p, err)
			}
			if n := domain.RefundableQuantity(moved, h.clock.Now()); n != 0 {
				t.Errorf("target %d: %d refundable seats, want 0", i, n)
			}
			cancelled := h.eventsOf(src.ID, domain.EventCancelled)
			if len(cancelled) != 1 || cancelled[0].Cancelled.Refund.Minor != 0 || cancelled[0].PartnerID != partnerA {
				t.Errorf("source %d CANCELLED events %+v, want one with a zero refund (SU-12)", i, cancelled)
			}
			moves := h.eventsOf(src.ID, domain.EventTransferred)
			if len(moves) != 1 || moves[0].PartnerID != partnerB || moves[0].Transferred.TargetSubscriptionID != moved.ID ||
				moves[0].Transferred.FromPartnerID != partnerA || moves[0].Transferred.TransferID != tr.ID {
				t.Errorf("source %d TRANSFERRED events %+v", i, moves)
			}
			if created := h.eventsOf(moved.ID, domain.EventCreated); len(created) != 1 || created[0].PartnerID != partnerB {
				t.Errorf("target %d CREATED events %+v", i, created)
			}
		}
		_, err = h.app.AcceptTransfer(as(partnerA), h.decision(done), false)
		wantReason(t, err, errs.FailedPrecondition, domain.ReasonTransferNotPending)
		wantMeta(t, err, map[string]string{"state": "COMPLETED"})
	})
}

// Either side cancels a pending transfer; the sources are free again (CANCELLED, items NOT_MOVED);
// a cancelled transfer cannot be cancelled again.
func TestTransfer_CreateCancel(t *testing.T) {
	h := sqliteHarness(t, 0)
	s := h.provision(h.line(customerC, partnerA))
	for _, side := range []string{partnerB, partnerA} {
		tr := h.createTransfer(domain.MethodUnspecified, s)
		got, err := h.app.CancelTransfer(as(side), h.decision(tr))
		if err != nil {
			t.Fatalf("cancel by %s: %v", side[:8], err)
		}
		if got.State != domain.TransferCancelled || got.Items[0].State != domain.ItemNotMoved || got.CompleteTime.IsZero() {
			t.Errorf("cancelled by %s: %+v", side[:8], got)
		}
		if p := h.get(s.ID).PendingTransferID; p != "" {
			t.Errorf("source still pending %q", p)
		}
		_, err = h.app.CancelTransfer(as(partnerB), h.decision(got))
		wantReason(t, err, errs.FailedPrecondition, domain.ReasonTransferNotPending)
		wantMeta(t, err, map[string]string{"state": "CANCELLED"})
	}
	_, err := h.app.CancelTransfer(as(partnerX), app.Decision{RequestID: h.rid(), TransferID: "0f0f0f0f-0000-4000-8000-000000000000"})
	wantReason(t, err, errs.NotFound, "")
	if n := len(h.events()); n != 1 {
		t.Errorf("%d events, want only CREATED: creating and cancelling transfers changes no subscription state", n)
	}
}

// The source partner rejects: REJECTED, nothing moves, the source is free again.
func TestTransfer_Reject(t *testing.T) {
	h := sqliteHarness(t, 0)
	s := h.provision(h.line(customerC, partnerA))
	tr := h.createTransfer(domain.MethodDirectMove, s)
	got, err := h.app.AcceptTransfer(as(partnerA), h.decision(tr), true)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != domain.TransferRejected || got.DecidedBy != "user-of-aaaaaaaa" || got.Items[0].State != domain.ItemNotMoved {
		t.Errorf("rejected %+v", got)
	}
	if after := h.get(s.ID); after.PendingTransferID != "" || after.State != domain.StateActive || after.PartnerID != partnerA {
		t.Errorf("source after rejection: %+v", after)
	}
}

// ID-5: a partner outside the customer's country may not take it over.
func TestTransfer_ID5_NotSameCountry(t *testing.T) {
	h := sqliteHarness(t, 0)
	s := h.provision(h.line(customerC, partnerA))
	_, err := h.app.CreateTransfer(as(partnerF), app.CreateTransferInput{RequestID: h.rid(), CustomerID: customerC,
		SourcePartnerID: partnerA, Items: specs(s)})
	wantReason(t, err, errs.FailedPrecondition, domain.ReasonNotSameCountry)
	wantMeta(t, err, map[string]string{"customer_country": "DE", "partner_country": "FR"})
}

// ID-4: no accepted reseller relationship, no transfer; nothing is marked pending.
func TestTransfer_ID4_RelationshipRequired(t *testing.T) {
	h := sqliteHarness(t, 0)
	s := h.provision(h.line(customerC, partnerA))
	_, err := h.app.CreateTransfer(as(partnerX), app.CreateTransferInput{RequestID: h.rid(), CustomerID: customerC,
		SourcePartnerID: partnerA, Items: specs(s)})
	wantReason(t, err, errs.FailedPrecondition, domain.ReasonRelationshipRequired)
	if p := h.get(s.ID).PendingTransferID; p != "" {
		t.Errorf("pending %q after a refused transfer", p)
	}
}

// A subscription in an open transfer joins no other; nor may the source cancel it or switch its
// autorenew back on while it is in one.
func TestTransfer_AlreadyPending(t *testing.T) {
	h := sqliteHarness(t, 0)
	s := h.provision(h.line(customerC, partnerA))
	other := h.provision(h.line(customerC, partnerA))
	tr := h.createTransfer(domain.MethodUnspecified, s)
	_, err := h.app.CreateTransfer(as(partnerB), app.CreateTransferInput{RequestID: h.rid(), CustomerID: customerC,
		SourcePartnerID: partnerA, Items: specs(other, s)})
	wantReason(t, err, errs.FailedPrecondition, domain.ReasonTransferAlreadyPending)
	wantMeta(t, err, map[string]string{"transfer_id": tr.ID, "subscription_id": s.ID})
	if p := h.get(other.ID).PendingTransferID; p != "" {
		t.Errorf("the other subscription is pending %q after a refused transfer", p)
	}
	_, _, err = h.app.Cancel(as(partnerA), app.Change{RequestID: h.rid(), SubscriptionID: s.ID}, "")
	wantReason(t, err, errs.FailedPrecondition, domain.ReasonTransferAlreadyPending)
}

// CA-9, SU-14: a discontinued offer must move to its equivalent (no license reassignment); a
// different offer needs license reassignment; an unknown one is a bad request.
func TestTransfer_CA9_SU14_Offers(t *testing.T) {
	h := sqliteHarness(t, 0)
	old := h.provision(h.line(customerC, partnerA, func(in *app.ProvisionInput) { in.SkuID = discontinuedSku }))
	cur := h.provision(h.line(customerC, partnerA))
	create := func(items ...app.TransferItemSpec) (domain.Transfer, error) {
		return h.app.CreateTransfer(as(partnerB), app.CreateTransferInput{RequestID: h.rid(), CustomerID: customerC,
			SourcePartnerID: partnerA, Items: items})
	}
	_, err := create(app.TransferItemSpec{SubscriptionID: old.ID})
	wantReason(t, err, errs.FailedPrecondition, domain.ReasonEquivalentOfferRequired)
	wantMeta(t, err, map[string]string{"equivalent_sku_id": equivalentSku, "subscription_id": old.ID})
	_, err = create(app.TransferItemSpec{SubscriptionID: cur.ID, TargetSkuID: discontinuedSku})
	wantReason(t, err, errs.FailedPrecondition, domain.ReasonEquivalentOfferRequired)
	_, err = create(app.TransferItemSpec{SubscriptionID: cur.ID, TargetSkuID: unknownSku})
	wantReason(t, err, errs.InvalidArgument, errs.ReasonInvalidRequest)

	tr, err := create(app.TransferItemSpec{SubscriptionID: old.ID, TargetSkuID: equivalentSku},
		app.TransferItemSpec{SubscriptionID: cur.ID, TargetSkuID: otherSku})
	if err != nil {
		t.Fatal(err)
	}
	if it := tr.Items[0]; it.TargetSkuID != equivalentSku || it.SourceSkuID != discontinuedSku || it.LicenseReassignmentRequired {
		t.Errorf("to the equivalent: %+v, want no license reassignment", it)
	}
	if it := tr.Items[1]; it.TargetSkuID != otherSku || !it.LicenseReassignmentRequired {
		t.Errorf("to another offer: %+v, want license reassignment", it)
	}
	done, err := h.app.AcceptTransfer(as(partnerA), h.decision(tr), false)
	if err != nil {
		t.Fatal(err)
	}
	if moved := h.get(done.Items[0].TargetSubscriptionID); moved.SkuID != equivalentSku || moved.ProductID != "CFQ7TTC0NEW1" {
		t.Errorf("moved to %s of product %s, want the equivalent's", moved.SkuID, moved.ProductID)
	}
}

// Malformed requests are INVALID_ARGUMENT with the fields; the caller must be a partner; another
// customer's subscription does not exist for it (ID-8), another source's is a bad item.
func TestTransfer_BadInput(t *testing.T) {
	h := sqliteHarness(t, 0)
	s := h.provision(h.line(customerC, partnerA))
	d := h.provision(h.line(customerD, partnerA))
	bad := []struct {
		in    app.CreateTransferInput
		field string
	}{
		{app.CreateTransferInput{CustomerID: "c", Items: specs(s)}, "customer_id"},
		{app.CreateTransferInput{CustomerID: customerC}, "items"},
		{app.CreateTransferInput{CustomerID: customerC, SourcePartnerID: partnerB, Items: specs(s)}, "source_partner_id"},
		{app.CreateTransferInput{CustomerID: customerC, Items: specs(s, s)}, "items[1].subscription_id"},
		{app.CreateTransferInput{CustomerID: customerC, Items: []app.TransferItemSpec{{SubscriptionID: "x"}}}, "items[0].subscription_id"},
		{app.CreateTransferInput{CustomerID: customerC, Items: specs(s), Note: strings.Repeat("n", 501)}, "note"},
		{app.CreateTransferInput{CustomerID: customerC, Items: specs(s), Method: "TELEPORT"}, "method"},
	}
	for _, b := range bad {
		b.in.RequestID = h.rid()
		_, err := h.app.CreateTransfer(as(partnerB), b.in)
		wantReason(t, err, errs.InvalidArgument, errs.ReasonInvalidRequest)
		if e, _ := errs.As(err); len(e.Violations) == 0 || e.Violations[0].Field != b.field {
			t.Errorf("violations %+v, want %s", e.Violations, b.field)
		}
	}
	_, err := h.app.CreateTransfer(asCustomer(customerC), app.CreateTransferInput{CustomerID: customerC, Items: specs(s)})
	wantReason(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)
	_, err = h.app.CreateTransfer(as(partnerB), app.CreateTransferInput{CustomerID: customerC, SourcePartnerID: partnerA, Items: specs(d)})
	wantReason(t, err, errs.NotFound, errs.ReasonResourceNotFound)
	_, err = h.app.CreateTransfer(as(partnerB), app.CreateTransferInput{CustomerID: customerC, Items: specs(s)})
	wantReason(t, err, errs.InvalidArgument, errs.ReasonInvalidRequest)
	_, err = h.app.GetTransfer(as(partnerB), "nope")
	wantReason(t, err, errs.InvalidArgument, errs.ReasonInvalidRequest)
}

// SU-13 with the default maximum of 300: a customer holds 151 active subscriptions of partner A.
// Moving all of them directly would need 302 side by side, so an explicit DIRECT_MOVE is refused
// with the numbers and the unspecified method chooses expire-and-repurchase.
func TestTransfer_SU13_TenantLimit(t *testing.T) {
	h := sqliteHarness(t, 0)
	var subs []domain.Subscription
	for range 151 {
		subs = append(subs, h.provision(h.line(customerC, partnerA)))
	}
	_, err := h.app.CreateTransfer(as(partnerB), app.CreateTransferInput{RequestID: h.rid(), CustomerID: customerC,
		SourcePartnerID: partnerA, Items: specs(subs...), Method: domain.MethodDirectMove})
	wantReason(t, err, errs.FailedPrecondition, domain.ReasonTenantSubscriptionLimit)
	wantMeta(t, err, map[string]string{"limit": "300", "active": "151", "requested": "151"})

	tr := h.createTransfer(domain.MethodUnspecified, subs...)
	if tr.Method != domain.MethodExpireAndRepurchase || tr.Limit != (domain.TenantLimit{Limit: 300, Active: 151, Peak: 151}) {
		t.Errorf("method %s, figures %+v; want EXPIRE_AND_REPURCHASE with 300/151/151", tr.Method, tr.Limit)
	}
	if want := subs[0].TermEnd.AddDate(0, 0, 30); !tr.RepurchaseDeadline.Equal(want) {
		t.Errorf("repurchase deadline %s, want term end + 30 days %s", tr.RepurchaseDeadline, want)
	}
}

// repurchase provisions partner B's subscription for a transfer item (SU-12).
func (h *harness) repurchase(tr domain.Transfer, partner string) (domain.Subscription, error) {
	in := h.line(customerC, partner, func(in *app.ProvisionInput) { in.TransferID = tr.ID })
	v, _, err := h.app.Provision(asSaga(partner), in)
	return v.Sub, err
}

// The expire-and-repurchase path end to end on the service clock (SU-9, SU-12, SU-13): with a
// tenant maximum of 2 and C holding 2 subscriptions of A, moving both directly does not fit, so
// the transfer lets them expire. On acceptance autorenew goes off; the target may not repurchase
// before expiry; the engine expires the sources and the target repurchases the first within the
// 30-day grace (at the maximum: the expired source no longer counts); the second is never
// repurchased and is NOT_MOVED once DISABLED, which completes the transfer.
func TestTransfer_ExpireAndRepurchase_SU12(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn, 2)
		s1 := h.provision(h.line(customerC, partnerA))
		s2 := h.provision(h.line(customerC, partnerA))
		tr := h.createTransfer(domain.MethodUnspecified, s1, s2)
		if tr.Method != domain.MethodExpireAndRepurchase {
			t.Fatalf("method %s, want EXPIRE_AND_REPURCHASE (2 + 2 > 2)", tr.Method)
		}
		acc, err := h.app.AcceptTransfer(as(partnerA), h.decision(tr), false)
		if err != nil {
			t.Fatal(err)
		}
		if acc.State != domain.TransferAccepted || acc.Items[0].State != domain.ItemAwaitingExpiry ||
			!acc.RepurchaseDeadline.Equal(s1.TermEnd.AddDate(0, 0, 30)) {
			t.Fatalf("accepted %+v", acc)
		}
		for _, s := range []domain.Subscription{s1, s2} {
			if got := h.get(s.ID); got.AutoRenew || got.PendingTransferID != tr.ID {
				t.Errorf("source after acceptance: autorenew %v pending %q", got.AutoRenew, got.PendingTransferID)
			}
			if evs := h.eventsOf(s.ID, domain.EventAutoRenewChanged); len(evs) != 1 || evs[0].AutoRenewChanged.AutoRenew {
				t.Errorf("AUTO_RENEW_CHANGED events %+v", evs)
			}
		}
		_, err = h.app.SetAutoRenew(as(partnerA), app.Change{RequestID: h.rid(), SubscriptionID: s1.ID}, true)
		wantReason(t, err, errs.FailedPrecondition, domain.ReasonTransferAlreadyPending)
		_, err = h.repurchase(acc, partnerB)
		wantReason(t, err, errs.FailedPrecondition, domain.ReasonInvalidStateTransition) // not expired yet

		h.advanceTo(s1.TermEnd)
		if got := h.transfer(tr.ID); got.Items[0].State != domain.ItemAwaitingRepurchase || got.Items[1].State != domain.ItemAwaitingRepurchase {
			t.Fatalf("after expiry: %+v", got.Items)
		}
		h.advanceTo(s1.TermEnd.AddDate(0, 0, 10))
		_, err = h.repurchase(acc, partnerA) // not the target
		wantReason(t, err, errs.NotFound, errs.ReasonResourceNotFound)
		moved, err := h.repurchase(acc, partnerB)
		if err != nil {
			t.Fatalf("repurchase in the grace: %v", err)
		}
		got := h.transfer(tr.ID)
		if got.State != domain.TransferAccepted || got.Items[0].State != domain.ItemMoved || got.Items[0].TargetSubscriptionID != moved.ID {
			t.Fatalf("after the repurchase: %s %+v", got.State, got.Items)
		}
		if src := h.get(s1.ID); src.State != domain.StateExpired || src.PendingTransferID != "" || src.Quantity != 10 {
			t.Errorf("repurchased source %s pending %q: want EXPIRED with its data, out of the transfer", src.State, src.PendingTransferID)
		}
		if evs := h.eventsOf(s1.ID, domain.EventTransferred); len(evs) != 1 || evs[0].Transferred.TargetSubscriptionID != moved.ID ||
			evs[0].State != domain.StateExpired {
			t.Errorf("TRANSFERRED events %+v", evs)
		}

		h.advanceTo(s1.TermEnd.AddDate(0, 0, 30)) // the second source leaves its grace unrepurchased
		got = h.transfer(tr.ID)
		if got.State != domain.TransferCompleted || got.Items[1].State != domain.ItemNotMoved || got.CompleteTime.IsZero() {
			t.Fatalf("after the deadline: %s %+v", got.State, got.Items)
		}
		if src := h.get(s2.ID); src.State != domain.StateDisabled || src.PendingTransferID != "" {
			t.Errorf("lost source %s pending %q", src.State, src.PendingTransferID)
		}
		_, err = h.repurchase(acc, partnerB)
		wantReason(t, err, errs.FailedPrecondition, domain.ReasonInvalidStateTransition)
	})
}

// No item repurchased before the deadline: the transfer FAILED (its data is lost, SU-12).
func TestTransfer_ExpireAndRepurchase_NothingRepurchased_Failed(t *testing.T) {
	h := sqliteHarness(t, 0)
	s := h.provision(h.line(customerC, partnerA))
	tr := h.createTransfer(domain.MethodExpireAndRepurchase, s)
	if _, err := h.app.AcceptTransfer(as(partnerA), h.decision(tr), false); err != nil {
		t.Fatal(err)
	}
	h.advanceTo(s.TermEnd.AddDate(0, 0, 31)) // one sweep: expired and disabled at once
	if got := h.transfer(tr.ID); got.State != domain.TransferFailed || got.Items[0].State != domain.ItemNotMoved {
		t.Errorf("after the deadline: %s %+v", got.State, got.Items)
	}
}

// direct stores a subscription the customer bought directly (Web-Direct, no partner of record),
// which no saga provisions.
func (h *harness) direct(customer string) domain.Subscription {
	h.t.Helper()
	now := domain.Instant(h.clock.Now())
	price := domain.Money{Minor: 12000, Currency: "EUR"}
	s := domain.Subscription{ID: uuid.NewString(), CustomerID: customer, SkuID: "CFQ7TTC0LDPB:0001", ProductID: "CFQ7TTC0LDPB",
		DisplayName: "Microsoft 365 Business Standard", Kind: domain.KindOnlineService, State: domain.StateActive,
		Channel: domain.ChannelWebDirect, Quantity: 5, MaxQuantity: 300,
		Lots: []domain.SeatLot{{ID: uuid.NewString(), Quantity: 5, AddTime: now, UnitPrice: price}},
		Plan: domain.PlanMonthly, Term: domain.TermP1Y, TermStart: domain.Day(now), TermEnd: domain.AddTerm(domain.Day(now), domain.TermP1Y),
		AutoRenew: true, UnitPrice: price, Policy: domain.PolicyProratedRefundWindow, WindowDays: 7, PurchaseTime: now,
		StateTime: now, Version: 1, CreateTime: now, UpdateTime: now}
	if err := h.store.Tx(context.Background(), func(ctx context.Context, tx app.Tx) error {
		return tx.InsertSubscription(ctx, s)
	}); err != nil {
		h.t.Fatal(err)
	}
	return s
}

// Directly bought subscriptions: the customer's Global admin is the source side (accepts, sees
// the transfer, lists it); other partners do not see it.
func TestTransfer_DirectPurchases(t *testing.T) {
	h := sqliteHarness(t, 0)
	s := h.direct(customerC)
	tr, err := h.app.CreateTransfer(as(partnerB), app.CreateTransferInput{RequestID: h.rid(), CustomerID: customerC, Items: specs(s)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.app.GetTransfer(as(partnerA), tr.ID); errs.KindOf(err) != errs.NotFound {
		t.Errorf("partner A reads a transfer it is no side of: %v", err)
	}
	list, _, err := h.app.ListTransfers(asCustomer(customerC), app.ListTransfersInput{})
	if err != nil || len(list) != 1 || list[0].ID != tr.ID {
		t.Errorf("customer lists %v %v", list, err)
	}
	done, err := h.app.AcceptTransfer(asCustomer(customerC), h.decision(tr), false)
	if err != nil || done.State != domain.TransferCompleted {
		t.Fatalf("customer accepts: %+v %v", done, err)
	}
	if ev := h.eventsOf(s.ID, domain.EventTransferred); len(ev) != 1 || ev[0].Transferred.FromPartnerID != "" {
		t.Errorf("TRANSFERRED %+v", ev)
	}
}

// ListTransfers: each side sees its own, newest first, in pages; filters by direction, state and
// customer.
func TestTransfer_List(t *testing.T) {
	h := sqliteHarness(t, 0)
	var ids []string
	for i := range 3 {
		s := h.provision(h.line(customerC, partnerA))
		tr := h.createTransfer(domain.MethodUnspecified, s)
		if i == 0 {
			if _, err := h.app.CancelTransfer(as(partnerB), h.decision(tr)); err != nil {
				t.Fatal(err)
			}
		}
		ids = append([]string{tr.ID}, ids...) // newest first
		h.set(h.clock.Now().Add(time.Minute))
	}
	list := func(ctx context.Context, in app.ListTransfersInput) []string {
		t.Helper()
		var got []string
		in.PageSize = 1
		for range 10 {
			page, next, err := h.app.ListTransfers(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			for _, tr := range page {
				got = append(got, tr.ID)
			}
			if in.PageToken = next; next == "" {
				return got
			}
		}
		return got
	}
	eq := func(name string, got, want []string) {
		t.Helper()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	eq("target", list(as(partnerB), app.ListTransfersInput{}), ids)
	eq("incoming", list(as(partnerB), app.ListTransfersInput{Direction: domain.DirectionIncoming}), ids)
	eq("target's outgoing", list(as(partnerB), app.ListTransfersInput{Direction: domain.DirectionOutgoing}), nil)
	eq("source's outgoing", list(as(partnerA), app.ListTransfersInput{Direction: domain.DirectionOutgoing, CustomerID: customerC}), ids)
	eq("pending", list(as(partnerA), app.ListTransfersInput{States: []domain.TransferState{domain.TransferPending}}), ids[:2])
	eq("cancelled", list(as(partnerB), app.ListTransfersInput{States: []domain.TransferState{domain.TransferCancelled}}), ids[2:])
	eq("no side", list(as(partnerX), app.ListTransfersInput{}), nil)
	eq("customer of partner transfers", list(asCustomer(customerC), app.ListTransfersInput{}), nil)
	_, _, err := h.app.ListTransfers(as(partnerB), app.ListTransfersInput{Direction: "SIDEWAYS"})
	wantReason(t, err, errs.InvalidArgument, errs.ReasonInvalidRequest)
	_, next, _ := h.app.ListTransfers(as(partnerB), app.ListTransfersInput{PageSize: 1})
	_, _, err = h.app.ListTransfers(as(partnerA), app.ListTransfersInput{PageSize: 1, PageToken: next})
	wantReason(t, err, errs.InvalidArgument, errs.ReasonInvalidPageToken)
}
