// Package domain holds catalog's entities and rules (CA-1..CA-11): products, SKUs, prices, market
// availability, and the checks a catalog file, a SKU or a price must pass. No proto, no SQL, no
// I/O: the enums are the contract's value names without their prefix ("SOFTWARE_SUBSCRIPTION"),
// so ports map them by name and the catalog file writes them as they are here.
package domain

import "slices"

// ProductKind is what kind of thing a product is (CA-1).
type ProductKind string

// The product kinds of CA-1.
const (
	KindOnlineService        ProductKind = "ONLINE_SERVICE"
	KindSoftwareSubscription ProductKind = "SOFTWARE_SUBSCRIPTION"
	KindPerpetualSoftware    ProductKind = "PERPETUAL_SOFTWARE"
	KindAzureReservation     ProductKind = "AZURE_RESERVATION"
	KindSoftwarePlan         ProductKind = "SOFTWARE_PLAN"
	KindServerSubscription   ProductKind = "SERVER_SUBSCRIPTION"
)

// ProductKinds lists every kind in contract order.
func ProductKinds() []ProductKind {
	return []ProductKind{KindOnlineService, KindSoftwareSubscription, KindPerpetualSoftware,
		KindAzureReservation, KindSoftwarePlan, KindServerSubscription}
}

// Valid reports whether k is one of the kinds (UNSPECIFIED and unknown values are not).
func (k ProductKind) Valid() bool { return slices.Contains(ProductKinds(), k) }

// SalesProgram is a partner program through which an offer may be sold (CA-3). The values mirror
// identity's partner programs (ID-1).
type SalesProgram string

// The sales programs.
const (
	ProgramCSPDirect           SalesProgram = "CSP_DIRECT"
	ProgramCSPIndirectReseller SalesProgram = "CSP_INDIRECT_RESELLER"
	ProgramOpen                SalesProgram = "OPEN"
)

// SalesPrograms lists every program in contract order.
func SalesPrograms() []SalesProgram {
	return []SalesProgram{ProgramCSPDirect, ProgramCSPIndirectReseller, ProgramOpen}
}

// Valid reports whether p is one of the programs.
func (p SalesProgram) Valid() bool { return slices.Contains(SalesPrograms(), p) }

// ProgramMask is a set of programs as bits (1 << position in contract order), so "the product's
// programs intersect the partner's" (CA-3) is one AND, in Go and in SQL.
func ProgramMask(ps ...SalesProgram) int64 {
	var m int64
	for _, p := range ps {
		if i := slices.Index(SalesPrograms(), p); i >= 0 {
			m |= 1 << i
		}
	}
	return m
}

// Term is the length of one term of a purchase.
type Term string

// The terms.
const (
	TermP1M       Term = "P1M"
	TermP1Y       Term = "P1Y"
	TermP3Y       Term = "P3Y"
	TermPerpetual Term = "PERPETUAL"
)

// Terms lists every term in contract order.
func Terms() []Term { return []Term{TermP1M, TermP1Y, TermP3Y, TermPerpetual} }

// Valid reports whether t is one of the terms.
func (t Term) Valid() bool { return slices.Contains(Terms(), t) }

// BillingPlan is how a term's price is split into charges (CA-5, BI-2).
type BillingPlan string

// The billing plans.
const (
	PlanMonthly   BillingPlan = "MONTHLY"
	PlanAnnual    BillingPlan = "ANNUAL"
	PlanTriennial BillingPlan = "TRIENNIAL"
	PlanOneTime   BillingPlan = "ONE_TIME"
)

// BillingPlans lists every plan in contract order.
func BillingPlans() []BillingPlan {
	return []BillingPlan{PlanMonthly, PlanAnnual, PlanTriennial, PlanOneTime}
}

// Valid reports whether p is one of the plans.
func (p BillingPlan) Valid() bool { return slices.Contains(BillingPlans(), p) }

// CancellationKind is the shape of a cancellation policy (CA-10).
type CancellationKind string

// The cancellation policy kinds.
const (
	CancelProratedRefundWindow CancellationKind = "PRORATED_REFUND_WINDOW"
	CancelFullCreditWindow     CancellationKind = "FULL_CREDIT_WINDOW"
	CancelNever                CancellationKind = "NEVER"
)

// CancellationKinds lists every kind in contract order.
func CancellationKinds() []CancellationKind {
	return []CancellationKind{CancelProratedRefundWindow, CancelFullCreditWindow, CancelNever}
}

// Valid reports whether k is one of the kinds.
func (k CancellationKind) Valid() bool { return slices.Contains(CancellationKinds(), k) }

// KeyType is the product key a purchase comes with (CA-7, CA-8). There is no KMS value: KMS keys
// are never issued (CA-8, KD-5).
type KeyType string

// The key types.
const (
	KeyNone KeyType = "NONE"
	KeyMAK  KeyType = "MAK"
	// KeyKMS is never valid; it is named so a catalog file that asks for it gets the CA-8
	// explanation rather than "unknown value".
	KeyKMS KeyType = "KMS"
)

// Valid reports whether k is NONE or MAK.
func (k KeyType) Valid() bool { return k == KeyNone || k == KeyMAK }

// AvailabilityMode says how a SKU's country list is read (CA-2).
type AvailabilityMode string

// The availability modes.
const (
	AllExceptListed AvailabilityMode = "ALL_EXCEPT_LISTED"
	OnlyListed      AvailabilityMode = "ONLY_LISTED"
)

// Valid reports whether m is one of the modes.
func (m AvailabilityMode) Valid() bool { return m == AllExceptListed || m == OnlyListed }

// names joins values for a message ("one of A, B, C").
func names[T ~string](vs []T) string {
	s := ""
	for i, v := range vs {
		if i > 0 {
			s += ", "
		}
		s += string(v)
	}
	return s
}

// orderIn sorts vs into the order of all (contract order), for canonical sets.
func orderIn[T comparable](vs []T, all []T) []T {
	out := make([]T, 0, len(vs))
	for _, a := range all {
		if slices.Contains(vs, a) {
			out = append(out, a)
		}
	}
	return out
}
