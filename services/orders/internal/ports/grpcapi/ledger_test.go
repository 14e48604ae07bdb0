package grpcapi

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	ordersv1 "github.com/partnerhub/partnerhub/gen/partnerhub/orders/v1"
	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	ordersql "github.com/partnerhub/partnerhub/services/orders/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/billing"
	"github.com/partnerhub/partnerhub/services/orders/internal/ledger"
	"github.com/partnerhub/partnerhub/services/orders/migrations"
)

const (
	ledgerPartner   = "aaaaaaaa-0000-4000-8000-00000000000a"
	ledgerOther     = "aaaaaaaa-0000-4000-8000-00000000000b"
	ledgerCustomer  = "cccccccc-0000-4000-8000-00000000000a"
	ledgerCustomer2 = "cccccccc-0000-4000-8000-00000000000b"
)

// ledgerT0 is in March 2026 (whole microseconds: what the store keeps).
func ledgerT0() time.Time { return time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) }

type ledgerNames map[string]string

func (n ledgerNames) CustomerNames(_ context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for _, id := range ids {
		if v, ok := n[id]; ok {
			out[id] = v
		}
	}
	return out, nil
}

// ledgerStack is the LedgerService over a SQLite store, served by the real server stack
// (authentication, access rules from the contract, error mapping).
type ledgerStack struct {
	t      *testing.T
	store  *ordersql.Store
	srv    *testkit.Served
	client ordersv1.LedgerServiceClient
}

func newLedgerStack(t *testing.T) *ledgerStack {
	t.Helper()
	s := &ledgerStack{t: t, store: ordersql.New(testkit.OpenDB(t, testkit.SQLiteDSN(t), migrations.FS, "orders_schema"))}
	l := billing.NewLedger(s.store, clock.NewFake(ledgerT0()), ledgerNames{ledgerCustomer: "Contoso Pty Ltd"}, nil)
	s.srv = testkit.Serve(t, "orders", func(gs *grpc.Server) { ordersv1.RegisterLedgerServiceServer(gs, NewLedgerServer(l)) })
	s.client = ordersv1.NewLedgerServiceClient(s.srv.Conn)
	return s
}

func (s *ledgerStack) as(p auth.Principal) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	s.t.Cleanup(cancel)
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+s.srv.Token(s.t, p))
}

func ledgerPrincipal(org string, kind auth.OrgKind, roles ...auth.Role) auth.Principal {
	return auth.Principal{Subject: "u-1", OrgID: org, OrgKind: kind, Roles: roles}
}

func (s *ledgerStack) insert(e ledger.Entry) {
	s.t.Helper()
	if err := s.store.Tx(context.Background(), func(ctx context.Context, tx app.Tx) error {
		_, err := tx.InsertEntry(ctx, e)
		return err
	}); err != nil {
		s.t.Fatal(err)
	}
}

