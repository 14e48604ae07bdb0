package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// This file is the key redemption as data (KD-1, KD-2, SU-4, SU-6, ID-2): the request and its
// validation, the review (what redeeming would do, with every problem), the SU-4 renewal timing and
// SU-6 co-termination, and the redemption itself. The saga that runs it is redemption_saga.go.

// RedemptionKind is what a redemption does (partnerhub.orders.v1.RedemptionKind without prefix).
type RedemptionKind string

// The redemption kinds.
const (
	RedeemNewTenant       RedemptionKind = "NEW_TENANT"       // KD-2, ID-2: tenant + subscriptions
	RedeemNewSubscription RedemptionKind = "NEW_SUBSCRIPTION" // KD-1: subscriptions in an existing tenant
	RedeemAddSeats        RedemptionKind = "ADD_SEATS"        // KD-1, SU-6: seats added, co-terminated
	RedeemRenewal         RedemptionKind = "RENEWAL"          // KD-1, SU-4: a new term
)

// RedemptionState is where a redemption is (partnerhub.orders.v1.RedemptionState without prefix).
type RedemptionState string

// The redemption states.
const (
	RedemptionProcessing RedemptionState = "PROCESSING"
	RedemptionCompleted  RedemptionState = "COMPLETED"
	RedemptionFailed     RedemptionState = "FAILED"
)

// The reasons a redemption raises besides the order domain's (reasons.go); each exists in
// partnerhub.common.v1.ErrorReason (TestRedemptionReasons_InContract).
const (
	ReasonKeyMalformed          errs.Reason = "KEY_MALFORMED"           // KD-1 (metadata index)
	ReasonKeyAlreadyRedeemed    errs.Reason = "KEY_ALREADY_REDEEMED"    // KD-1 (metadata index)
	ReasonKeyReserved           errs.Reason = "KEY_RESERVED"            // held by another redemption
	ReasonKeyProductMismatch    errs.Reason = "KEY_PRODUCT_MISMATCH"    // key for another SKU (metadata sku_id, subscription_sku_id)
	ReasonRenewalWindowNotOpen  errs.Reason = "RENEWAL_WINDOW_NOT_OPEN" // SU-4 (metadata opens_at)
	ReasonCountryNotSupported   errs.Reason = "COUNTRY_NOT_SUPPORTED"   // ID-3
	ReasonDomainTaken           errs.Reason = "DOMAIN_TAKEN"            // ID-2
	ReasonRelationshipRequired  errs.Reason = "RELATIONSHIP_REQUIRED"   // ID-4
	ReasonNotManagedByCaller    errs.Reason = "NOT_MANAGED_BY_CALLER"   // SU-8
	ReasonQuantityAboveMaximum  errs.Reason = "QUANTITY_ABOVE_MAXIMUM"  // metadata maximum
	ReasonMarketNotAvailable    errs.Reason = "MARKET_NOT_AVAILABLE"    // CA-2
	ReasonProgramNotEnrolled    errs.Reason = "PROGRAM_NOT_ENROLLED"    // ID-1: Open program
	ReasonReservationExpired    errs.Reason = "RESERVATION_EXPIRED"     // the saga outlived the hold
	ReasonReservationNotActive  errs.Reason = "RESERVATION_NOT_ACTIVE"  // released or confirmed
	ReasonTenantSubscriptionCap errs.Reason = "TENANT_SUBSCRIPTION_LIMIT"
)

// RedemptionReasons lists the reasons above plus the general ones a review uses.
func RedemptionReasons() []errs.Reason {
	return []errs.Reason{ReasonKeyMalformed, ReasonKeyAlreadyRedeemed, ReasonKeyReserved,
		ReasonKeyProductMismatch, ReasonRenewalWindowNotOpen, ReasonCountryNotSupported, ReasonDomainTaken,
		ReasonRelationshipRequired, ReasonNotManagedByCaller, ReasonQuantityAboveMaximum,
		ReasonMarketNotAvailable, ReasonProgramNotEnrolled, ReasonReservationExpired,
		ReasonReservationNotActive, ReasonTenantSubscriptionCap, errs.ReasonResourceNotFound,
		errs.ReasonTenantMismatch, errs.ReasonInvalidRequest}
}

// MaxRedemptionKeys is the most keys one redemption takes (KD-2: several in one go).
const MaxRedemptionKeys = 100

