package domain

import (
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// SU-14, CA-9: the same SKU or the equivalent of a discontinued one keeps the licenses; another
// offer needs reassignment; a discontinued target is refused with its equivalent.
func TestPlanItemTarget_SU14_CA9(t *testing.T) {
	sold := SkuInfo{ID: "A"}
	gone := SkuInfo{ID: "A", Discontinued: true, EquivalentSkuID: "A2"}
	tests := []struct {
		name           string
		source, target SkuInfo
		reassign       bool
		equivalent     string // non-empty: EQUIVALENT_OFFER_REQUIRED naming it
	}{
		{"same sold SKU", sold, sold, false, ""},
		{"another offer", sold, SkuInfo{ID: "B"}, true, ""},
		{"discontinued kept", gone, gone, false, "A2"},
		{"its equivalent", gone, SkuInfo{ID: "A2"}, false, ""},
		{"discontinued to another offer", gone, SkuInfo{ID: "B"}, true, ""},
		{"to a discontinued offer", sold, SkuInfo{ID: "C", Discontinued: true, EquivalentSkuID: "C2"}, false, "C2"},
	}
	for _, tt := range tests {
		reassign, err := PlanItemTarget(tt.source, tt.target)
		if tt.equivalent != "" {
			wantErr(t, err, errs.FailedPrecondition, ReasonEquivalentOfferRequired, map[string]string{"equivalent_sku_id": tt.equivalent})
			continue
		}
		if err != nil || reassign != tt.reassign {
			t.Errorf("%s: reassign %v, %v; want %v", tt.name, reassign, err, tt.reassign)
		}
	}
}

// SU-13: a direct move counts source and target side by side; UNSPECIFIED falls back to
// expire-and-repurchase, an explicit DIRECT_MOVE is refused with the numbers.
func TestChooseMethod_SU13(t *testing.T) {
	m, lim, err := ChooseMethod(MethodUnspecified, 300, 149, 150, true)
	if err != nil || m != MethodDirectMove || lim != (TenantLimit{300, 149, 299}) {
		t.Errorf("149 + 150: %s %+v %v; want DIRECT_MOVE peak 299", m, lim, err)
	}
	m, lim, err = ChooseMethod(MethodUnspecified, 0, 151, 151, true)
	if err != nil || m != MethodExpireAndRepurchase || lim != (TenantLimit{300, 151, 151}) {
		t.Errorf("151 + 151: %s %+v %v; want EXPIRE_AND_REPURCHASE peak 151", m, lim, err)
	}
	m, _, err = ChooseMethod(MethodUnspecified, 300, 1, 1, false)
	if err != nil || m != MethodExpireAndRepurchase {
		t.Errorf("an expired item: %s %v; want EXPIRE_AND_REPURCHASE", m, err)
	}
	_, lim, err = ChooseMethod(MethodDirectMove, 300, 151, 151, true)
	wantErr(t, err, errs.FailedPrecondition, ReasonTenantSubscriptionLimit, map[string]string{"limit": "300", "active": "151", "requested": "151"})
	if lim.Peak != 302 {
		t.Errorf("peak %d, want 302", lim.Peak)
	}
}

func TestCheckTransferable_SU12(t *testing.T) {
	s := sub()
	if err := CheckTransferable(s, MethodDirectMove); err != nil {
		t.Errorf("ACTIVE: %v", err)
	}
	s.State = StateExpired
	if err := CheckTransferable(s, MethodExpireAndRepurchase); err != nil {
		t.Errorf("EXPIRED, repurchase: %v", err)
	}
	wantErr(t, CheckTransferable(s, MethodDirectMove), errs.FailedPrecondition, ReasonInvalidStateTransition, map[string]string{"state": "EXPIRED"})
	s.State = StateSuspended
	wantErr(t, CheckTransferable(s, MethodUnspecified), errs.FailedPrecondition, ReasonInvalidStateTransition, map[string]string{"state": "SUSPENDED"})
	s.State, s.PendingTransferID = StateActive, "tr-1"
	wantErr(t, CheckTransferable(s, MethodUnspecified), errs.FailedPrecondition, ReasonTransferAlreadyPending, map[string]string{"transfer_id": "tr-1"})
}

func transfer() Transfer {
	end := date(2027, 1, 15)
	return Transfer{ID: "tr-1", Method: MethodExpireAndRepurchase, State: TransferAccepted, Items: []TransferItem{
		{SubscriptionID: "s1", TargetSkuID: "A", State: ItemAwaitingExpiry, SourceTermEnd: end},
		{SubscriptionID: "s2", TargetSkuID: "A", State: ItemAwaitingExpiry, SourceTermEnd: end.AddDate(0, 1, 0)},
	}}
}

// SU-12: expiry opens the repurchase, DISABLED closes it; the transfer completes when one moved
// and fails when none did.
func TestTransferProgress_SU12(t *testing.T) {
	tr := transfer()
	if got := RepurchaseDeadline(tr.Items); !got.Equal(date(2027, 3, 17)) {
		t.Errorf("deadline %s, want 2027-02-15 + 30 days", got)
	}
	s1 := sub()
	s1.ID, s1.State = "s1", StateExpired
	now := date(2027, 1, 15)
	tr2, settled, changed := SourceAdvanced(tr, s1, now)
	if settled || !changed || tr2.Items[0].State != ItemAwaitingRepurchase || tr.Items[0].State != ItemAwaitingExpiry {
		t.Fatalf("expired: %+v settled %v changed %v (input %+v)", tr2.Items[0], settled, changed, tr.Items[0])
	}
	if _, err := MatchRepurchase(tr2, "B", now); errs.ReasonOf(err) != ReasonInvalidStateTransition {
		t.Errorf("another SKU: %v", err)
	}
	it, err := MatchRepurchase(tr2, "A", now.AddDate(0, 0, 29))
	if err != nil || it.SubscriptionID != "s1" {
		t.Errorf("repurchase in the grace: %+v %v", it, err)
	}
	if _, err := MatchRepurchase(tr2, "A", now.AddDate(0, 0, 30)); errs.ReasonOf(err) != ReasonInvalidStateTransition {
		t.Errorf("repurchase after the grace: %v", err)
	}
	it.State, it.TargetSubscriptionID = ItemMoved, "t1"
	tr3 := Settle(tr2.WithItem(it), now)
	if tr3.State != TransferAccepted {
		t.Fatalf("one item still waiting: %s", tr3.State)
	}
	s2 := sub()
	s2.ID, s2.State = "s2", StateDisabled
	tr4, settled, _ := SourceAdvanced(tr3, s2, now.AddDate(0, 2, 0))
	if !settled || tr4.State != TransferCompleted || tr4.Items[1].State != ItemNotMoved || tr4.CompleteTime.IsZero() {
		t.Errorf("last item lost: %s %+v", tr4.State, tr4.Items)
	}
	none, _, _ := SourceAdvanced(tr, func() Subscription { s := s1; s.State = StateDisabled; return s }(), now)
	none, _, _ = SourceAdvanced(none, s2, now)
	if none.State != TransferFailed {
		t.Errorf("nothing moved: %s, want FAILED", none.State)
	}
}

func TestCheckPendingAndClose(t *testing.T) {
	tr := transfer()
	wantErr(t, CheckPending(tr), errs.FailedPrecondition, ReasonTransferNotPending, map[string]string{"state": "ACCEPTED"})
	tr.State = TransferPending
	if err := CheckPending(tr); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	c := Close(tr, TransferRejected, "u1", now)
	if c.State != TransferRejected || c.DecidedBy != "u1" || !c.CompleteTime.Equal(now) || c.Items[0].State != ItemNotMoved ||
		tr.Items[0].State != ItemAwaitingExpiry {
		t.Errorf("closed %+v", c)
	}
	if TransferEtag(Transfer{Version: 3}) != "v3" {
		t.Error("etag")
	}
}