func ledgerEntryOf(t *testing.T, partner, customer, eventID string, kind ledger.Kind, minor int64, currency string, inclusive bool,
	created time.Time) ledger.Entry {
	t.Helper()
	src := ledger.Source{Kind: ledger.SourceSubscriptionEvent, SubscriptionID: "5b000000-0000-4000-8000-000000000001", EventID: eventID}
	k, err := ledger.DeriveKey(src, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ledger.Entry{Key: k, PartnerID: partner, CustomerID: customer, Kind: kind,
		Amount: ledger.Money{Minor: minor, Currency: currency}, TaxInclusive: inclusive, Source: src,
		InvoiceMonth: ledger.MonthOf(created), CreateTime: created, Description: "entry " + eventID}
}

// BI-1..BI-3: every field of an entry crosses the wire; entry_id and etag are stable.
func TestLedgerServer_ListLedgerEntries_MapsEveryField(t *testing.T) {
	s := newLedgerStack(t)
	src := ledger.Source{Kind: ledger.SourceOrderLine, OrderID: "order-1", LineID: "line-1", SubscriptionID: "sub-1"}
	k, err := ledger.DeriveKey(src, 2)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	e := ledger.Entry{Key: k, PartnerID: ledgerPartner, CustomerID: ledgerCustomer, Kind: ledger.KindCharge,
		Amount: ledger.Money{Minor: 4400, Currency: "AUD"}, TaxInclusive: true, Source: src, SKUID: "sku-1", Quantity: 10,
		Term: ledger.TermP1Y, Plan: ledger.PlanMonthly, ServicePeriodStart: start, ServicePeriodEnd: start.AddDate(0, 1, 0),
		InvoiceMonth: ledger.MonthOf(start), Description: "Charge 2 of 12", CreateTime: ledgerT0()}
	s.insert(e)

	resp, err := s.client.ListLedgerEntries(s.as(ledgerPrincipal(ledgerPartner, auth.OrgPartner, auth.BillingAgent)),
		&ordersv1.ListLedgerEntriesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want := &ordersv1.LedgerEntry{EntryId: billing.EntryID(k), PartnerId: ledgerPartner, CustomerId: ledgerCustomer,
		Kind: ordersv1.LedgerEntryKind_LEDGER_ENTRY_KIND_CHARGE, Amount: &commonv1.Money{AmountMinor: 4400, CurrencyCode: "AUD"},
		TaxInclusive: true, Source: &ordersv1.LedgerSource{Kind: ordersv1.LedgerSourceKind_LEDGER_SOURCE_KIND_ORDER_LINE,
			OrderId: "order-1", LineId: "line-1", SubscriptionId: "sub-1"},
		SkuId: "sku-1", Quantity: 10, Term: catalogv1.Term_TERM_P1Y, BillingPlan: catalogv1.BillingPlan_BILLING_PLAN_MONTHLY,
		ServicePeriodStartTime: timestamppb.New(start), ServicePeriodEndTime: timestamppb.New(start.AddDate(0, 1, 0)),
		InvoiceMonth: "2026-03", Description: "Charge 2 of 12", Etag: billing.EntryEtag(k),
		CreateTime: timestamppb.New(ledgerT0()), UpdateTime: timestamppb.New(ledgerT0())}
	if len(resp.GetEntries()) != 1 || !proto.Equal(resp.GetEntries()[0], want) || resp.GetNextPageToken() != "" {
		t.Errorf("response %v\nwant entry %v", resp, want)
	}
}

// ID-8: a partner reads its own ledger only, in pages; UNSPECIFIED among the kinds means every
// kind; a service acting for the partner reads the partner's ledger.
func TestLedgerServer_ListLedgerEntries_ID8_FiltersAndPages(t *testing.T) {
	s := newLedgerStack(t)
	for _, e := range []ledger.Entry{
		ledgerEntryOf(t, ledgerPartner, ledgerCustomer, "e1", ledger.KindCharge, 100, "EUR", false, ledgerT0()),
		ledgerEntryOf(t, ledgerPartner, ledgerCustomer, "e2", ledger.KindCredit, -50, "EUR", false, ledgerT0().Add(time.Minute)),
		ledgerEntryOf(t, ledgerPartner, ledgerCustomer2, "e3", ledger.KindPenalty, 25, "EUR", false, ledgerT0().Add(2*time.Minute)),
		ledgerEntryOf(t, ledgerOther, ledgerCustomer, "e4", ledger.KindCharge, 999, "EUR", false, ledgerT0()),
	} {
		s.insert(e)
	}
	agent := s.as(ledgerPrincipal(ledgerPartner, auth.OrgPartner, auth.AccountAdmin))
	var events []string
	req := &ordersv1.ListLedgerEntriesRequest{PageSize: 2}
	for range 5 {
		resp, err := s.client.ListLedgerEntries(agent, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range resp.GetEntries() {
			events = append(events, e.GetSource().GetEventId())
		}
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	if len(events) != 3 || events[0] != "e1" || events[1] != "e2" || events[2] != "e3" {
		t.Errorf("listed %v, want [e1 e2 e3] (not the other partner's e4)", events)
	}
	resp, err := s.client.ListLedgerEntries(agent, &ordersv1.ListLedgerEntriesRequest{
		Kinds: []ordersv1.LedgerEntryKind{ordersv1.LedgerEntryKind_LEDGER_ENTRY_KIND_CREDIT}})
	if err != nil || len(resp.GetEntries()) != 1 || resp.GetEntries()[0].GetSource().GetEventId() != "e2" {
		t.Errorf("credits only: %v, %v", resp, err)
	}
	resp, err = s.client.ListLedgerEntries(agent, &ordersv1.ListLedgerEntriesRequest{Kinds: []ordersv1.LedgerEntryKind{
		ordersv1.LedgerEntryKind_LEDGER_ENTRY_KIND_CREDIT, ordersv1.LedgerEntryKind_LEDGER_ENTRY_KIND_UNSPECIFIED}})
	if err != nil || len(resp.GetEntries()) != 3 {
		t.Errorf("UNSPECIFIED kind: %d entries, %v; want every kind", len(resp.GetEntries()), err)
	}
	resp, err = s.client.ListLedgerEntries(agent, &ordersv1.ListLedgerEntriesRequest{CustomerId: ledgerCustomer2,
		StartTime: timestamppb.New(ledgerT0()), EndTime: timestamppb.New(ledgerT0().Add(time.Hour)), InvoiceMonth: "2026-03"})
	if err != nil || len(resp.GetEntries()) != 1 || resp.GetEntries()[0].GetSource().GetEventId() != "e3" {
		t.Errorf("customer 2: %v, %v", resp, err)
	}
	obo := ledgerPrincipal(ledgerPartner, auth.OrgPartner, auth.BillingAgent)
	svc := auth.Principal{Subject: "svc_x", OrgID: "partnerhub", OrgKind: auth.OrgService, Roles: []auth.Role{auth.Service}, OnBehalfOf: &obo}
	resp, err = s.client.ListLedgerEntries(s.as(svc), &ordersv1.ListLedgerEntriesRequest{})
	if err != nil || len(resp.GetEntries()) != 3 {
		t.Errorf("service on behalf of the partner: %d entries, %v; want 3", len(resp.GetEntries()), err)
	}
}

// Bad input is INVALID_ARGUMENT / INVALID_REQUEST with field violations; callers without the
// roles, or without a partner (ID-8), are refused.
func TestLedgerServer_Errors(t *testing.T) {
	s := newLedgerStack(t)
	agent := s.as(ledgerPrincipal(ledgerPartner, auth.OrgPartner, auth.BillingAgent))
	fields := func(err error) []string {
		e, ok := errs.As(err)
		if !ok || e.Kind != errs.InvalidArgument || e.Reason != errs.ReasonInvalidRequest {
			return nil
		}
		var out []string
		for _, v := range e.Violations {
			out = append(out, v.Field)
		}
		return out
	}
	_, err := s.client.ListLedgerEntries(agent, &ordersv1.ListLedgerEntriesRequest{InvoiceMonth: "03/2026", CustomerId: "contoso",
		Kinds: []ordersv1.LedgerEntryKind{7}})
	if got := fields(err); len(got) != 3 || got[0] != "customer_id" || got[1] != "kinds" || got[2] != "invoice_month" {
		t.Errorf("ListLedgerEntries: %v (fields %v)", err, got)
	}
	_, err = s.client.ListLedgerEntries(agent, &ordersv1.ListLedgerEntriesRequest{StartTime: &timestamppb.Timestamp{Seconds: -1 << 62}})
	if got := fields(err); len(got) != 1 || got[0] != "start_time" {
		t.Errorf("bad start_time: %v", err)
	}
	_, err = s.client.ListLedgerEntries(agent, &ordersv1.ListLedgerEntriesRequest{PageToken: "garbage"})
	if !errs.HasReason(err, errs.ReasonInvalidPageToken) {
		t.Errorf("bad page token: %v", err)
	}
	_, err = s.client.GetInvoicePreview(agent, &ordersv1.GetInvoicePreviewRequest{InvoiceMonth: "2026-13"})
	if got := fields(err); len(got) != 1 || got[0] != "invoice_month" {
		t.Errorf("GetInvoicePreview: %v", err)
	}
	sales := s.as(ledgerPrincipal(ledgerPartner, auth.OrgPartner, auth.SalesAgent))
	if _, err := s.client.ListLedgerEntries(sales, &ordersv1.ListLedgerEntriesRequest{}); errs.KindOf(err) != errs.PermissionDenied {
		t.Errorf("sales agent: %v; want PERMISSION_DENIED", err)
	}
	own := s.as(auth.Principal{Subject: "svc_x", OrgID: "partnerhub", OrgKind: auth.OrgService, Roles: []auth.Role{auth.Service}})
	if _, err := s.client.GetInvoicePreview(own, &ordersv1.GetInvoicePreviewRequest{InvoiceMonth: "2026-03"}); !errs.HasReason(err, errs.ReasonTenantMismatch) {
		t.Errorf("service for no partner: %v; want TENANT_MISMATCH", err)
	}
	if _, err := s.client.ListLedgerEntries(context.Background(), &ordersv1.ListLedgerEntriesRequest{}); errs.KindOf(err) != errs.Unauthenticated {
		t.Errorf("no token: %v; want UNAUTHENTICATED", err)
	}
}

// BI-1..BI-3, CA-4: the preview's lines per customer × currency × tax treatment with names, the
// month's totals, the closed flag and the compute time cross the wire; lines are paged.
func TestLedgerServer_GetInvoicePreview_BI3(t *testing.T) {
	s := newLedgerStack(t)
	s.insert(ledgerEntryOf(t, ledgerPartner, ledgerCustomer, "e1", ledger.KindCharge, 4400, "AUD", true, ledgerT0()))
	s.insert(ledgerEntryOf(t, ledgerPartner, ledgerCustomer, "e2", ledger.KindCredit, -400, "AUD", true, ledgerT0()))
	s.insert(ledgerEntryOf(t, ledgerPartner, ledgerCustomer2, "e3", ledger.KindPenalty, 250, "EUR", false, ledgerT0()))
	s.insert(ledgerEntryOf(t, ledgerOther, ledgerCustomer, "e4", ledger.KindCharge, 999, "EUR", false, ledgerT0()))
	agent := s.as(ledgerPrincipal(ledgerPartner, auth.OrgPartner, auth.BillingAgent))

	resp, err := s.client.GetInvoicePreview(agent, &ordersv1.GetInvoicePreviewRequest{InvoiceMonth: "2026-03", PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	aud := func(m int64) *commonv1.Money { return &commonv1.Money{AmountMinor: m, CurrencyCode: "AUD"} }
	eur := func(m int64) *commonv1.Money { return &commonv1.Money{AmountMinor: m, CurrencyCode: "EUR"} }
	want := &ordersv1.GetInvoicePreviewResponse{PartnerId: ledgerPartner, InvoiceMonth: "2026-03", Closed: false,
		CustomerLines: []*ordersv1.CustomerInvoiceLine{{CustomerId: ledgerCustomer, CustomerName: "Contoso Pty Ltd",
			CurrencyCode: "AUD", TaxInclusive: true, Amounts: &ordersv1.InvoiceAmounts{Charges: aud(4400), Credits: aud(-400),
				Penalties: aud(0), Refunds: aud(0), Total: aud(4000), EntryCount: 2}}},
		CurrencyTotals: []*ordersv1.CurrencyTotal{
			{CurrencyCode: "AUD", TaxInclusive: true, Amounts: &ordersv1.InvoiceAmounts{Charges: aud(4400), Credits: aud(-400),
				Penalties: aud(0), Refunds: aud(0), Total: aud(4000), EntryCount: 2}},
			{CurrencyCode: "EUR", Amounts: &ordersv1.InvoiceAmounts{Charges: eur(0), Credits: eur(0),
				Penalties: eur(250), Refunds: eur(0), Total: eur(250), EntryCount: 1}}},
		ComputeTime: timestamppb.New(ledgerT0()), NextPageToken: resp.GetNextPageToken()}
	if resp.GetNextPageToken() == "" || !proto.Equal(resp, want) {
		t.Errorf("page 1\n got %v\nwant %v", resp, want)
	}
	resp2, err := s.client.GetInvoicePreview(agent, &ordersv1.GetInvoicePreviewRequest{InvoiceMonth: "2026-03", PageSize: 1,
		PageToken: resp.GetNextPageToken()})
	if err != nil || len(resp2.GetCustomerLines()) != 1 || resp2.GetCustomerLines()[0].GetCustomerId() != ledgerCustomer2 ||
		resp2.GetCustomerLines()[0].GetCustomerName() != "" || resp2.GetNextPageToken() != "" || len(resp2.GetCurrencyTotals()) != 2 {
		t.Errorf("page 2: %v, %v", resp2, err)
	}
	past, err := s.client.GetInvoicePreview(agent, &ordersv1.GetInvoicePreviewRequest{InvoiceMonth: "2026-02"})
	if err != nil || !past.GetClosed() || len(past.GetCustomerLines()) != 0 {
		t.Errorf("February: %v, %v; want closed and empty", past, err)
	}
}