// RenewalWindowDays: renewal by key becomes possible this many days before the end date; and a
// subscription stays EXPIRED, renewable, this many days after it (SU-4, SU-2).
const RenewalWindowDays = 30

// NewTenant is the customer account a redemption creates (KD-2, ID-2).
type NewTenant struct {
	OrganisationName string
	CountryCode      string // ISO 3166-1 alpha-2, upper case (ID-3)
	DefaultDomain    string // "<prefix>.onmicrosoft.com"-style, unique (ID-2)
	Admin            TenantAdmin
}

// TenantAdmin is the tenant's first admin (ID-2): admin rights and, created by key redemption,
// one license of the redeemed subscription.
type TenantAdmin struct {
	GivenName    string
	FamilyName   string
	UserName     string // "<local>@<default domain>"; empty: "admin@<default domain>"
	ContactEmail string
}

// DisplayName is the admin's name as people see it.
func (a TenantAdmin) DisplayName() string {
	return strings.TrimSpace(a.GivenName + " " + a.FamilyName)
}

// DomainPrefix is the default domain's first label ("contoso" of "contoso.onmicrosoft.com"), which
// identity's CreateCustomer takes.
func (t NewTenant) DomainPrefix() string {
	p, _, _ := strings.Cut(strings.ToLower(t.DefaultDomain), ".")
	return p
}

// RedemptionTarget is what the keys are redeemed for: exactly one of a new tenant, an existing
// customer, a subscription to add seats to, or a subscription to renew.
type RedemptionTarget struct {
	Kind           RedemptionKind
	NewTenant      *NewTenant // RedeemNewTenant
	CustomerID     string     // RedeemNewSubscription
	SubscriptionID string     // RedeemAddSeats, RedeemRenewal
}

// isCountryCode: two upper-case ASCII letters (ISO 3166-1 alpha-2 shape).
func isCountryCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

