package subscriptions

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/billing"
	"github.com/partnerhub/partnerhub/services/orders/internal/ledger"
)

// Events implements billing.Events over subscriptions' EventService.ListEvents (DESIGN
// "Cross-service flow": renewals, refunds and penalties flow back to the orders ledger through
// the feed). It always calls with the service's OWN token, never on behalf of a caller: the
// feed shows a SERVICE caller acting for no one every partner's events, and a partner's token
// only that partner's (event_service.proto), so the ledger would miss other partners' charges.
type Events struct {
	client subscriptionsv1.EventServiceClient
}

// NewEvents returns the feed reader over a connection to subscriptions (svc.Runtime.DialPeer).
func NewEvents(conn grpc.ClientConnInterface) *Events {
	return &Events{client: subscriptionsv1.NewEventServiceClient(conn)}
}

var _ billing.Events = (*Events)(nil)

// ownAccount is the principal that makes svc's token credentials use the service's own-account
// token (svc.OnBehalfOf passes no one on for a service).
func ownAccount() auth.Principal {
	return auth.Principal{OrgKind: auth.OrgService, Roles: []auth.Role{auth.Service}}
}

// billingTypes are the event types that can bill (ledger.EventType); the request asks for these
// only. The others never produce an entry; skipping them server-side is what the cursor allows,
// since it is a position in the whole feed and last_sequence covers the filtered-out events too.
func billingTypes() []subscriptionsv1.SubscriptionEventType {
	return []subscriptionsv1.SubscriptionEventType{
		subscriptionsv1.SubscriptionEventType_SUBSCRIPTION_EVENT_TYPE_RENEWED,
		subscriptionsv1.SubscriptionEventType_SUBSCRIPTION_EVENT_TYPE_REACTIVATED,
		subscriptionsv1.SubscriptionEventType_SUBSCRIPTION_EVENT_TYPE_QUANTITY_CHANGED,
		subscriptionsv1.SubscriptionEventType_SUBSCRIPTION_EVENT_TYPE_CANCELLED,
		subscriptionsv1.SubscriptionEventType_SUBSCRIPTION_EVENT_TYPE_PENALTY,
	}
}

// EventsAfter implements billing.Events with one ListEvents call (after_sequence = after, no page
// token: the cursor is the position), bounded by callTimeout.
func (e *Events) EventsAfter(ctx context.Context, after int64, limit int) (billing.EventPage, error) {
	if limit <= 0 || limit > billing.DefaultPageSize {
		limit = billing.DefaultPageSize
	}
	ctx, cancel := context.WithTimeout(svc.OnBehalfOf(ctx, ownAccount()), callTimeout)
	defer cancel()
	resp, err := e.client.ListEvents(ctx, &subscriptionsv1.ListEventsRequest{
		AfterSequence: after, PageSize: int32(limit), EventTypes: billingTypes()})
	if err != nil {
		return billing.EventPage{}, fmt.Errorf("subscriptions ListEvents after %d: %w", after, errs.FromError(err))
	}
	page := billing.EventPage{Last: resp.GetLastSequence(), More: resp.GetNextPageToken() != ""}
	if page.Last < after {
		return billing.EventPage{}, fmt.Errorf("subscriptions ListEvents after %d: last_sequence %d went backwards", after, page.Last)
	}
	for _, ev := range resp.GetEvents() {
		page.Events = append(page.Events, EventFromProto(ev))
	}
	return page, nil
}

// money maps a proto amount; nil is zero with no currency.
func money(m *commonv1.Money) ledger.Money {
	return ledger.Money{Minor: m.GetAmountMinor(), Currency: m.GetCurrencyCode()}
}

// timeOf maps a proto time; unset is the zero time.
func timeOf(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime().UTC()
}

