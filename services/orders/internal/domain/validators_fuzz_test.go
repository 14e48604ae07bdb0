package domain

import (
	"math"
	"math/big"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// FuzzOrderMoney: Plus is commutative and associative for amounts of one currency (or none yet),
// keeps the currency; PlusExact and TimesExact return the exact result (checked with math/big)
// or report that it does not fit an int64, and then Plus and Times agree with them. (Found by
// this target: Plus and Times wrapped around within the catalog's bounds, and the review showed
// a negative total; the review now refuses such a line with AMOUNT_OUT_OF_RANGE.)
func FuzzOrderMoney(f *testing.F) {
	f.Add(int64(1999), int64(500), int64(-1), int32(3), "EUR", false)
	f.Add(int64(0), int64(0), int64(0), int32(0), "", true)
	f.Add(int64(36_000_000_000_000_000), int64(1), int64(2), int32(300), "USD", false) // 10^15 per period × 36, 300 seats
	f.Add(int64(math.MaxInt64), int64(1), int64(0), int32(1), "JPY", false)
	f.Add(int64(math.MinInt64), int64(-1), int64(0), int32(-1), "EUR", false)
	f.Fuzz(func(t *testing.T, a, b, c int64, q int32, cur string, firstUnpriced bool) {
		ca := cur
		if firstUnpriced {
			ca = "" // a sum starting from zero
		}
		x, y, z := Money{Minor: a, Currency: ca}, Money{Minor: b, Currency: cur}, Money{Minor: c, Currency: cur}
		// fits checks an exact operation against math/big; it reports whether the result fit.
		fits := func(op string, got Money, ok bool, want *big.Int) bool {
			t.Helper()
			if ok != want.IsInt64() {
				t.Fatalf("%s: fits = %v; the exact result %v fits an int64: %v", op, ok, want, want.IsInt64())
			}
			if ok && got.Minor != want.Int64() {
				t.Fatalf("%s = %d; the exact result is %v", op, got.Minor, want)
			}
			return ok
		}
		if p, ok := x.TimesExact(q); fits("TimesExact", p, ok, new(big.Int).Mul(big.NewInt(a), big.NewInt(int64(q)))) {
			if p != x.Times(q) || p.Currency != ca {
				t.Fatalf("%v × %d: TimesExact %v, Times %v", x, q, p, x.Times(q))
			}
		}
		s, ok := x.PlusExact(y)
		if !fits("PlusExact", s, ok, new(big.Int).Add(big.NewInt(a), big.NewInt(b))) {
			return
		}
		yzExact, ok := y.PlusExact(z)
		if !fits("PlusExact", yzExact, ok, new(big.Int).Add(big.NewInt(b), big.NewInt(c))) ||
			!new(big.Int).Add(new(big.Int).Add(big.NewInt(a), big.NewInt(b)), big.NewInt(c)).IsInt64() {
			return // associativity is only claimed where every sum fits
		}
		sum := x.Plus(y)
		if sum != s {
			t.Fatalf("%v + %v: Plus %v, PlusExact %v", x, y, sum, s)
		}
		if sum.Currency != cur {
			t.Fatalf("%v + %v is in %q", x, y, sum.Currency)
		}
		if !firstUnpriced && y.Plus(x) != sum {
			t.Fatalf("%v + %v = %v but %v + %v = %v", x, y, sum, y, x, y.Plus(x))
		}
		yz := y.Plus(z)
		if sum.Plus(z) != x.Plus(yz) {
			t.Fatalf("(%v + %v) + %v != %v + (%v + %v)", x, y, z, x, y, z)
		}
	})
}

// FuzzValidatePlaceOrder: ValidatePlaceOrder accepts exactly the requests its documentation
// describes (checked by an independent reading of it), and every refusal is INVALID_ARGUMENT /
// INVALID_REQUEST naming only request fields.
func FuzzValidatePlaceOrder(f *testing.F) {
	f.Add("0199a7a0-1111-7000-8000-000000000001", "9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f", "PO-4711", "CFQ7TTC0LH18:0001", int32(5), "P1Y", "MONTHLY", "CFQ7TTC0LH19:0001", int32(1), "PERPETUAL", "ONE_TIME", uint8(2))
	f.Add("r", "c", "", "A", int32(0), "P1M", "ANNUAL", "A", int32(1), "P3Y", "TRIENNIAL", uint8(2))
	f.Add("", "", strings.Repeat("é", 101), "", int32(-1), "", "", "", int32(0), "P1", "monthly", uint8(0))
	f.Add("r", "c", strings.Repeat("x", 100), "S", int32(1), "P3Y", "ANNUAL", "T", int32(2), "P1Y", "TRIENNIAL", uint8(101))
	f.Fuzz(func(t *testing.T, req, cust, ref, sku1 string, q1 int32, term1, plan1, sku2 string, q2 int32, term2, plan2 string, n uint8) {
		a := LineInput{SkuID: sku1, Quantity: q1, Term: Term(term1), Plan: BillingPlan(plan1)}
		b := LineInput{SkuID: sku2, Quantity: q2, Term: Term(term2), Plan: BillingPlan(plan2)}
		var lines []LineInput
		switch {
		case n <= 2:
			lines = []LineInput{a, b}[:n]
		default: // many lines of distinct SKUs, alternating a's and b's other fields
			for i := range int(n) {
				l := a
				if i%2 == 1 {
					l = b
				}
				l.SkuID = l.SkuID + "#" + strings.Repeat("x", i)
				lines = append(lines, l)
			}
		}
		in := PlaceOrderInput{RequestID: req, CustomerID: cust, PartnerReference: ref, Lines: lines}
		want := req != "" && cust != "" && utf8.RuneCountInString(ref) <= MaxPartnerReferenceLen &&
			len(lines) >= 1 && len(lines) <= MaxLines
		skus := map[string]bool{}
		for _, l := range lines {
			want = want && l.SkuID != "" && !skus[l.SkuID] && l.Quantity >= 1 && fits(l.Term, l.Plan)
			skus[l.SkuID] = true
		}
		err := ValidatePlaceOrder(in)
		if (err == nil) != want {
			t.Fatalf("ValidatePlaceOrder(%+v) = %v; want accepted=%v", in, err, want)
		}
		if err == nil {
			return
		}
		e, ok := errs.As(err)
		if !ok || e.Kind != errs.InvalidArgument || e.Reason != errs.ReasonInvalidRequest || len(e.Violations) == 0 {
			t.Fatalf("ValidatePlaceOrder = %v", err)
		}
		for _, v := range e.Violations {
			if !knownOrderField(v.Field) {
				t.Fatalf("violation on unknown field %q", v.Field)
			}
		}
	})
}

// fits is the table of order_service.proto: which billing plans a term can have.
func fits(t Term, p BillingPlan) bool {
	ok := map[Term][]BillingPlan{
		"P1M": {"MONTHLY"}, "P1Y": {"MONTHLY", "ANNUAL"}, "P3Y": {"MONTHLY", "ANNUAL", "TRIENNIAL"},
		"PERPETUAL": {"ONE_TIME"},
	}
	for _, q := range ok[t] {
		if p == q {
			return true
		}
	}
	return false
}

// lineField is a violation location of one line.
var lineField = regexp.MustCompile(`^lines\[[0-9]+\]\.(sku_id|quantity|term|billing_plan)$`)

func knownOrderField(f string) bool {
	switch f {
	case "request_id", "customer_id", "partner_reference", "lines":
		return true
	}
	return lineField.MatchString(f)
}

// FuzzValidateRedemptionRequest: the request validator accepts exactly 1..100 keys and one
// complete target (an independent reading of redemption_service.proto); a new tenant it accepts
// is one identity can name: a country code, a default domain whose prefix is 2..27 a-z/0-9
// starting with a letter, an admin with a name, an admin user name (if any) in that domain, and
// a contact address. Keys themselves are not checked here (KEY_MALFORMED is per key, later).
func FuzzValidateRedemptionRequest(f *testing.F) {
	f.Add(uint8(1), "NEW_TENANT", "Contoso Ltd", "DE", "contoso.onmicrosoft.com", "Ada", "Lovelace", "", "ada@contoso.example", "")
	f.Add(uint8(3), "NEW_TENANT", " ", "de", "Contoso", "", "", "admin@fabrikam.onmicrosoft.com", "@x", "")
	f.Add(uint8(101), "NEW_SUBSCRIPTION", "", "", "", "", "", "", "", "9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f")
	f.Add(uint8(1), "NEW_SUBSCRIPTION", "", "", "", "", "", "", "", "{9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f}")
	f.Add(uint8(0), "ADD_SEATS", "", "", "", "", "", "", "", "")
	f.Add(uint8(2), "RENEWAL", "", "", "", "", "", "", "", "sub-1")
	f.Add(uint8(2), "", "", "", "", "", "", "", "", "sub-1")
	f.Add(uint8(1), "NEW_TENANT", "C", "US", "C0ntoso.onmicrosoft.com", "A", "", "x@C0NTOSO.ONMICROSOFT.COM", "a@b", "")
	f.Fuzz(func(t *testing.T, nKeys uint8, kind, org, country, domain, given, family, user, email, id string) {
		keys := make([]string, nKeys)
		for i := range keys {
			keys[i] = "KX47R-TM9CW-Q3HNJ-YAPD6-EGF74"
		}
		target := RedemptionTarget{Kind: RedemptionKind(kind)}
		nt := NewTenant{OrganisationName: org, CountryCode: country, DefaultDomain: domain,
			Admin: TenantAdmin{GivenName: given, FamilyName: family, UserName: user, ContactEmail: email}}
		switch target.Kind {
		case RedeemNewTenant:
			if org != "" || domain != "" {
				target.NewTenant = &nt
			}
		case RedeemNewSubscription:
			target.CustomerID = id
		default:
			target.SubscriptionID = id
		}
		err := ValidateRedemptionRequest(keys, target)
		want := nKeys >= 1 && nKeys <= MaxRedemptionKeys
		switch target.Kind {
		case RedeemNewTenant:
			want = want && target.NewTenant != nil
		case RedeemNewSubscription:
			want = want && errs.CheckUUID("customer_id", id) == nil
		case RedeemAddSeats, RedeemRenewal:
			want = want && id != ""
		default:
			want = false
		}
		if err != nil {
			if e, ok := errs.As(err); !ok || e.Kind != errs.InvalidArgument || len(e.Violations) == 0 {
				t.Fatalf("ValidateRedemptionRequest = %v", err)
			}
			if want && target.Kind != RedeemNewTenant {
				t.Fatalf("ValidateRedemptionRequest(%d keys, %+v) = %v", nKeys, target, err)
			}
			return
		}
		if !want {
			t.Fatalf("ValidateRedemptionRequest(%d keys, %+v) accepted", nKeys, target)
		}
		if target.Kind != RedeemNewTenant {
			return
		}
		prefix := nt.DomainPrefix()
		name := utf8.RuneCountInString(strings.TrimSpace(org))
		adminName := utf8.RuneCountInString(nt.Admin.DisplayName())
		local, dom, _ := strings.Cut(user, "@")
		switch {
		case name < 1 || name > 256, len(country) != 2 || strings.ToUpper(country) != country || !isCountryCode(country),
			!validPrefix(prefix), !strings.HasPrefix(strings.ToLower(domain), prefix+"."),
			adminName < 1 || adminName > 256,
			user != "" && (local == "" || !strings.EqualFold(dom, domain)),
			!strings.Contains(email, "@") || strings.HasPrefix(email, "@") || strings.HasSuffix(email, "@"):
			t.Fatalf("accepted a new tenant identity cannot create: %+v (prefix %q)", nt, prefix)
		}
	})
}

// validPrefix is identity's domain prefix rule (ID-2), written out independently.
func validPrefix(p string) bool {
	if len(p) < 2 || len(p) > 27 || p[0] < 'a' || p[0] > 'z' {
		return false
	}
	for _, c := range p {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
