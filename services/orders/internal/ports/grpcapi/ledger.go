package grpcapi

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	ordersv1 "github.com/partnerhub/partnerhub/gen/partnerhub/orders/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/billing"
	"github.com/partnerhub/partnerhub/services/orders/internal/ledger"
)

// LedgerServer implements partnerhub.orders.v1.LedgerService over billing.Ledger (BI-1..BI-3):
// proto in, use case, proto out. Authentication and the RPCs' access rules (BILLING_AGENT,
// ACCOUNT_ADMIN, SERVICE) run before it in the server stack; partner scoping (ID-8) and input
// checks are the use cases'.
type LedgerServer struct {
	ordersv1.UnimplementedLedgerServiceServer
	ledger *billing.Ledger
}

// NewLedgerServer returns the LedgerService of l.
func NewLedgerServer(l *billing.Ledger) *LedgerServer { return &LedgerServer{ledger: l} }

// ledgerTime maps an optional request time: unset is zero; an out-of-range timestamp is a field
// violation.
func ledgerTime(v *errs.Violations, field string, ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	if err := ts.CheckValid(); err != nil {
		v.Add(field, "is not a valid timestamp")
		return time.Time{}
	}
	return ts.AsTime()
}

// ListLedgerEntries implements LedgerService. LEDGER_ENTRY_KIND_UNSPECIFIED among the kinds means
// every kind (ledger.proto); other kinds map to ledger.Kind by number, and the use case refuses
// unknown numbers.
func (s *LedgerServer) ListLedgerEntries(ctx context.Context, req *ordersv1.ListLedgerEntriesRequest) (*ordersv1.ListLedgerEntriesResponse, error) {
	var v errs.Violations
	in := billing.ListInput{PageSize: req.GetPageSize(), PageToken: req.GetPageToken(), CustomerID: req.GetCustomerId(),
		InvoiceMonth: req.GetInvoiceMonth(), OrderID: req.GetOrderId(), SubscriptionID: req.GetSubscriptionId(),
		From: ledgerTime(&v, "start_time", req.GetStartTime()), To: ledgerTime(&v, "end_time", req.GetEndTime())}
	if err := v.Err(); err != nil {
		return nil, err
	}
	for _, k := range req.GetKinds() {
		if k == ordersv1.LedgerEntryKind_LEDGER_ENTRY_KIND_UNSPECIFIED {
			in.Kinds = nil
			break
		}
		in.Kinds = append(in.Kinds, ledger.Kind(k))
	}
	entries, next, err := s.ledger.ListLedgerEntries(ctx, in)
	if err != nil {
		return nil, err
	}
	resp := &ordersv1.ListLedgerEntriesResponse{NextPageToken: next}
	for _, e := range entries {
		resp.Entries = append(resp.Entries, ledgerEntryPB(e))
	}
	return resp, nil
}

// GetInvoicePreview implements LedgerService.
func (s *LedgerServer) GetInvoicePreview(ctx context.Context, req *ordersv1.GetInvoicePreviewRequest) (*ordersv1.GetInvoicePreviewResponse, error) {
	p, err := s.ledger.GetInvoicePreview(ctx, billing.PreviewInput{InvoiceMonth: req.GetInvoiceMonth(),
		CustomerID: req.GetCustomerId(), PageSize: req.GetPageSize(), PageToken: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	resp := &ordersv1.GetInvoicePreviewResponse{PartnerId: p.PartnerID, InvoiceMonth: p.Month.String(), Closed: p.Closed,
		ComputeTime: timestamppb.New(p.ComputeTime), NextPageToken: p.NextPageToken}
	for _, l := range p.CustomerLines {
		resp.CustomerLines = append(resp.CustomerLines, &ordersv1.CustomerInvoiceLine{CustomerId: l.CustomerID,
			CustomerName: p.Names[l.CustomerID], CurrencyCode: l.Currency, TaxInclusive: l.TaxInclusive,
			Amounts: ledgerAmountsPB(l.Amounts)})
	}
	for _, t := range p.CurrencyTotals {
		resp.CurrencyTotals = append(resp.CurrencyTotals, &ordersv1.CurrencyTotal{CurrencyCode: t.Currency,
			TaxInclusive: t.TaxInclusive, Amounts: ledgerAmountsPB(t.Amounts)})
	}
	return resp, nil
}

func ledgerMoneyPB(m ledger.Money) *commonv1.Money {
	return &commonv1.Money{AmountMinor: m.Minor, CurrencyCode: m.Currency}
}

func ledgerAmountsPB(a ledger.Amounts) *ordersv1.InvoiceAmounts {
	return &ordersv1.InvoiceAmounts{Charges: ledgerMoneyPB(a.Charges), Credits: ledgerMoneyPB(a.Credits),
		Penalties: ledgerMoneyPB(a.Penalties), Refunds: ledgerMoneyPB(a.Refunds), Total: ledgerMoneyPB(a.Total),
		EntryCount: a.EntryCount}
}

// ledgerTimePB is an optional response time: zero is unset.
func ledgerTimePB(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// ledgerEntryPB maps an entry. The ledger's enums have the proto numbers (ledger/doc.go), so they
// convert by a cast; entry_id and etag derive from the key (entries are immutable, OR-7).
func ledgerEntryPB(e ledger.Entry) *ordersv1.LedgerEntry {
	created := timestamppb.New(e.CreateTime)
	return &ordersv1.LedgerEntry{
		EntryId:      billing.EntryID(e.Key),
		PartnerId:    e.PartnerID,
		CustomerId:   e.CustomerID,
		Kind:         ordersv1.LedgerEntryKind(e.Kind),
		Amount:       ledgerMoneyPB(e.Amount),
		TaxInclusive: e.TaxInclusive,
		Source: &ordersv1.LedgerSource{Kind: ordersv1.LedgerSourceKind(e.Source.Kind), OrderId: e.Source.OrderID,
			LineId: e.Source.LineID, SubscriptionId: e.Source.SubscriptionID, EventId: e.Source.EventID,
			SupportRequestId: e.Source.SupportRequestID},
		SkuId:                  e.SKUID,
		Quantity:               e.Quantity,
		Term:                   catalogv1.Term(e.Term),
		BillingPlan:            catalogv1.BillingPlan(e.Plan),
		ServicePeriodStartTime: ledgerTimePB(e.ServicePeriodStart),
		ServicePeriodEndTime:   ledgerTimePB(e.ServicePeriodEnd),
		InvoiceMonth:           e.InvoiceMonth.String(),
		Description:            e.Description,
		Etag:                   billing.EntryEtag(e.Key),
		CreateTime:             created,
		UpdateTime:             created,
	}
}
