package billing_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	ordersql "github.com/partnerhub/partnerhub/services/orders/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/billing"
	"github.com/partnerhub/partnerhub/services/orders/internal/ledger"
)

func as(p auth.Principal) context.Context { return auth.WithPrincipal(context.Background(), p) }

func billingAgent(partner string) auth.Principal {
	return auth.Principal{Subject: "u-billing", OrgID: partner, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.BillingAgent}}
}

// seedEntry stores an entry of kind for a subscription event.
func seedEntry(t *testing.T, s *ordersql.Store, partner, customer, eventID string, kind ledger.Kind, m ledger.Money,
	inclusive bool, created time.Time, invoice ledger.Month) ledger.Entry {
	t.Helper()
	src := ledger.Source{Kind: ledger.SourceSubscriptionEvent, SubscriptionID: sub1, EventID: eventID}
	k, err := ledger.DeriveKey(src, 0)
	if err != nil {
		t.Fatal(err)
	}
	e := ledger.Entry{Key: k, PartnerID: partner, CustomerID: customer, Kind: kind, Amount: m, TaxInclusive: inclusive,
		Source: src, InvoiceMonth: invoice, CreateTime: created}
	if err := s.Tx(context.Background(), func(ctx context.Context, tx app.Tx) error {
		_, err := tx.InsertEntry(ctx, e)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return e
}

func eur(minor int64) ledger.Money { return ledger.Money{Minor: minor, Currency: "EUR"} }
func aud(minor int64) ledger.Money { return ledger.Money{Minor: minor, Currency: "AUD"} }

// ID-8, BI-1..BI-3: a partner lists its own entries only, oldest first, in pages whose tokens
// belong to the query that issued them.
func TestListLedgerEntries_ID8_PartnerScopedPaging(t *testing.T) {
	s := openStore(t)
	m := ledger.MonthOf(t0())
	var mine []string
	for i, id := range []string{"e1", "e2", "e3", "e4"} {
		e := seedEntry(t, s, partner1, customer1, id, ledger.KindCharge, eur(100), false, t0().Add(time.Duration(i)*time.Minute), m)
		mine = append(mine, e.Key.String())
	}
	seedEntry(t, s, partner2, customer1, "other", ledger.KindCharge, eur(100), false, t0(), m)
	l := billing.NewLedger(s, clock.NewFake(t0()), nil, nil)
	ctx := as(billingAgent(partner1))

	var got []string
	token := ""
	for range 10 {
		page, next, err := l.ListLedgerEntries(ctx, billing.ListInput{PageSize: 3, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			got = append(got, e.Key.String())
		}
		if token = next; token == "" {
			break
		}
	}
	if !slices.Equal(got, mine) {
		t.Errorf("listed %v, want %v", got, mine)
	}
	// A token of one query is refused by another (another filter, another partner).
	_, next, err := l.ListLedgerEntries(ctx, billing.ListInput{PageSize: 1})
	if err != nil || next == "" {
		t.Fatalf("first page: next %q, %v", next, err)
	}
	if _, _, err := l.ListLedgerEntries(ctx, billing.ListInput{PageSize: 1, PageToken: next, CustomerID: customer1}); !errs.HasReason(err, errs.ReasonInvalidPageToken) {
		t.Errorf("token with another filter: %v; want INVALID_PAGE_TOKEN", err)
	}
	if _, _, err := l.ListLedgerEntries(as(billingAgent(partner2)), billing.ListInput{PageSize: 1, PageToken: next}); !errs.HasReason(err, errs.ReasonInvalidPageToken) {
		t.Errorf("token of another partner: %v; want INVALID_PAGE_TOKEN", err)
	}
	// A service acting for the partner reads the partner's ledger.
	obo := billingAgent(partner1)
	svcCtx := as(auth.Principal{Subject: "svc_x", OrgKind: auth.OrgService, Roles: []auth.Role{auth.Service}, OnBehalfOf: &obo})
	page, _, err := l.ListLedgerEntries(svcCtx, billing.ListInput{})
	if err != nil || len(page) != 4 {
		t.Errorf("service on behalf of the partner: %d entries, %v; want 4", len(page), err)
	}
	// Filtering on another partner's customer finds nothing of it.
	page, _, err = l.ListLedgerEntries(as(billingAgent(partner2)), billing.ListInput{CustomerID: customer1})
	if err != nil || len(page) != 1 || page[0].PartnerID != partner2 {
		t.Errorf("partner 2's view of customer 1: %+v, %v", page, err)
	}
}

// ID-8: only a partner (or a service acting for one) has a ledger to read.
func TestLedger_ID8_NonPartnerRefused(t *testing.T) {
	l := billing.NewLedger(openStore(t), clock.NewFake(t0()), nil, nil)
	for name, p := range map[string]auth.Principal{
		"customer":           {Subject: "u", OrgID: customer1, OrgKind: auth.OrgCustomer, Roles: []auth.Role{auth.CustomerGlobalAdmin}},
		"service for no one": {Subject: "svc_x", OrgKind: auth.OrgService, Roles: []auth.Role{auth.Service}},
	} {
		if _, _, err := l.ListLedgerEntries(as(p), billing.ListInput{}); errs.KindOf(err) != errs.PermissionDenied ||
			!errs.HasReason(err, errs.ReasonTenantMismatch) {
			t.Errorf("%s: ListLedgerEntries err %v; want PERMISSION_DENIED TENANT_MISMATCH", name, err)
		}
		if _, err := l.GetInvoicePreview(as(p), billing.PreviewInput{InvoiceMonth: "2026-03"}); errs.KindOf(err) != errs.PermissionDenied {
			t.Errorf("%s: GetInvoicePreview err %v; want PERMISSION_DENIED", name, err)
		}
	}
	if _, _, err := l.ListLedgerEntries(context.Background(), billing.ListInput{}); errs.KindOf(err) != errs.Unauthenticated {
		t.Errorf("no principal: %v; want UNAUTHENTICATED", err)
	}
}

// guard serves only partner1's customer1.
type guard struct{}

func (guard) RequireOwnCustomer(_ context.Context, partnerID, customerID string) error {
	if partnerID == partner1 && customerID == customer1 {
		return nil
	}
	return errs.New(errs.PermissionDenied, errs.ReasonTenantMismatch, "not the partner's")
}

// ID-8: a customer filter naming a customer the partner never served is TENANT_MISMATCH, as
// ledger_service.proto says; its own customer is listed.
func TestLedger_ID8_ForeignCustomerFilterRefused(t *testing.T) {
	l := billing.NewLedger(openStore(t), clock.NewFake(t0()), nil, guard{})
	agent := as(auth.Principal{Subject: "u", OrgID: partner1, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.BillingAgent}})
	if _, _, err := l.ListLedgerEntries(agent, billing.ListInput{CustomerID: customer2}); !errs.HasReason(err, errs.ReasonTenantMismatch) {
		t.Errorf("ListLedgerEntries of a foreign customer: %v; want TENANT_MISMATCH", err)
	}
	if _, err := l.GetInvoicePreview(agent, billing.PreviewInput{InvoiceMonth: "2026-03", CustomerID: customer2}); !errs.HasReason(err, errs.ReasonTenantMismatch) {
		t.Errorf("GetInvoicePreview of a foreign customer: %v; want TENANT_MISMATCH", err)
	}
	if _, _, err := l.ListLedgerEntries(agent, billing.ListInput{CustomerID: customer1}); err != nil {
		t.Errorf("ListLedgerEntries of its own customer: %v", err)
	}
}

func violations(err error) []string {
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.InvalidArgument {
		return nil
	}
	var out []string
	for _, v := range e.Violations {
		out = append(out, v.Field)
	}
	return out
}

// Bad input is INVALID_ARGUMENT with one field violation per bad field.
func TestLedger_InvalidInput(t *testing.T) {
	l := billing.NewLedger(openStore(t), clock.NewFake(t0()), nil, nil)
	ctx := as(billingAgent(partner1))
	_, _, err := l.ListLedgerEntries(ctx, billing.ListInput{PageSize: -1, CustomerID: "c1", SubscriptionID: "s1",
		Kinds: []ledger.Kind{9}, InvoiceMonth: "2026-3", From: t0(), To: t0(), OrderID: " o1"})
	want := []string{"page_size", "customer_id", "subscription_id", "order_id", "kinds", "invoice_month", "end_time"}
	if got := violations(err); !slices.Equal(got, want) {
		t.Errorf("ListLedgerEntries violations %v (%v); want %v", got, err, want)
	}
	_, err = l.GetInvoicePreview(ctx, billing.PreviewInput{InvoiceMonth: "March", PageSize: -5, CustomerID: "x"})
	if got := violations(err); !slices.Equal(got, []string{"invoice_month", "page_size", "customer_id"}) {
		t.Errorf("GetInvoicePreview violations %v (%v)", got, err)
	}
	if _, err := l.GetInvoicePreview(ctx, billing.PreviewInput{}); !slices.Equal(violations(err), []string{"invoice_month"}) {
		t.Errorf("missing month: %v", err)
	}
}

type names map[string]string

func (n names) CustomerNames(_ context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for _, id := range ids {
		if v, ok := n[id]; ok {
			out[id] = v
		}
	}
	return out, nil
}

// BI-1..BI-3, CA-4: the preview sums a partner's month per customer × currency × tax treatment
// (charges, credits, penalties, refunds, total) and per currency × tax treatment for the month;
// customer lines are paged; the month is closed once it has ended.
func TestGetInvoicePreview_BI3_SumsAndPages(t *testing.T) {
	s := openStore(t)
	m := ledger.MonthOf(t0())
	seedEntry(t, s, partner1, customer1, "c1-charge", ledger.KindCharge, eur(10000), false, t0(), m)
	seedEntry(t, s, partner1, customer1, "c1-credit", ledger.KindCredit, eur(-2500), false, t0(), m)           // SU-10
	seedEntry(t, s, partner1, customer1, "c1-penalty", ledger.KindPenalty, eur(750), false, t0(), m)           // SU-15
	seedEntry(t, s, partner1, customer2, "c2-charge", ledger.KindCharge, aud(4400), true, t0(), m)             // CA-4
	seedEntry(t, s, partner1, customer2, "c2-refund", ledger.KindRefund, aud(-400), true, t0(), m)             // seats removed
	seedEntry(t, s, partner1, customer3, "c3-charge", ledger.KindCharge, eur(500), false, t0(), m)             //
	seedEntry(t, s, partner1, customer3, "c3-next", ledger.KindCredit, eur(-500), false, t0(), m.AddMonths(1)) // OR-3: next month
	seedEntry(t, s, partner2, customer1, "p2", ledger.KindCharge, eur(99999), false, t0(), m)                  // ID-8

	clk := clock.NewFake(t0())
	l := billing.NewLedger(s, clk, names{customer1: "Contoso", customer2: "Fabrikam"}, nil)
	ctx := as(billingAgent(partner1))
	p1, err := l.GetInvoicePreview(ctx, billing.PreviewInput{InvoiceMonth: "2026-03", PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if p1.PartnerID != partner1 || p1.Month != m || p1.Closed || !p1.ComputeTime.Equal(t0()) || p1.NextPageToken == "" {
		t.Errorf("page 1 header %+v", p1)
	}
	if len(p1.CustomerLines) != 2 || p1.CustomerLines[0].CustomerID != customer1 || p1.CustomerLines[1].CustomerID != customer2 {
		t.Fatalf("page 1 lines %+v", p1.CustomerLines)
	}
	c1 := p1.CustomerLines[0].Amounts
	if c1.Charges != eur(10000) || c1.Credits != eur(-2500) || c1.Penalties != eur(750) || c1.Refunds != eur(0) ||
		c1.Total != eur(8250) || c1.EntryCount != 3 || p1.CustomerLines[0].TaxInclusive {
		t.Errorf("customer 1 line %+v", p1.CustomerLines[0])
	}
	if c2 := p1.CustomerLines[1]; !c2.TaxInclusive || c2.Currency != "AUD" || c2.Amounts.Total != aud(4000) {
		t.Errorf("customer 2 line %+v", c2)
	}
	if p1.Names[customer1] != "Contoso" || p1.Names[customer2] != "Fabrikam" {
		t.Errorf("names %v", p1.Names)
	}
	// Month totals over every customer, not only this page; never across currencies or tax treatments.
	if len(p1.CurrencyTotals) != 2 || p1.CurrencyTotals[0].Currency != "AUD" || p1.CurrencyTotals[0].Amounts.Total != aud(4000) ||
		p1.CurrencyTotals[1].Currency != "EUR" || p1.CurrencyTotals[1].Amounts.Total != eur(8750) || p1.CurrencyTotals[1].Amounts.EntryCount != 4 {
		t.Errorf("totals %+v", p1.CurrencyTotals)
	}
	p2, err := l.GetInvoicePreview(ctx, billing.PreviewInput{InvoiceMonth: "2026-03", PageSize: 2, PageToken: p1.NextPageToken})
	if err != nil {
		t.Fatal(err)
	}
	if len(p2.CustomerLines) != 1 || p2.CustomerLines[0].CustomerID != customer3 || p2.NextPageToken != "" ||
		p2.CustomerLines[0].Amounts.Total != eur(500) {
		t.Errorf("page 2 %+v", p2)
	}
	// The token belongs to the month it was issued for.
	if _, err := l.GetInvoicePreview(ctx, billing.PreviewInput{InvoiceMonth: "2026-04", PageToken: p1.NextPageToken}); !errs.HasReason(err, errs.ReasonInvalidPageToken) {
		t.Errorf("token for another month: %v", err)
	}
	// One customer: its lines and totals only.
	one, err := l.GetInvoicePreview(ctx, billing.PreviewInput{InvoiceMonth: "2026-03", CustomerID: customer3})
	if err != nil || len(one.CustomerLines) != 1 || len(one.CurrencyTotals) != 1 || one.CurrencyTotals[0].Amounts.Total != eur(500) {
		t.Errorf("customer 3 preview %+v, %v", one, err)
	}
	// OR-3: the cancellation credit is on April's invoice; once March has ended it is closed.
	if _, err := clk.Set(m.End()); err != nil {
		t.Fatal(err)
	}
	apr, err := l.GetInvoicePreview(ctx, billing.PreviewInput{InvoiceMonth: "2026-04"})
	if err != nil || apr.Closed || len(apr.CustomerLines) != 1 || apr.CustomerLines[0].Amounts.Credits != eur(-500) {
		t.Errorf("April preview %+v, %v", apr, err)
	}
	mar, err := l.GetInvoicePreview(ctx, billing.PreviewInput{InvoiceMonth: "2026-03"})
	if err != nil || !mar.Closed {
		t.Errorf("March after its end: closed %v, %v", mar.Closed, err)
	}
	// An empty month is an empty preview, not an error.
	empty, err := l.GetInvoicePreview(ctx, billing.PreviewInput{InvoiceMonth: "2025-01"})
	if err != nil || len(empty.CustomerLines) != 0 || len(empty.CurrencyTotals) != 0 || !empty.Closed {
		t.Errorf("empty month %+v, %v", empty, err)
	}
}

// EntryID is a stable UUID per key; the etag never changes.
func TestEntryIDAndEtag(t *testing.T) {
	k1, _ := ledger.DeriveKey(ledger.Source{Kind: ledger.SourceSubscriptionEvent, EventID: "e1"}, 0)
	k2, _ := ledger.DeriveKey(ledger.Source{Kind: ledger.SourceSubscriptionEvent, EventID: "e2"}, 0)
	if id := billing.EntryID(k1); errs.CheckUUID("entry_id", id) != nil || id != billing.EntryID(k1) || id == billing.EntryID(k2) {
		t.Errorf("EntryID %q", id)
	}
	if e1, again := billing.EntryEtag(k1), billing.EntryEtag(k1); e1 != again || e1 == billing.EntryEtag(k2) {
		t.Error("etags")
	}
}
