package app_test

import (
	"reflect"
	"testing"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/app"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
)

const (
	adminU = "11111111-aaaa-4000-8000-00000000000a" // first admin of a tenant created by key redemption
	userV  = "11111111-bbbb-4000-8000-00000000000b"
)

// ID-2, KD-2: a key redemption that created the tenant provisions its subscription with one
// license for the tenant's first admin; the subscription keeps it (stored on both engines), a
// retry of the step answers the same, and the seats never go below the licensed users.
func TestProvision_ID2_LicensedUsers(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn, 0)
		in := h.line(customerC, partnerA, func(in *app.ProvisionInput) {
			in.Channel, in.AutoRenew, in.UnitPrice = domain.ChannelOpen, false, domain.Money{Currency: "EUR"}
			in.Quantity, in.LicensedUserIDs = 2, []string{adminU}
		})
		s := h.provision(in)
		if want := []string{adminU}; !reflect.DeepEqual(s.LicensedUserIDs, want) || !reflect.DeepEqual(h.get(s.ID).LicensedUserIDs, want) {
			t.Fatalf("licensed users %v, stored %v; want %v", s.LicensedUserIDs, h.get(s.ID).LicensedUserIDs, want)
		}
		if again := h.provision(in); again.ID != s.ID || !reflect.DeepEqual(again.LicensedUserIDs, []string{adminU}) {
			t.Errorf("retried step: %s %v", again.ID, again.LicensedUserIDs)
		}
		if plain := h.provision(h.line(customerC, partnerA)); plain.LicensedUserIDs != nil {
			t.Errorf("a subscription provisioned without licensed users has %v", plain.LicensedUserIDs)
		}

		// 2 seats, 1 licensed: down to 1 is fine (the seats are recent).
		ctx := as(partnerA)
		if _, _, err := h.app.ChangeQuantity(ctx, app.Change{RequestID: h.rid(), SubscriptionID: s.ID}, 1); err != nil {
			t.Fatalf("down to the licensed users: %v", err)
		}
		// A renewal by key may not drop the licensed seat either (checked before the renewal window).
		two := h.provision(h.line(customerD, partnerA, func(in *app.ProvisionInput) {
			in.Quantity, in.LicensedUserIDs = 3, []string{adminU, userV}
		}))
		_, _, err := h.app.ChangeQuantity(ctx, app.Change{RequestID: h.rid(), SubscriptionID: two.ID}, 1)
		wantReason(t, err, errs.FailedPrecondition, domain.ReasonQuantityDecreaseNotAllowed)
		wantMeta(t, err, map[string]string{"licensed_users": "2"})
		_, err = h.app.PreviewQuantityChange(ctx, two.ID, 1)
		wantReason(t, err, errs.FailedPrecondition, domain.ReasonQuantityDecreaseNotAllowed)
		_, _, err = h.app.Renew(asSaga(partnerA), app.RenewInput{RequestID: h.rid(), SubscriptionID: two.ID,
			OrderID: "redeem-2", Term: domain.TermP1Y, Quantity: 1})
		wantReason(t, err, errs.FailedPrecondition, domain.ReasonQuantityDecreaseNotAllowed)
		if got := h.get(two.ID); got.Quantity != 3 || len(got.LicensedUserIDs) != 2 {
			t.Errorf("after refused decreases: %d seats, licensed %v", got.Quantity, got.LicensedUserIDs)
		}
	})
}

// ID-2: the licensed users are UUIDs of users, each once, at most one per seat, and only for a
// subscription being created; every problem is a field violation on licensed_user_ids.
func TestProvision_ID2_LicensedUsersRefused(t *testing.T) {
	h := sqliteHarness(t, 0)
	existing := h.provision(h.line(customerC, partnerA))
	for name, mod := range map[string]func(*app.ProvisionInput){
		"not a UUID":      func(in *app.ProvisionInput) { in.LicensedUserIDs = []string{"admin@contoso"} },
		"twice":           func(in *app.ProvisionInput) { in.LicensedUserIDs = []string{adminU, adminU} },
		"more than seats": func(in *app.ProvisionInput) { in.Quantity, in.LicensedUserIDs = 1, []string{adminU, userV} },
		"adding seats": func(in *app.ProvisionInput) {
			in.AddToSubscriptionID, in.LicensedUserIDs = existing.ID, []string{adminU}
		},
	} {
		_, _, err := h.app.Provision(asSaga(partnerA), h.line(customerC, partnerA, mod))
		wantReason(t, err, errs.InvalidArgument, errs.ReasonInvalidRequest)
		e, _ := errs.As(err)
		if len(e.Violations) != 1 || e.Violations[0].Field != "licensed_user_ids" {
			t.Errorf("%s: violations %+v, want one on licensed_user_ids", name, e.Violations)
		}
	}
	if n := len(h.events()); n != 1 {
		t.Errorf("%d events after refused steps, want the one CREATED", n)
	}
}

// SU-14: a direct move to the same or an equivalent offer keeps the licensed users on the
// target's subscription; to another offer the licenses are assigned anew (none carried over).
func TestTransfer_SU14_LicensedUsers(t *testing.T) {
	h := sqliteHarness(t, 0)
	licensed := func(in *app.ProvisionInput) { in.LicensedUserIDs = []string{adminU} }
	old := h.provision(h.line(customerC, partnerA, licensed, func(in *app.ProvisionInput) { in.SkuID = discontinuedSku }))
	cur := h.provision(h.line(customerC, partnerA, licensed))
	tr, err := h.app.CreateTransfer(as(partnerB), app.CreateTransferInput{RequestID: h.rid(), CustomerID: customerC,
		SourcePartnerID: partnerA, Items: []app.TransferItemSpec{{SubscriptionID: old.ID, TargetSkuID: equivalentSku},
			{SubscriptionID: cur.ID, TargetSkuID: otherSku}}})
	if err != nil {
		t.Fatal(err)
	}
	done, err := h.app.AcceptTransfer(as(partnerA), h.decision(tr), false)
	if err != nil {
		t.Fatal(err)
	}
	if got := h.get(done.Items[0].TargetSubscriptionID).LicensedUserIDs; !reflect.DeepEqual(got, []string{adminU}) {
		t.Errorf("moved to the equivalent offer: licensed %v, want the admin", got)
	}
	if got := h.get(done.Items[1].TargetSubscriptionID).LicensedUserIDs; len(got) != 0 {
		t.Errorf("moved to another offer: licensed %v, want none (license reassignment)", got)
	}
}
