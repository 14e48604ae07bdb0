package billing

import (
	"context"
	"crypto/sha1" //nolint:gosec // G505: SHA-1 is what a name-based UUID (version 5, RFC 4122) is made of, not a security hash
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/paging"
	"github.com/partnerhub/partnerhub/services/orders/internal/ledger"
)

// EntryQuery filters LedgerStore.LedgerEntries. PartnerID is required; empty fields do not filter.
// Rows come in (CreateTime, Key) ascending order, after the keyset position (AfterTime, AfterKey)
// when one is set.
type EntryQuery struct {
	PartnerID      string
	CustomerID     string
	OrderID        string
	SubscriptionID string
	Kinds          []ledger.Kind
	Month          ledger.Month // zero: every month
	// From (inclusive) and To (exclusive) bound CreateTime; zero: unbounded.
	From, To time.Time
	// AfterTime and AfterKey (an EntryKey string) are the keyset position; both zero for the
	// first page.
	AfterTime time.Time
	AfterKey  string
	Limit     int // ≤ 0: no limit
}

// LedgerStore is what the ledger use cases read (adapters/sql.Store).
type LedgerStore interface {
	// LedgerEntries lists entries matching q (adapters/sql/ledger_queries.go).
	LedgerEntries(ctx context.Context, q EntryQuery) ([]ledger.Entry, error)
	// Entries lists a partner's entries of one invoice month (app.Store).
	Entries(ctx context.Context, partnerID string, month ledger.Month) ([]ledger.Entry, error)
}

// CustomerNames names customers for the invoice preview (identity's organisation names). It may
// be nil: the preview then has no names.
type CustomerNames interface {
	// CustomerNames returns the organisation name of each customer it knows; unknown IDs are
	// left out.
	CustomerNames(ctx context.Context, customerIDs []string) (map[string]string, error)
}

// Ledger holds the read use cases of LedgerService: ListLedgerEntries and GetInvoicePreview
// (BI-1..BI-3), both scoped to the caller's partner (ID-8).
type Ledger struct {
	store     LedgerStore
	clock     clock.Clock
	names     CustomerNames
	customers CustomerGuard
}

// CustomerGuard refuses a customer filter naming a customer the partner never served
// (TENANT_MISMATCH, ID-8; app.CustomerGuard).
type CustomerGuard interface {
	RequireOwnCustomer(ctx context.Context, partnerID, customerID string) error
}

// NewLedger returns the use cases over store; names and customers may be nil (no names; a
// foreign customer filter then finds nothing rather than being refused).
func NewLedger(store LedgerStore, clk clock.Clock, names CustomerNames, customers CustomerGuard) *Ledger {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Ledger{store: store, clock: clk, names: names, customers: customers}
}

// requireOwnCustomer applies the customer guard to a customer filter.
func (l *Ledger) requireOwnCustomer(ctx context.Context, partnerID, customerID string) error {
	if l.customers == nil || customerID == "" {
		return nil
	}
	return l.customers.RequireOwnCustomer(ctx, partnerID, customerID)
}

// ListInput is ListLedgerEntriesRequest in app terms.
type ListInput struct {
	PageSize       int32
	PageToken      string
	CustomerID     string
	Kinds          []ledger.Kind
	InvoiceMonth   string // "YYYY-MM" or ""
	OrderID        string
	SubscriptionID string
	From, To       time.Time // zero: unbounded
}

// partnerOf is the partner whose ledger the caller reads: the caller's organisation, or for a
// service token the on_behalf_of principal's (ID-8). Anyone else (a customer, a service acting
// for no one) has no ledger to read: PERMISSION_DENIED / TENANT_MISMATCH.
func partnerOf(ctx context.Context) (auth.Principal, error) {
	p, err := auth.MustFromContext(ctx)
	if err != nil {
		return auth.Principal{}, err
	}
	e := p.Effective()
	if e.OrgKind != auth.OrgPartner || e.OrgID == "" {
		return auth.Principal{}, errs.New(errs.PermissionDenied, errs.ReasonTenantMismatch,
			"the ledger is a partner's: call as a partner, or on behalf of one (ID-8)").With("org_kind", e.OrgKind)
	}
	return e, nil
}

