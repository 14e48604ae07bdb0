package ledger

import (
	"errors"
	"fmt"
	"time"
)

// ErrPlanNotAllowed: a billing plan does not fit a term (CA-5).
var ErrPlanNotAllowed = errors.New("ledger: billing plan not allowed for the term")

// TermMonths is a term's length in months; false for TermPerpetual and unknown terms.
func TermMonths(t Term) (int, bool) {
	switch t {
	case TermP1M:
		return 1, true
	case TermP1Y:
		return 12, true
	case TermP3Y:
		return 36, true
	}
	return 0, false
}

// PlanMonths is the length of one billing period of a plan in months; false for PlanOneTime and
// unknown plans.
func PlanMonths(p BillingPlan) (int, bool) {
	switch p {
	case PlanMonthly:
		return 1, true
	case PlanAnnual:
		return 12, true
	case PlanTriennial:
		return 36, true
	}
	return 0, false
}

// InstallmentCount is how many charges plan splits term into (BI-2): the term's months over the
// plan's months; 1 for TermPerpetual with PlanOneTime. Combinations where the plan's period is
// longer than the term or does not divide it, and ONE_TIME with anything but PERPETUAL, are
// refused with ErrPlanNotAllowed. Whether a particular SKU offers the plan (CA-5: 3-year SKUs
// with annual or triennial billing) is the catalog's decision; P3Y MONTHLY is computed (36
// installments) if asked for.
func InstallmentCount(term Term, plan BillingPlan) (int, error) {
	if term == TermPerpetual || plan == PlanOneTime {
		if term == TermPerpetual && plan == PlanOneTime {
			return 1, nil
		}
		return 0, fmt.Errorf("%w: term %d with plan %d", ErrPlanNotAllowed, term, plan)
	}
	tm, ok1 := TermMonths(term)
	pm, ok2 := PlanMonths(plan)
	if !ok1 || !ok2 || pm > tm || tm%pm != 0 {
		return 0, fmt.Errorf("%w: term %d with plan %d", ErrPlanNotAllowed, term, plan)
	}
	return tm / pm, nil
}

// Installment is one charge of a billing plan.
type Installment struct {
	// Number is 1-based; Count is the number of installments of the term.
	Number, Count int
	// Amount is this installment's share of the term price (see Split).
	Amount Money
	// PeriodStart and PeriodEnd (exclusive) are the service period it pays for; PeriodEnd is
	// zero for perpetual software.
	PeriodStart, PeriodEnd time.Time
	// InvoiceMonth is the monthly invoice it is due on: the UTC month its period starts in.
	InvoiceMonth Month
}

// Schedule splits the price of quantity × unitPrice for one term starting at start into the
// billing plan's installments (BI-2). The installments sum to the term price exactly; the
// remainder of the division goes one minor unit each to the first installments (Split).
// Installment i covers [start + (i−1)·p, start + i·p) with p the plan's months, each bound
// computed from start with the day clamped to the month's end (a term starting 31 Jan bills
// 31 Jan, 28/29 Feb, 31 Mar, 30 Apr…), and is due on the invoice of the month its period starts
// in. Perpetual software (ONE_TIME) is a single installment with no period end.
func Schedule(unitPrice Money, quantity int32, term Term, plan BillingPlan, start time.Time) ([]Installment, error) {
	if err := ValidateCurrency(unitPrice.Currency); err != nil {
		return nil, err
	}
	if unitPrice.Minor < 0 {
		return nil, fmt.Errorf("ledger: negative unit price %s", unitPrice)
	}
	if quantity <= 0 {
		return nil, fmt.Errorf("ledger: quantity must be positive, got %d", quantity)
	}
	if start.IsZero() {
		return nil, errors.New("ledger: term start is unset")
	}
	total, err := unitPrice.Mul(int64(quantity))
	if err != nil {
		return nil, err
	}
	return scheduleTotal(total, term, plan, start)
}

// scheduleTotal is Schedule of a term's whole price.
func scheduleTotal(total Money, term Term, plan BillingPlan, start time.Time) ([]Installment, error) {
	n, err := InstallmentCount(term, plan)
	if err != nil {
		return nil, err
	}
	parts, err := Split(total, n)
	if err != nil {
		return nil, err
	}
	start = start.UTC()
	if term == TermPerpetual {
		return []Installment{{Number: 1, Count: 1, Amount: total, PeriodStart: start, InvoiceMonth: MonthOf(start)}}, nil
	}
	pm, _ := PlanMonths(plan)
	out := make([]Installment, n)
	for i := range out {
		ps := addMonthsClamped(start, i*pm)
		out[i] = Installment{
			Number:       i + 1,
			Count:        n,
			Amount:       parts[i],
			PeriodStart:  ps,
			PeriodEnd:    addMonthsClamped(start, (i+1)*pm),
			InvoiceMonth: MonthOf(ps),
		}
	}
	return out, nil
}

// OrderLine is what the order saga's "record the charges" step knows about a purchased line.
type OrderLine struct {
	PartnerID, CustomerID string
	OrderID, LineID       string
	// SubscriptionID is set once the line is provisioned; empty for perpetual software.
	SubscriptionID string
	SKUID          string
	Quantity       int32
	// UnitPrice is the price of one seat for the whole term (catalog price snapshot).
	UnitPrice    Money
	TaxInclusive bool
	Term         Term
	Plan         BillingPlan
	// Start is the term start (00:00 UTC), or the purchase time for perpetual software.
	Start time.Time
}

// OrderLineCharges returns the charge entries of every installment of the line's billing plan,
// keyed (order, line, installment), each on the invoice of the month it falls due. Recording
// them all at purchase is idempotent (same keys on every retry) and makes future installments
// visible in future months' previews.
func OrderLineCharges(line OrderLine, createTime time.Time) ([]Entry, error) {
	inst, err := Schedule(line.UnitPrice, line.Quantity, line.Term, line.Plan, line.Start)
	if err != nil {
		return nil, err
	}
	src := Source{Kind: SourceOrderLine, OrderID: line.OrderID, LineID: line.LineID, SubscriptionID: line.SubscriptionID}
	out := make([]Entry, 0, len(inst))
	for _, in := range inst {
		key, err := DeriveKey(src, in.Number)
		if err != nil {
			return nil, err
		}
		e := Entry{
			Key:                key,
			PartnerID:          line.PartnerID,
			CustomerID:         line.CustomerID,
			Kind:               KindCharge,
			Amount:             in.Amount,
			TaxInclusive:       line.TaxInclusive,
			Source:             src,
			SKUID:              line.SKUID,
			Quantity:           line.Quantity,
			Term:               line.Term,
			Plan:               line.Plan,
			ServicePeriodStart: in.PeriodStart,
			ServicePeriodEnd:   in.PeriodEnd,
			InvoiceMonth:       in.InvoiceMonth,
			Description: fmt.Sprintf("Charge %d/%d: order %s line %s, %d × %s",
				in.Number, in.Count, line.OrderID, line.LineID, line.Quantity, line.SKUID),
			CreateTime: createTime.UTC(),
		}
		if err := e.Validate(); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}
