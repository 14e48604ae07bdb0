package ledger

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// ErrDuplicateEntry: two entries with the same key were given to BuildPreview; the store must
// never hold them (OR-7), so the preview refuses rather than double-count or guess.
var ErrDuplicateEntry = errors.New("ledger: duplicate entry key")

// Amounts sums entries of one currency and tax treatment (ledger.proto InvoiceAmounts).
type Amounts struct {
	Charges, Credits, Penalties, Refunds Money
	// Total is Charges + Credits + Penalties + Refunds: what is due.
	Total Money
	// EntryCount is the number of entries summed.
	EntryCount int32
}

func zeroAmounts(currency string) Amounts {
	z := Zero(currency)
	return Amounts{Charges: z, Credits: z, Penalties: z, Refunds: z, Total: z}
}

// add adds e's amount to the bucket of its kind and to the total.
func (a *Amounts) add(e Entry) error {
	var bucket *Money
	switch e.Kind {
	case KindCharge:
		bucket = &a.Charges
	case KindCredit:
		bucket = &a.Credits
	case KindPenalty:
		bucket = &a.Penalties
	case KindRefund:
		bucket = &a.Refunds
	default:
		return fmt.Errorf("%w: unknown kind %d", ErrInvalidEntry, e.Kind)
	}
	b, err := bucket.Add(e.Amount)
	if err != nil {
		return err
	}
	t, err := a.Total.Add(e.Amount)
	if err != nil {
		return err
	}
	*bucket, a.Total = b, t
	a.EntryCount++
	return nil
}

// CustomerLine is one customer's part of the invoice in one currency and tax treatment
// (ledger.proto CustomerInvoiceLine; the customer's name is the service's to fill in).
type CustomerLine struct {
	CustomerID   string
	Currency     string
	TaxInclusive bool
	Amounts      Amounts
}

// CurrencyTotal is the whole month's sum in one currency and tax treatment.
type CurrencyTotal struct {
	Currency     string
	TaxInclusive bool
	Amounts      Amounts
}

// Preview is a partner's invoice for one month (GetInvoicePreviewResponse minus paging and the
// compute time, which the service sets).
type Preview struct {
	PartnerID string
	Month     Month
	// Closed is true once the month has ended (UTC) at the time given to BuildPreview.
	Closed bool
	// CustomerLines: one per customer × currency × tax treatment, ordered by customer ID, then
	// currency, then exclusive before inclusive.
	CustomerLines []CustomerLine
	// CurrencyTotals: one per currency × tax treatment over every customer, ordered by currency,
	// then exclusive before inclusive.
	CurrencyTotals []CurrencyTotal
}

type lineKey struct {
	customer, currency string
	inclusive          bool
}

// BuildPreview aggregates a partner's entries for one invoice month. Entries of other partners
// or months are ignored, so the caller may pass a superset. Amounts are never summed across
// currencies, nor across tax treatments: a tax-inclusive and a tax-exclusive amount in the same
// currency (possible for a partner serving AU/BR and other markets, CA-4) go on separate lines
// and separate totals, because their sum would be meaningless. Every entry is validated; an
// invalid entry, two entries with one key (ErrDuplicateEntry) or an overflow is an error.
// now decides Closed.
func BuildPreview(partnerID string, month Month, entries []Entry, now time.Time) (Preview, error) {
	if partnerID == "" {
		return Preview{}, errors.New("ledger: partner ID is empty")
	}
	if month.IsZero() {
		return Preview{}, errors.New("ledger: invoice month is unset")
	}
	p := Preview{PartnerID: partnerID, Month: month, Closed: !now.Before(month.End())}
	lines := map[lineKey]*Amounts{}
	totals := map[lineKey]*Amounts{}
	seen := map[string]bool{}
	for _, e := range entries {
		if e.PartnerID != partnerID || e.InvoiceMonth != month {
			continue
		}
		if err := e.Validate(); err != nil {
			return Preview{}, err
		}
		if seen[e.Key.String()] {
			return Preview{}, fmt.Errorf("%w: %s", ErrDuplicateEntry, e.Key)
		}
		seen[e.Key.String()] = true
		for _, acc := range []struct {
			m map[lineKey]*Amounts
			k lineKey
		}{
			{lines, lineKey{e.CustomerID, e.Amount.Currency, e.TaxInclusive}},
			{totals, lineKey{"", e.Amount.Currency, e.TaxInclusive}},
		} {
			a := acc.m[acc.k]
			if a == nil {
				z := zeroAmounts(e.Amount.Currency)
				a = &z
				acc.m[acc.k] = a
			}
			if err := a.add(e); err != nil {
				return Preview{}, err
			}
		}
	}
	less := func(a, b lineKey) bool {
		if a.customer != b.customer {
			return a.customer < b.customer
		}
		if a.currency != b.currency {
			return a.currency < b.currency
		}
		return !a.inclusive && b.inclusive
	}
	for _, k := range sortedKeys(lines, less) {
		p.CustomerLines = append(p.CustomerLines, CustomerLine{CustomerID: k.customer, Currency: k.currency, TaxInclusive: k.inclusive, Amounts: *lines[k]})
	}
	for _, k := range sortedKeys(totals, less) {
		p.CurrencyTotals = append(p.CurrencyTotals, CurrencyTotal{Currency: k.currency, TaxInclusive: k.inclusive, Amounts: *totals[k]})
	}
	return p, nil
}

func sortedKeys(m map[lineKey]*Amounts, less func(a, b lineKey) bool) []lineKey {
	keys := make([]lineKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return less(keys[i], keys[j]) })
	return keys
}