// checkID adds a violation unless id is empty or well-formed (a UUID when uuid is set).
func checkID(v *errs.Violations, field, id string, uuid bool) {
	switch {
	case id == "":
	case uuid && errs.CheckUUID(field, id) != nil:
		v.Add(field, "must be a UUID")
	case strings.TrimSpace(id) != id || len(id) > 200:
		v.Add(field, "must be an ID without surrounding spaces, at most 200 characters")
	}
}

// ListLedgerEntries lists the caller's partner's entries, oldest first, each with its source
// (BI-1..BI-3). Entries are selected by partner first, so nothing crosses partners (ID-8); a
// customer filter naming a customer the partner never served is TENANT_MISMATCH.
func (l *Ledger) ListLedgerEntries(ctx context.Context, in ListInput) ([]ledger.Entry, string, error) {
	p, err := partnerOf(ctx)
	if err != nil {
		return nil, "", err
	}
	var v errs.Violations
	size, err := paging.Size(in.PageSize)
	if err != nil {
		v.Add("page_size", "must not be negative")
	}
	checkID(&v, "customer_id", in.CustomerID, true)
	checkID(&v, "subscription_id", in.SubscriptionID, true)
	checkID(&v, "order_id", in.OrderID, false)
	for _, k := range in.Kinds {
		if k < ledger.KindCharge || k > ledger.KindRefund {
			v.Add("kinds", "unknown ledger entry kind %d", int32(k))
		}
	}
	var month ledger.Month
	if in.InvoiceMonth != "" {
		if month, err = ledger.ParseMonth(in.InvoiceMonth); err != nil {
			v.Add("invoice_month", "must be YYYY-MM, e.g. 2026-03")
		}
	}
	if !in.From.IsZero() && !in.To.IsZero() && !in.To.After(in.From) {
		v.Add("end_time", "must be after start_time")
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	if err := l.requireOwnCustomer(ctx, p.OrgID, in.CustomerID); err != nil {
		return nil, "", err
	}
	q := EntryQuery{PartnerID: p.OrgID, CustomerID: in.CustomerID, OrderID: in.OrderID,
		SubscriptionID: in.SubscriptionID, Kinds: in.Kinds, Month: month, From: in.From.UTC(), To: in.To.UTC()}
	fp := paging.Fingerprint("ledger-entries", p.OrgID, q.CustomerID, q.OrderID, q.SubscriptionID, q.Kinds,
		in.InvoiceMonth, paging.Time(q.From), paging.Time(q.To))
	pos, err := paging.Decode(in.PageToken, fp, 2)
	if err != nil {
		return nil, "", err
	}
	if pos != nil {
		if q.AfterTime, err = paging.ParseTime(pos[0]); err != nil {
			return nil, "", err
		}
		q.AfterKey = pos[1]
	}
	q.Limit = size + 1
	rows, err := l.store.LedgerEntries(ctx, q)
	if err != nil {
		return nil, "", fmt.Errorf("list ledger entries of partner %s: %w", p.OrgID, err)
	}
	page, next := paging.Trim(rows, size, fp, func(e ledger.Entry) []string {
		return []string{paging.Time(e.CreateTime), e.Key.String()}
	})
	return page, next, nil
}

// PreviewInput is GetInvoicePreviewRequest in app terms.
type PreviewInput struct {
	InvoiceMonth string
	CustomerID   string
	PageSize     int32
	PageToken    string
}

// PreviewPage is one page of an invoice preview.
type PreviewPage struct {
	// Preview holds this page's customer lines and the month's currency totals over every
	// customer selected (all of the partner's, or the one customer filtered on).
	ledger.Preview
	// Names are the customers' organisation names, by customer ID (may be incomplete).
	Names map[string]string
	// ComputeTime is when the preview was computed.
	ComputeTime time.Time
	// NextPageToken continues the customer lines; "" on the last page.
	NextPageToken string
}

// lineKey is a customer line's page position: customer, currency, tax treatment.
func lineKey(c ledger.CustomerLine) []string {
	inc := "0"
	if c.TaxInclusive {
		inc = "1"
	}
	return []string{c.CustomerID, c.Currency, inc}
}

// lineAfter reports whether c sorts after the position pos (ledger.BuildPreview's order).
func lineAfter(c ledger.CustomerLine, pos []string) bool {
	k := lineKey(c)
	for i := range k {
		if k[i] != pos[i] {
			return k[i] > pos[i]
		}
	}
	return false
}

// GetInvoicePreview sums the caller's partner's entries of one invoice month per customer,
// currency and tax treatment (CA-4), and per currency and tax treatment for the month (BI-2,
// BI-3; ledger.BuildPreview). Credits of a cancellation land on the month after it (OR-3), so an
// open month is a preview that later entries still join; Closed says when it has ended.
func (l *Ledger) GetInvoicePreview(ctx context.Context, in PreviewInput) (PreviewPage, error) {
	p, err := partnerOf(ctx)
	if err != nil {
		return PreviewPage{}, err
	}
	var v errs.Violations
	month, err := ledger.ParseMonth(in.InvoiceMonth)
	if err != nil {
		v.Add("invoice_month", "must be YYYY-MM, e.g. 2026-03")
	}
	size, err := paging.Size(in.PageSize)
	if err != nil {
		v.Add("page_size", "must not be negative")
	}
	checkID(&v, "customer_id", in.CustomerID, true)
	if err := v.Err(); err != nil {
		return PreviewPage{}, err
	}
	if err := l.requireOwnCustomer(ctx, p.OrgID, in.CustomerID); err != nil {
		return PreviewPage{}, err
	}
	fp := paging.Fingerprint("invoice-preview", p.OrgID, month.String(), in.CustomerID)
	pos, err := paging.Decode(in.PageToken, fp, 3)
	if err != nil {
		return PreviewPage{}, err
	}
	entries, err := l.store.Entries(ctx, p.OrgID, month)
	if err != nil {
		return PreviewPage{}, fmt.Errorf("invoice preview of partner %s for %s: %w", p.OrgID, month, err)
	}
	if in.CustomerID != "" {
		kept := entries[:0]
		for _, e := range entries {
			if e.CustomerID == in.CustomerID {
				kept = append(kept, e)
			}
		}
		entries = kept
	}
	now := l.clock.Now().UTC()
	pv, err := ledger.BuildPreview(p.OrgID, month, entries, now)
	if err != nil {
		return PreviewPage{}, fmt.Errorf("invoice preview of partner %s for %s: %w", p.OrgID, month, err)
	}
	lines := pv.CustomerLines
	if pos != nil {
		i := 0
		for i < len(lines) && !lineAfter(lines[i], pos) {
			i++
		}
		lines = lines[i:]
	}
	var next string
	if len(lines) > size {
		lines = lines[:size]
		next = paging.Encode(fp, lineKey(lines[size-1])...)
	}
	pv.CustomerLines = lines
	out := PreviewPage{Preview: pv, ComputeTime: now, NextPageToken: next, Names: map[string]string{}}
	if l.names != nil && len(lines) > 0 {
		var ids []string
		for _, c := range lines {
			if len(ids) == 0 || ids[len(ids)-1] != c.CustomerID {
				ids = append(ids, c.CustomerID)
			}
		}
		names, err := l.names.CustomerNames(ctx, ids)
		if err != nil {
			return PreviewPage{}, fmt.Errorf("invoice preview: customer names: %w", err)
		}
		out.Names = names
	}
	return out, nil
}

// entryNamespace prefixes the name hashed into an entry ID (never change it, or every entry's ID
// would change).
const entryNamespace = "partnerhub.dev/orders/ledger-entry/"

// EntryID is an entry's ID (LedgerEntry.entry_id): a name-based UUID (version 5) of its key, so it is stable without a
// stored column and unique as the key is (OR-7).
func EntryID(k ledger.EntryKey) string {
	h := sha1.New() //nolint:gosec // G401: UUID version 5, see the import
	h.Write([]byte(entryNamespace + k.String()))
	b := h.Sum(nil)[:16]
	b[6] = b[6]&0x0f | 0x50 // version 5
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// EntryEtag is an entry's etag: entries are immutable, so it depends on the key alone.
func EntryEtag(k ledger.EntryKey) string {
	s := sha256.Sum256([]byte("ledger-entry/" + k.String()))
	return `"` + hex.EncodeToString(s[:8]) + `"`
}