// isDomainPrefix: 2..27 lower-case letters and digits, starting with a letter (identity's rule).
func isDomainPrefix(s string) bool {
	if len(s) < 2 || len(s) > 27 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// ValidateRedemptionRequest checks the shape of a request (1..100 keys, one target, a complete new
// tenant): INVALID_ARGUMENT / INVALID_REQUEST listing every bad field. A key's format is not
// checked here: a malformed key is a problem of the review (KEY_MALFORMED), per key.
func ValidateRedemptionRequest(keys []string, t RedemptionTarget) error {
	var v errs.Violations
	switch {
	case len(keys) == 0:
		v.Add("product_keys", "at least one product key is required")
	case len(keys) > MaxRedemptionKeys:
		v.Add("product_keys", "at most %d product keys, got %d", MaxRedemptionKeys, len(keys))
	}
	switch t.Kind {
	case RedeemNewTenant:
		if t.NewTenant == nil {
			v.Add("new_tenant", "required")
			break
		}
		validateNewTenant(&v, *t.NewTenant)
	case RedeemNewSubscription:
		if err := errs.CheckUUID("customer_id", t.CustomerID); err != nil {
			v.Add("customer_id", "must be a tenant ID (UUID)")
		}
	case RedeemAddSeats:
		if t.SubscriptionID == "" {
			v.Add("add_seats_subscription_id", "required")
		}
	case RedeemRenewal:
		if t.SubscriptionID == "" {
			v.Add("renew_subscription_id", "required")
		}
	default:
		v.Add("target", "one of new_tenant, customer_id, add_seats_subscription_id, renew_subscription_id is required")
	}
	return v.Err()
}

func validateNewTenant(v *errs.Violations, t NewTenant) {
	if n := utf8.RuneCountInString(strings.TrimSpace(t.OrganisationName)); n < 1 || n > 256 {
		v.Add("new_tenant.organisation_name", "1..256 characters")
	}
	if !isCountryCode(t.CountryCode) {
		v.Add("new_tenant.country_code", "an ISO 3166-1 alpha-2 code in upper case, e.g. DE")
	}
	if !isDomainPrefix(t.DomainPrefix()) || !strings.Contains(t.DefaultDomain, ".") {
		v.Add("new_tenant.default_domain", "\"<prefix>.onmicrosoft.com\" with a prefix of 2..27 lower-case letters and digits, starting with a letter")
	}
	a := t.Admin
	if n := utf8.RuneCountInString(a.DisplayName()); n < 1 || n > 256 {
		v.Add("new_tenant.admin.given_name", "the admin's name is required (1..256 characters)")
	}
	if a.UserName != "" {
		local, dom, ok := strings.Cut(a.UserName, "@")
		if !ok || local == "" || !strings.EqualFold(dom, t.DefaultDomain) {
			v.Add("new_tenant.admin.user_name", "must be <name>@%s", t.DefaultDomain)
		}
	}
	if _, dom, ok := strings.Cut(a.ContactEmail, "@"); !ok || dom == "" || strings.HasPrefix(a.ContactEmail, "@") {
		v.Add("new_tenant.admin.contact_email", "an e-mail address is required")
	}
}

// KeyStatus is the keys service's verdict on one typed key (KD-1).
type KeyStatus string

// The key verdicts.
const (
	KeyValid     KeyStatus = "VALID"
	KeyMalformed KeyStatus = "MALFORMED"
	KeyUnknown   KeyStatus = "UNKNOWN"
	KeyRedeemed  KeyStatus = "REDEEMED"
	KeyReserved  KeyStatus = "RESERVED"
	KeyDuplicate KeyStatus = "DUPLICATE"
)

// KeyVerdict is what the keys service says about one typed key, with its card's SKU, seats and
// term when the key is known. Masked shows only the last five characters (KD-8).
type KeyVerdict struct {
	Index  int
	Masked string
	Status KeyStatus
	SkuID  string
	Seats  int32
	Term   Term // "P1Y" for Office 365 key cards
}

// Problem is one thing that would make a redemption fail, as the review step lists it (KD-2).
type Problem struct {
	Reason   errs.Reason
	Field    string // e.g. "product_keys[2]"; "" for the whole request
	Message  string
	Metadata map[string]string
}

func keyProblem(v KeyVerdict) (Problem, bool) {
	field := fmt.Sprintf("product_keys[%d]", v.Index)
	md := map[string]string{"index": fmt.Sprint(v.Index)}
	switch v.Status {
	case KeyValid:
		return Problem{}, false
	case KeyMalformed:
		return Problem{ReasonKeyMalformed, field, "not a product key: 25 letters and digits in five groups of five (KD-1)", md}, true
	case KeyUnknown:
		return Problem{errs.ReasonResourceNotFound, field, "no such product key", md}, true
	case KeyRedeemed:
		return Problem{ReasonKeyAlreadyRedeemed, field, "the key was redeemed already; a key is redeemed once (KD-1)", md}, true
	case KeyReserved:
		return Problem{ReasonKeyReserved, field, "the key is held by another redemption", md}, true
	case KeyDuplicate:
		return Problem{errs.ReasonInvalidRequest, field, "the key appears more than once in the request", md}, true
	}
	return Problem{errs.ReasonInvalidRequest, field, fmt.Sprintf("unexpected key verdict %q", v.Status), md}, true
}

// KeyGroup is the valid keys of one SKU and term: the unit the saga reserves, provisions and
// confirms (one subscription per group). ID is stable for a redemption (it names request IDs).
type KeyGroup struct {
	ID      string // "<sku>/<term>"
	SkuID   string
	Term    Term
	Seats   int32 // the keys' seats added up
	Indexes []int // positions of the keys in the request, ascending
}

// GroupKeys groups the valid keys by SKU and term, groups in the order of their first key.
func GroupKeys(vs []KeyVerdict) []KeyGroup {
	var gs []KeyGroup
	at := map[string]int{}
	for _, v := range vs {
		if v.Status != KeyValid {
			continue
		}
		id := v.SkuID + "/" + string(v.Term)
		i, ok := at[id]
		if !ok {
			i = len(gs)
			at[id] = i
			gs = append(gs, KeyGroup{ID: id, SkuID: v.SkuID, Term: v.Term})
		}
		gs[i].Seats += v.Seats
		gs[i].Indexes = append(gs[i].Indexes, v.Index)
	}
	return gs
}

// SubscriptionState is a subscription's lifecycle state (SU-1).
type SubscriptionState string

// The subscription states.
const (
	SubscriptionActive    SubscriptionState = "ACTIVE"
	SubscriptionSuspended SubscriptionState = "SUSPENDED"
	SubscriptionExpired   SubscriptionState = "EXPIRED"
	SubscriptionDisabled  SubscriptionState = "DISABLED"
	SubscriptionDeleted   SubscriptionState = "DELETED"
	SubscriptionCancelled SubscriptionState = "CANCELLED"
)

// SubscriptionFacts is what a redemption needs to know of the subscription it extends or renews.
type SubscriptionFacts struct {
	ID          string
	CustomerID  string
	PartnerID   string // partner of record; "" when bought directly (SU-8)
	SkuID       string
	State       SubscriptionState
	Quantity    int32
	MaxQuantity int32
	Term        Term
	TermStart   time.Time // 00:00 UTC
	TermEnd     time.Time // exclusive, 00:00 UTC
	ReadOnly    bool      // the caller may not change it (SU-8, ID-6)
}

// Day is t's day at 00:00 UTC: dates of a term are days.
func Day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// AddTerm is t plus one term (P1M, P1Y, P3Y); a perpetual or unknown term adds one year, the term
// of Office 365 key cards.
func AddTerm(t time.Time, term Term) time.Time {
	switch term {
	case TermP1M:
		return t.AddDate(0, 1, 0)
	case TermP3Y:
		return t.AddDate(3, 0, 0)
	}
	return t.AddDate(1, 0, 0)
}

func daysBetween(a, b time.Time) int {
	return int(math.Round(Day(b).Sub(Day(a)).Hours() / 24))
}

// RenewalTiming says which SU-4 rule a renewal by key follows.
type RenewalTiming string

// The renewal timings.
const (
	RenewBeforeEndDate RenewalTiming = "BEFORE_END_DATE" // new term from the redemption day; days left are lost
	RenewInGrace       RenewalTiming = "IN_GRACE"        // new term from the old end date
)

// RenewalPlan is what renewing a subscription by key does (SU-4).
type RenewalPlan struct {
	Timing        RenewalTiming
	Start, End    time.Time
	DaysForfeited int32
}

// PlanRenewal applies SU-4 to renewing sub for one term at now: renewal opens 30 days before the
// end date (RENEWAL_WINDOW_NOT_OPEN before, metadata opens_at); redeemed before the end date the new
// term starts on the redemption day and the days left are forfeited; redeemed at or after the end
// date, within the 30-day EXPIRED grace, it starts at the old end date (end = old end + term). A
// suspended, disabled, deleted or cancelled subscription, or one past the grace, cannot be renewed
// (INVALID_STATE_TRANSITION).
func PlanRenewal(sub SubscriptionFacts, term Term, now time.Time) (RenewalPlan, error) {
	switch sub.State {
	case SubscriptionActive, SubscriptionExpired:
	default:
		return RenewalPlan{}, errs.New(errs.FailedPrecondition, ReasonInvalidStateTransition,
			"subscription %s is %s and cannot be renewed (SU-4)", sub.ID, sub.State).With("state", sub.State)
	}
	today, end := Day(now), Day(sub.TermEnd)
	opens := end.AddDate(0, 0, -RenewalWindowDays)
	if today.Before(opens) {
		return RenewalPlan{}, errs.New(errs.FailedPrecondition, ReasonRenewalWindowNotOpen,
			"renewal by key opens %d days before the end date %s (SU-4)", RenewalWindowDays, end.Format(time.DateOnly)).
			With("opens_at", opens.Format(time.RFC3339))
	}
	if today.Before(end) {
		return RenewalPlan{Timing: RenewBeforeEndDate, Start: today, End: AddTerm(today, term),
			DaysForfeited: int32(daysBetween(today, end))}, nil
	}
	if !today.Before(end.AddDate(0, 0, RenewalWindowDays)) {
		return RenewalPlan{}, errs.New(errs.FailedPrecondition, ReasonInvalidStateTransition,
			"subscription %s ended on %s, more than %d days ago: it can no longer be renewed (SU-2, SU-4)",
			sub.ID, end.Format(time.DateOnly), RenewalWindowDays).With("state", SubscriptionDisabled)
	}
	return RenewalPlan{Timing: RenewInGrace, Start: end, End: AddTerm(end, term)}, nil
}

// CotermEnd is the end date shared by a subscription after adding qNew seats of one term at now
// (SU-6): today + (qOld × days_left + qNew × term_days) / (qOld + qNew), rounded half up to whole
// days.
func CotermEnd(now, oldEnd time.Time, qOld, qNew int32, term Term) time.Time {
	today := Day(now)
	left := max(0, daysBetween(today, oldEnd))
	termDays := daysBetween(today, AddTerm(today, term))
	num := int64(qOld)*int64(left) + int64(qNew)*int64(termDays)
	den := int64(qOld) + int64(qNew)
	if den <= 0 {
		return AddTerm(today, term)
	}
	days := (2*num + den) / (2 * den) // half up
	return today.AddDate(0, 0, int(days))
}

// SKUFacts is what the catalog says about a key's SKU in the target's market.
type SKUFacts struct {
	SkuID       string
	ProductID   string
	DisplayName string
	Kind        ProductKind
	MaxQuantity int32
	// Unavailable is the catalog's refusal for the market (MARKET_NOT_AVAILABLE,
	// COUNTRY_NOT_SUPPORTED, SKU_DISCONTINUED …); "" when the SKU is sold there.
	Unavailable errs.Reason
	Policy      CancellationPolicy
	WindowDays  int32
	AutoRenew   bool
	Currency    string // the market's ISO 4217 currency; "" when the catalog gave no price
}

// Outcome is what a redemption does, or would do, to one subscription (one key group).
type Outcome struct {
	GroupID        string
	SubscriptionID string // "" on review of a new subscription
	SkuID          string
	DisplayName    string
	Kind           RedemptionKind
	Seats          int32 // seats the keys add (renewal: the new term's quantity)
	TotalQuantity  int32
	TermStart      time.Time
	TermEnd        time.Time
	DaysForfeited  int32 // SU-4: before the end date
	// AdminLicensed is set on the subscriptions of a new tenant: its first admin gets one of
	// their licenses (ID-2, KD-2; Redemption.LicensedUsers). On review it is what will happen;
	// once the subscription is created, what subscriptions answered: the admin is among the
	// subscription's licensed users.
	AdminLicensed bool
}

// ReviewFacts is everything the app gathered from the peers for a review.
type ReviewFacts struct {
	Target RedemptionTarget
	Keys   []KeyVerdict // one per typed key, in request order
	// SKUs by SKU ID, for the keys' SKUs; a missing SKU was not found by the catalog.
	SKUs map[string]SKUFacts
	// Subscription is the target of RedeemAddSeats and RedeemRenewal.
	Subscription *SubscriptionFacts
	// CallerPartnerID is the redeeming partner; "" for a customer redeeming for itself.
	CallerPartnerID string
	// TargetProblems are problems the app found about the target (RELATIONSHIP_REQUIRED,
	// COUNTRY_NOT_SUPPORTED, DOMAIN_TAKEN, PROGRAM_NOT_ENROLLED …).
	TargetProblems []Problem
	Now            time.Time
}

// KeyReview is one key's review (KD-2).
type KeyReview struct {
	KeyVerdict
	DisplayName string
	Problems    []Problem
}

// Valid reports whether the key can be redeemed as requested.
func (k KeyReview) Valid() bool { return k.Status == KeyValid && len(k.Problems) == 0 }

// Review is what redeeming would do (the review step, KD-2): per key, per subscription, and every
// problem. Etag fingerprints the outcome, so RedeemProductKeys can tell that it changed.
type Review struct {
	Kind     RedemptionKind
	Keys     []KeyReview
	Problems []Problem // of the target
	Groups   []KeyGroup
	Outcomes []Outcome
	Time     time.Time
	Etag     string
}

// Valid reports whether there is no problem at all.
func (r Review) Valid() bool { return len(r.AllProblems()) == 0 }

// AllProblems lists the keys' problems in key order, then the target's.
func (r Review) AllProblems() []Problem {
	var ps []Problem
	for _, k := range r.Keys {
		ps = append(ps, k.Problems...)
	}
	return append(ps, r.Problems...)
}

// Err is the error RedeemProductKeys fails with when the review has problems: the first
// problem's reason (kind per reason, with its metadata) and a field violation for every problem
// (google.rpc.BadRequest). Nil for a valid review.
func (r Review) Err() error {
	ps := r.AllProblems()
	if len(ps) == 0 {
		return nil
	}
	first := ps[0]
	e := errs.New(problemKind(first.Reason), first.Reason, "%s", first.Message)
	for _, k := range slices.Sorted(mapsKeys(first.Metadata)) {
		e = e.With(k, first.Metadata[k])
	}
	for _, p := range ps {
		field := p.Field
		if field == "" {
			field = targetField(r.Kind)
		}
		e.Violations = append(e.Violations, errs.FieldViolation{Field: field,
			Description: string(p.Reason) + ": " + p.Message})
	}
	return e
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func targetField(k RedemptionKind) string {
	switch k {
	case RedeemNewTenant:
		return "new_tenant"
	case RedeemNewSubscription:
		return "customer_id"
	case RedeemAddSeats:
		return "add_seats_subscription_id"
	case RedeemRenewal:
		return "renew_subscription_id"
	}
	return "target"
}

// problemKind is the error kind of a problem's reason when it fails the whole call.
func problemKind(r errs.Reason) errs.Kind {
	switch r {
	case ReasonKeyMalformed, errs.ReasonInvalidRequest:
		return errs.InvalidArgument
	case errs.ReasonResourceNotFound:
		return errs.NotFound
	case ReasonDomainTaken:
		return errs.AlreadyExists
	case errs.ReasonTenantMismatch, ReasonNotManagedByCaller, ReasonProgramNotEnrolled:
		return errs.PermissionDenied
	case errs.ReasonEtagMismatch:
		return errs.Aborted
	}
	return errs.FailedPrecondition
}

// ReviewRedemption computes the review from the gathered facts (KD-2): each key's problems, the
// target's (KEY_PRODUCT_MISMATCH, RENEWAL_WINDOW_NOT_OPEN, INVALID_STATE_TRANSITION,
// NOT_MANAGED_BY_CALLER, QUANTITY_ABOVE_MAXIMUM, MARKET_NOT_AVAILABLE and the app's), and per key
// group the outcome if redeemed at f.Now: a new subscription for one term from today; added seats
// with the co-terminated end date (SU-6); or a renewal per SU-4.
func ReviewRedemption(f ReviewFacts) Review {
	r := Review{Kind: f.Target.Kind, Time: f.Now, Problems: slices.Clone(f.TargetProblems)}
	for _, v := range f.Keys {
		kr := KeyReview{KeyVerdict: v}
		if p, bad := keyProblem(v); bad {
			kr.Problems = append(kr.Problems, p)
		} else if sku, ok := f.SKUs[v.SkuID]; ok {
			kr.DisplayName = sku.DisplayName
		}
		r.Keys = append(r.Keys, kr)
	}
	r.Groups = GroupKeys(f.Keys)
	// Catalog: the SKU is known and sold in the target's market (CA-2).
	for _, g := range r.Groups {
		if f.SKUs == nil { // the catalog was not asked (no market known)
			break
		}
		switch sku, ok := f.SKUs[g.SkuID]; {
		case !ok:
			r.addKeyProblems(g, errs.ReasonResourceNotFound, "the key's SKU %s is not in the catalog", g.SkuID)
		case sku.Unavailable != "":
			r.addKeyProblems(g, sku.Unavailable, "the key's SKU %s is not sold in the customer's market", g.SkuID)
		}
	}
	sub := f.Subscription
	switch f.Target.Kind {
	case RedeemAddSeats, RedeemRenewal:
		if sub == nil {
			r.Problems = append(r.Problems, Problem{Reason: errs.ReasonResourceNotFound,
				Message: "the subscription was not found"})
			break
		}
		for _, g := range r.Groups {
			if g.SkuID != sub.SkuID {
				r.addKeyProblems(g, ReasonKeyProductMismatch,
					"the key is for SKU %s, the subscription for %s", g.SkuID, sub.SkuID)
			}
		}
		if sub.ReadOnly || (sub.PartnerID != "" && f.CallerPartnerID != "" && sub.PartnerID != f.CallerPartnerID) {
			r.Problems = append(r.Problems, Problem{Reason: ReasonNotManagedByCaller,
				Message: "the subscription is managed by someone else (SU-8)"})
		}
	}
	for _, g := range r.Groups {
		o := Outcome{GroupID: g.ID, SkuID: g.SkuID, DisplayName: f.SKUs[g.SkuID].DisplayName, Kind: f.Target.Kind,
			Seats: g.Seats}
		switch f.Target.Kind {
		case RedeemNewTenant, RedeemNewSubscription:
			o.TotalQuantity = g.Seats
			o.TermStart = Day(f.Now)
			o.TermEnd = AddTerm(o.TermStart, g.Term)
			o.AdminLicensed = f.Target.Kind == RedeemNewTenant
			if sku, ok := f.SKUs[g.SkuID]; ok && sku.MaxQuantity > 0 && g.Seats > sku.MaxQuantity {
				r.Problems = append(r.Problems, quantityProblem(g.Seats, sku.MaxQuantity))
			}
		case RedeemAddSeats:
			if sub == nil || g.SkuID != sub.SkuID {
				continue
			}
			o.SubscriptionID, o.TotalQuantity = sub.ID, sub.Quantity+g.Seats
			o.TermStart = sub.TermStart
			o.TermEnd = CotermEnd(f.Now, sub.TermEnd, sub.Quantity, g.Seats, g.Term)
			if sub.State != SubscriptionActive {
				r.Problems = append(r.Problems, Problem{Reason: ReasonInvalidStateTransition,
					Message:  fmt.Sprintf("seats can be added only to an ACTIVE subscription; it is %s", sub.State),
					Metadata: map[string]string{"state": string(sub.State)}})
			}
			if m := maxQuantity(sub, f.SKUs[g.SkuID]); m > 0 && o.TotalQuantity > m {
				r.Problems = append(r.Problems, quantityProblem(o.TotalQuantity, m))
			}
		case RedeemRenewal:
			if sub == nil || g.SkuID != sub.SkuID {
				continue
			}
			plan, err := PlanRenewal(*sub, g.Term, f.Now)
			if e, ok := errs.As(err); ok {
				r.Problems = append(r.Problems, Problem{Reason: e.Reason, Message: e.Message, Metadata: e.Metadata})
				continue
			}
			o.SubscriptionID, o.TotalQuantity = sub.ID, g.Seats
			o.TermStart, o.TermEnd, o.DaysForfeited = plan.Start, plan.End, plan.DaysForfeited
			if m := maxQuantity(sub, f.SKUs[g.SkuID]); m > 0 && g.Seats > m {
				r.Problems = append(r.Problems, quantityProblem(g.Seats, m))
			}
		}
		r.Outcomes = append(r.Outcomes, o)
	}
	if f.Target.Kind == RedeemRenewal && len(r.Groups) > 1 {
		r.Problems = append(r.Problems, Problem{Reason: ReasonKeyProductMismatch,
			Message: "a renewal takes keys of one SKU and term only"})
	}
	r.Etag = r.fingerprint()
	return r
}

func maxQuantity(sub *SubscriptionFacts, sku SKUFacts) int32 {
	if sub.MaxQuantity > 0 {
		return sub.MaxQuantity
	}
	return sku.MaxQuantity
}

func quantityProblem(q, maxQ int32) Problem {
	return Problem{Reason: ReasonQuantityAboveMaximum,
		Message:  fmt.Sprintf("the quantity would be %d, the SKU allows at most %d", q, maxQ),
		Metadata: map[string]string{"maximum": fmt.Sprint(maxQ), "requested": fmt.Sprint(q)}}
}

func (r *Review) addKeyProblems(g KeyGroup, reason errs.Reason, format string, args ...any) {
	for _, i := range g.Indexes {
		for j := range r.Keys {
			if r.Keys[j].Index == i {
				r.Keys[j].Problems = append(r.Keys[j].Problems, Problem{Reason: reason,
					Field: fmt.Sprintf("product_keys[%d]", i), Message: fmt.Sprintf(format, args...),
					Metadata: map[string]string{"index": fmt.Sprint(i), "sku_id": g.SkuID}})
			}
		}
	}
}

// fingerprint is the review's etag: a hash of what redeeming would do (kind, each key's verdict,
// the outcomes and the problems' reasons), so that a RedeemProductKeys whose review would differ
// is refused with ETAG_MISMATCH.
func (r Review) fingerprint() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", r.Kind)
	for _, k := range r.Keys {
		fmt.Fprintf(&b, "k %d %s %s %d %s\n", k.Index, k.Status, k.SkuID, k.Seats, k.Term)
	}
	for _, o := range r.Outcomes {
		fmt.Fprintf(&b, "o %s %s %d %d %s %s %d\n", o.GroupID, o.SubscriptionID, o.Seats, o.TotalQuantity,
			o.TermStart.Format(time.DateOnly), o.TermEnd.Format(time.DateOnly), o.DaysForfeited)
	}
	for _, p := range r.AllProblems() {
		fmt.Fprintf(&b, "p %s %s\n", p.Reason, p.Field)
	}
	h := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(h[:12])
}

// Actor is the principal a redemption acts for, kept so that a saga resumed after a crash calls
// the peers on behalf of the same caller (svc.OnBehalfOf).
type Actor struct {
	Subject string
	OrgID   string
	OrgKind string // "PARTNER" or "CUSTOMER"
	Roles   []string
}

// Redemption is one redemption of product keys (KD-1, KD-2, SU-4), as stored and shown. The keys
// themselves are never part of it: Keys are the review of each key, masked (KD-8).
type Redemption struct {
	ID         string
	RequestID  string // the client's request_id (OR-7)
	PartnerID  string // "" when a customer redeemed for its own tenant
	CustomerID string // the target tenant; for NEW_TENANT "" until created
	Kind       RedemptionKind
	State      RedemptionState
	// Target is what was asked (the new tenant, or the subscription to extend or renew).
	Target        RedemptionTarget
	TenantCreated bool
	AdminUserID   string // NEW_TENANT: the first admin, licensed on the new subscriptions (ID-2)
	Keys          []KeyReview
	Groups        []KeyGroup
	Outcomes      []Outcome // one per group; IDs and dates filled in as the saga runs
	SKUs          map[string]SKUFacts
	Failure       *Failure
	Actor         Actor
	// Fingerprint identifies the request's content, so the same request_id with another request
	// is refused (REQUEST_ID_REUSED, OR-7).
	Fingerprint  string
	Version      int64
	CreateTime   time.Time
	UpdateTime   time.Time
	CompleteTime time.Time
}

// LicensedUsers are the users who get one license (seat) each of a subscription the redemption
// creates: the first admin of the tenant it created (ID-2, KD-2); none for any other redemption
// or before the tenant exists.
func (r Redemption) LicensedUsers() []string {
	if r.Kind != RedeemNewTenant || r.AdminUserID == "" {
		return nil
	}
	return []string{r.AdminUserID}
}

// Etag is the redemption's version as the API shows it.
func (r Redemption) Etag() string { return fmt.Sprintf("%d", r.Version) }

// Group returns the key group with the given ID.
func (r Redemption) Group(id string) (KeyGroup, bool) {
	for _, g := range r.Groups {
		if g.ID == id {
			return g, true
		}
	}
	return KeyGroup{}, false
}

// OutcomeIndex is the position in Outcomes of the group's outcome, or -1.
func (r Redemption) OutcomeIndex(groupID string) int {
	return slices.IndexFunc(r.Outcomes, func(o Outcome) bool { return o.GroupID == groupID })
}

// NewRedemption makes the redemption of a valid review (PROCESSING, Version 1).
func NewRedemption(id, requestID, fingerprint string, a Actor, t RedemptionTarget, rv Review, partnerID, customerID string, skus map[string]SKUFacts, now time.Time) Redemption {
	return Redemption{ID: id, RequestID: requestID, PartnerID: partnerID, CustomerID: customerID,
		Kind: t.Kind, State: RedemptionProcessing, Target: t, Keys: rv.Keys, Groups: rv.Groups,
		Outcomes: slices.Clone(rv.Outcomes), SKUs: skus, Actor: a, Fingerprint: fingerprint, Version: 1,
		CreateTime: now, UpdateTime: now}
}

// RequestFingerprint is the fingerprint of a RedeemProductKeys request: the normalised keys
// (case, dashes and spaces removed) and the target, hashed so the keys are not kept (KD-8).
func RequestFingerprint(keys []string, t RedemptionTarget) string {
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(NormalizeKey(k)))
		h.Write([]byte{0})
	}
	fmt.Fprintf(h, "%s|%s|%s", t.Kind, t.CustomerID, t.SubscriptionID)
	if n := t.NewTenant; n != nil {
		fmt.Fprintf(h, "|%s|%s|%s|%s|%s|%s|%s", n.OrganisationName, n.CountryCode, strings.ToLower(n.DefaultDomain),
			n.Admin.GivenName, n.Admin.FamilyName, strings.ToLower(n.Admin.UserName), n.Admin.ContactEmail)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// NormalizeKey is a typed key without dashes and spaces, in upper case (KD-1).
func NormalizeKey(s string) string {
	return strings.ToUpper(strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, s))
}