// plan maps subscriptions' BillingPlan to the ledger's (same numbers, BI-2; subscriptions has no
// ONE_TIME); unknown values are unspecified.
func plan(p subscriptionsv1.BillingPlan) ledger.BillingPlan {
	switch p {
	case subscriptionsv1.BillingPlan_BILLING_PLAN_MONTHLY:
		return ledger.PlanMonthly
	case subscriptionsv1.BillingPlan_BILLING_PLAN_ANNUAL:
		return ledger.PlanAnnual
	case subscriptionsv1.BillingPlan_BILLING_PLAN_TRIENNIAL:
		return ledger.PlanTriennial
	}
	return ledger.PlanUnspecified
}

// EventFromProto maps one feed event to what the ledger needs (ledger.SubscriptionEvent). Amounts
// are taken as the payload signs them, never recomputed:
//   - RENEWED: amount_due (the new term's first billing period, BI-2) → a charge, for the period
//     [term start, first period end); term_amount (the whole term) → every installment of the
//     term (ledger.EntriesFromEvent); the term from the term's span; scenario n's autorenewal.
//   - REACTIVATED: amount_due → a charge for the new term.
//   - QUANTITY_CHANGED: price_delta → a charge (seats added) or a refund (seats removed), for the
//     seats changed.
//   - CANCELLED: refund (≤ 0, prorated by subscriptions, SU-10) → a credit (BI-3); a saga
//     compensation's zero refund bills nothing.
//   - PENALTY: amount (SU-15's 25 % of the remaining term's value) → a penalty (BI-3).
//
// Every other type maps to ledger.EventUnspecified, which bills nothing. SKU, plan (where the
// payload lacks it) and the tax treatment are not in the payloads: billing.Feed adds them from
// the order line that provisioned the subscription.
func EventFromProto(ev *subscriptionsv1.SubscriptionEvent) ledger.SubscriptionEvent {
	out := ledger.SubscriptionEvent{EventID: ev.GetEventId(), PartnerID: ev.GetPartnerId(),
		CustomerID: ev.GetCustomerId(), SubscriptionID: ev.GetSubscriptionId(),
		Time: timeOf(ev.GetEventTime())}
	switch p := ev.GetPayload().(type) {
	case *subscriptionsv1.SubscriptionEvent_Renewed:
		r := p.Renewed
		start := timeOf(r.GetTermStartTime())
		end := timeOf(r.GetTermEndTime())
		out.Type, out.Amount, out.Quantity, out.OrderID = ledger.EventRenewed, money(r.GetAmountDue()), r.GetQuantity(), r.GetOrderId()
		out.TermAmount = money(r.GetTermAmount())
		out.Plan, out.Term = plan(r.GetBillingPlan()), ledger.TermOfSpan(start, end)
		out.PeriodStart, out.PeriodEnd = start, ledger.FirstPeriodEnd(start, end, out.Plan)
	case *subscriptionsv1.SubscriptionEvent_Reactivated:
		r := p.Reactivated
		start := timeOf(r.GetTermStartTime())
		end := timeOf(r.GetTermEndTime())
		out.Type, out.Amount, out.Term = ledger.EventReactivated, money(r.GetAmountDue()), ledger.TermOfSpan(start, end)
		if !start.IsZero() && end.After(start) {
			out.PeriodStart, out.PeriodEnd = start, end
		}
	case *subscriptionsv1.SubscriptionEvent_QuantityChanged:
		q := p.QuantityChanged
		delta := q.GetNewQuantity() - q.GetOldQuantity()
		if delta < 0 {
			delta = -delta
		}
		out.Type, out.Amount, out.Quantity, out.OrderID = ledger.EventQuantityChanged, money(q.GetPriceDelta()), delta, q.GetOrderId()
	case *subscriptionsv1.SubscriptionEvent_Cancelled:
		c := p.Cancelled
		out.Type, out.Amount, out.Quantity, out.Reason = ledger.EventCancelled, money(c.GetRefund()), c.GetQuantity(), c.GetReason()
	case *subscriptionsv1.SubscriptionEvent_Penalty:
		pe := p.Penalty
		out.Type, out.Amount, out.Reason = ledger.EventPenalty, money(pe.GetAmount()), pe.GetReason()
	}
	return out
}
