package domain_test

import (
	"slices"
	"testing"
	"time"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

var now = time.Date(2026, 3, 10, 14, 30, 0, 0, time.UTC)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestRedemptionReasons_InContract(t *testing.T) {
	for _, r := range domain.RedemptionReasons() {
		if _, ok := commonv1.ErrorReason_value["ERROR_REASON_"+string(r)]; !ok {
			t.Errorf("%s is not in partnerhub.common.v1.ErrorReason", r)
		}
	}
}

func tenant() *domain.NewTenant {
	return &domain.NewTenant{OrganisationName: "Contoso GmbH", CountryCode: "DE", DefaultDomain: "contoso.onmicrosoft.com",
		Admin: domain.TenantAdmin{GivenName: "Anna", FamilyName: "Admin", UserName: "anna@contoso.onmicrosoft.com",
			ContactEmail: "anna@contoso.example"}}
}

// KD-2, ID-2: the request needs 1..100 keys and one complete target.
func TestValidateRedemptionRequest_KD2_ID2(t *testing.T) {
	keys := []string{"AAAAA-BBBBB-CCCCC-DDDDD-EEEEE"}
	ok := []domain.RedemptionTarget{
		{Kind: domain.RedeemNewTenant, NewTenant: tenant()},
		{Kind: domain.RedeemNewSubscription, CustomerID: "3f0c2a4e-8d1b-4c5a-9e7f-1a2b3c4d5e6f"},
		{Kind: domain.RedeemAddSeats, SubscriptionID: "sub-1"},
		{Kind: domain.RedeemRenewal, SubscriptionID: "sub-1"},
	}
	for _, tg := range ok {
		if err := domain.ValidateRedemptionRequest(keys, tg); err != nil {
			t.Errorf("%s: %v", tg.Kind, err)
		}
	}
	bad := tenant()
	bad.CountryCode, bad.DefaultDomain, bad.Admin.UserName, bad.Admin.ContactEmail = "de", "x", "anna@other.com", ""
	for name, tc := range map[string]struct {
		keys   []string
		target domain.RedemptionTarget
		fields []string
	}{
		"no keys":         {nil, ok[0], []string{"product_keys"}},
		"too many":        {make([]string, 101), ok[0], []string{"product_keys"}},
		"no target":       {keys, domain.RedemptionTarget{}, []string{"target"}},
		"bad tenant":      {keys, domain.RedemptionTarget{Kind: domain.RedeemNewTenant, NewTenant: bad}, []string{"new_tenant.country_code", "new_tenant.default_domain", "new_tenant.admin.user_name", "new_tenant.admin.contact_email"}},
		"customer not ID": {keys, domain.RedemptionTarget{Kind: domain.RedeemNewSubscription, CustomerID: "c1"}, []string{"customer_id"}},
	} {
		err := domain.ValidateRedemptionRequest(tc.keys, tc.target)
		e, isErr := errs.As(err)
		if !isErr || e.Kind != errs.InvalidArgument {
			t.Errorf("%s: %v; want INVALID_ARGUMENT", name, err)
			continue
		}
		got := map[string]bool{}
		for _, v := range e.Violations {
			got[v.Field] = true
		}
		for _, f := range tc.fields {
			if !got[f] {
				t.Errorf("%s: no violation on %s in %v", name, f, e.Violations)
			}
		}
	}
	if p := tenant().DomainPrefix(); p != "contoso" {
		t.Errorf("DomainPrefix = %q", p)
	}
}

func sub(end time.Time, state domain.SubscriptionState) domain.SubscriptionFacts {
	return domain.SubscriptionFacts{ID: "sub-1", CustomerID: "cust-1", PartnerID: "partner-1", SkuID: "SKU:0001",
		State: state, Quantity: 10, MaxQuantity: 300, Term: domain.TermP1Y, TermStart: end.AddDate(-1, 0, 0), TermEnd: end}
}

// SU-4: redeemed before the end date, the new term starts on the redemption day and the days
// left are forfeited.
func TestPlanRenewal_BeforeEndDate_SU4(t *testing.T) {
	s := sub(day(2026, 3, 30), domain.SubscriptionActive) // 20 days left
	p, err := domain.PlanRenewal(s, domain.TermP1Y, now)
	if err != nil {
		t.Fatal(err)
	}
	want := domain.RenewalPlan{Timing: domain.RenewBeforeEndDate, Start: day(2026, 3, 10), End: day(2027, 3, 10), DaysForfeited: 20}
	if p != want {
		t.Errorf("plan %+v; want %+v", p, want)
	}
	// Exactly 30 days before the end date the window is open.
	s = sub(day(2026, 4, 9), domain.SubscriptionActive)
	if p, err := domain.PlanRenewal(s, domain.TermP1Y, now); err != nil || p.DaysForfeited != 30 {
		t.Errorf("30 days before: %+v, %v", p, err)
	}
}

// SU-4: redeemed after the end date, within the 30-day grace, the new term starts at the old end
// date: end = old end + 1 year, nothing forfeited.
func TestPlanRenewal_AfterEndDate_SU4(t *testing.T) {
	s := sub(day(2026, 2, 20), domain.SubscriptionExpired)
	p, err := domain.PlanRenewal(s, domain.TermP1Y, now)
	if err != nil {
		t.Fatal(err)
	}
	want := domain.RenewalPlan{Timing: domain.RenewInGrace, Start: day(2026, 2, 20), End: day(2027, 2, 20)}
	if p != want {
		t.Errorf("plan %+v; want %+v", p, want)
	}
	// On the end date itself the old term is over: the grace rule.
	s = sub(day(2026, 3, 10), domain.SubscriptionActive)
	if p, _ := domain.PlanRenewal(s, domain.TermP1Y, now); p.Timing != domain.RenewInGrace || !p.Start.Equal(day(2026, 3, 10)) {
		t.Errorf("on the end date: %+v", p)
	}
}

// SU-4, SU-2: the window opens 30 days before the end date; past the grace, or disabled,
// nothing can be renewed.
func TestPlanRenewal_Refused_SU4(t *testing.T) {
	_, err := domain.PlanRenewal(sub(day(2026, 4, 10), domain.SubscriptionActive), domain.TermP1Y, now)
	if e, ok := errs.As(err); !ok || e.Reason != domain.ReasonRenewalWindowNotOpen || e.Metadata["opens_at"] != "2026-03-11T00:00:00Z" {
		t.Errorf("31 days before: %v; want RENEWAL_WINDOW_NOT_OPEN opens_at 2026-03-11", err)
	}
	_, err = domain.PlanRenewal(sub(day(2026, 2, 8), domain.SubscriptionExpired), domain.TermP1Y, now)
	if !errs.HasReason(err, domain.ReasonInvalidStateTransition) {
		t.Errorf("30 days after the end: %v; want INVALID_STATE_TRANSITION", err)
	}
	for _, st := range []domain.SubscriptionState{domain.SubscriptionDisabled, domain.SubscriptionDeleted,
		domain.SubscriptionCancelled, domain.SubscriptionSuspended} {
		if _, err := domain.PlanRenewal(sub(day(2026, 3, 20), st), domain.TermP1Y, now); !errs.HasReason(err, domain.ReasonInvalidStateTransition) {
			t.Errorf("%s: %v; want INVALID_STATE_TRANSITION", st, err)
		}
	}
}

// SU-6: 10 seats with 100 days left plus 10 new one-year seats end in 232.5 → 233 days.
func TestCotermEnd_SU6(t *testing.T) {
	today := day(2026, 3, 10) // the next year has 365 days
	got := domain.CotermEnd(now, today.AddDate(0, 0, 100), 10, 10, domain.TermP1Y)
	if want := today.AddDate(0, 0, 233); !got.Equal(want) {
		t.Errorf("CotermEnd = %s; want %s", got, want)
	}
}

func verdicts() []domain.KeyVerdict {
	return []domain.KeyVerdict{
		{Index: 0, Masked: "*****-*****-*****-*****-AAAAA", Status: domain.KeyValid, SkuID: "SKU:0001", Seats: 5, Term: domain.TermP1Y},
		{Index: 1, Masked: "*****-*****-*****-*****-BBBBB", Status: domain.KeyValid, SkuID: "SKU:0001", Seats: 5, Term: domain.TermP1Y},
	}
}

func skus() map[string]domain.SKUFacts {
	return map[string]domain.SKUFacts{"SKU:0001": {SkuID: "SKU:0001", DisplayName: "Office 365 E3", MaxQuantity: 300}}
}

// KD-2, ID-2: a new tenant gets one subscription per SKU, one term from today; its admin is
// licensed.
func TestReview_NewTenant_KD2(t *testing.T) {
	r := domain.ReviewRedemption(domain.ReviewFacts{Target: domain.RedemptionTarget{Kind: domain.RedeemNewTenant, NewTenant: tenant()},
		Keys: verdicts(), SKUs: skus(), Now: now})
	if !r.Valid() || r.Err() != nil {
		t.Fatalf("problems %v", r.AllProblems())
	}
	if len(r.Groups) != 1 || r.Groups[0].Seats != 10 || len(r.Outcomes) != 1 {
		t.Fatalf("groups %+v outcomes %+v", r.Groups, r.Outcomes)
	}
	o := r.Outcomes[0]
	if o.Seats != 10 || o.TotalQuantity != 10 || !o.TermStart.Equal(day(2026, 3, 10)) || !o.TermEnd.Equal(day(2027, 3, 10)) || !o.AdminLicensed {
		t.Errorf("outcome %+v", o)
	}
	if r.Keys[0].DisplayName != "Office 365 E3" || r.Etag == "" {
		t.Errorf("review %+v", r)
	}
}

// ID-2, KD-2: a subscription a redemption creates licenses the first admin of the tenant it
// created, and nobody for any other redemption or before the tenant exists.
func TestRedemption_LicensedUsers_ID2(t *testing.T) {
	tests := []struct {
		name string
		r    domain.Redemption
		want []string
	}{
		{"new tenant, admin created", domain.Redemption{Kind: domain.RedeemNewTenant, AdminUserID: "u-1"}, []string{"u-1"}},
		{"new tenant not created yet", domain.Redemption{Kind: domain.RedeemNewTenant}, nil},
		{"new subscription of an existing tenant", domain.Redemption{Kind: domain.RedeemNewSubscription, AdminUserID: "u-1"}, nil},
		{"added seats", domain.Redemption{Kind: domain.RedeemAddSeats}, nil},
		{"renewal", domain.Redemption{Kind: domain.RedeemRenewal}, nil},
	}
	for _, tt := range tests {
		if got := tt.r.LicensedUsers(); !slices.Equal(got, tt.want) {
			t.Errorf("%s: LicensedUsers = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// KD-1, SU-6: added seats co-terminate; a key of another SKU is KEY_PRODUCT_MISMATCH.
func TestReview_AddSeats_SU6(t *testing.T) {
	s := sub(day(2026, 6, 18), domain.SubscriptionActive) // 100 days left
	f := domain.ReviewFacts{Target: domain.RedemptionTarget{Kind: domain.RedeemAddSeats, SubscriptionID: "sub-1"},
		Keys: verdicts(), SKUs: skus(), Subscription: &s, CallerPartnerID: "partner-1", Now: now}
	r := domain.ReviewRedemption(f)
	if !r.Valid() {
		t.Fatalf("problems %v", r.AllProblems())
	}
	o := r.Outcomes[0]
	if o.SubscriptionID != "sub-1" || o.Seats != 10 || o.TotalQuantity != 20 || !o.TermEnd.Equal(day(2026, 3, 10).AddDate(0, 0, 233)) {
		t.Errorf("outcome %+v", o)
	}
	f.Keys[1].SkuID = "OTHER:0001"
	f.SKUs["OTHER:0001"] = domain.SKUFacts{SkuID: "OTHER:0001"}
	r = domain.ReviewRedemption(f)
	err := r.Err()
	if e, ok := errs.As(err); !ok || e.Reason != domain.ReasonKeyProductMismatch || e.Kind != errs.FailedPrecondition ||
		len(e.Violations) != 1 || e.Violations[0].Field != "product_keys[1]" {
		t.Errorf("mismatch: %v", err)
	}
	// SU-8: someone else's subscription.
	f.Keys = verdicts()
	f.CallerPartnerID = "partner-2"
	if r := domain.ReviewRedemption(f); !errs.HasReason(r.Err(), domain.ReasonNotManagedByCaller) {
		t.Errorf("other partner: %v", r.Err())
	}
}

// SU-4: the review shows the renewal's dates and the days forfeited; too early is a problem with
// opens_at; the etag changes with the outcome.
func TestReview_Renewal_SU4(t *testing.T) {
	s := sub(day(2026, 3, 30), domain.SubscriptionActive)
	f := domain.ReviewFacts{Target: domain.RedemptionTarget{Kind: domain.RedeemRenewal, SubscriptionID: "sub-1"},
		Keys: verdicts(), SKUs: skus(), Subscription: &s, CallerPartnerID: "partner-1", Now: now}
	r := domain.ReviewRedemption(f)
	if !r.Valid() {
		t.Fatalf("problems %v", r.AllProblems())
	}
	if o := r.Outcomes[0]; o.DaysForfeited != 20 || !o.TermStart.Equal(day(2026, 3, 10)) || o.TotalQuantity != 10 {
		t.Errorf("outcome %+v", o)
	}
	f.Now = now.AddDate(0, 0, 1)
	if r2 := domain.ReviewRedemption(f); r2.Etag == r.Etag {
		t.Error("etag unchanged though the outcome changed")
	}
	f.Now = now.AddDate(0, 0, -15)
	if r := domain.ReviewRedemption(f); !errs.HasReason(r.Err(), domain.ReasonRenewalWindowNotOpen) {
		t.Errorf("early: %v", r.Err())
	}
}

// KD-1: every bad key is listed; the call fails with the first one's reason.
func TestReview_KeyProblems_KD1(t *testing.T) {
	vs := verdicts()
	vs = append(vs, domain.KeyVerdict{Index: 2, Status: domain.KeyMalformed}, domain.KeyVerdict{Index: 3, Status: domain.KeyRedeemed,
		SkuID: "SKU:0001"})
	vs[0].Status = domain.KeyReserved
	r := domain.ReviewRedemption(domain.ReviewFacts{Target: domain.RedemptionTarget{Kind: domain.RedeemNewSubscription, CustomerID: "c"},
		Keys: vs, SKUs: skus(), Now: now})
	e, ok := errs.As(r.Err())
	if !ok || e.Reason != domain.ReasonKeyReserved || len(e.Violations) != 3 || e.Metadata["index"] != "0" {
		t.Fatalf("err %v", r.Err())
	}
	if e.Violations[1].Field != "product_keys[2]" || e.Violations[2].Field != "product_keys[3]" {
		t.Errorf("violations %v", e.Violations)
	}
	if len(r.Groups) != 1 || r.Groups[0].Seats != 5 {
		t.Errorf("only valid keys are grouped: %+v", r.Groups)
	}
}

func TestGroupKeys_KD2(t *testing.T) {
	vs := []domain.KeyVerdict{
		{Index: 0, Status: domain.KeyValid, SkuID: "B", Seats: 1, Term: domain.TermP1Y},
		{Index: 1, Status: domain.KeyValid, SkuID: "A", Seats: 2, Term: domain.TermP1Y},
		{Index: 2, Status: domain.KeyValid, SkuID: "B", Seats: 3, Term: domain.TermP1Y},
	}
	gs := domain.GroupKeys(vs)
	if len(gs) != 2 || gs[0].ID != "B/P1Y" || gs[0].Seats != 4 || len(gs[0].Indexes) != 2 || gs[1].SkuID != "A" {
		t.Errorf("groups %+v", gs)
	}
}

func TestRequestFingerprint_KD8(t *testing.T) {
	tg := domain.RedemptionTarget{Kind: domain.RedeemAddSeats, SubscriptionID: "s"}
	a := domain.RequestFingerprint([]string{"abcde-fghij-klmno-pqrst-uvwxy"}, tg)
	b := domain.RequestFingerprint([]string{"ABCDEFGHIJKLMNOPQRSTUVWXY"}, tg)
	if a != b {
		t.Error("normalised keys differ")
	}
	if c := domain.RequestFingerprint([]string{"ABCDEFGHIJKLMNOPQRSTUVWXZ"}, tg); c == a {
		t.Error("other keys, same fingerprint")
	}
}
