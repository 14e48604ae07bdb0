package subscriptions_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/orders/internal/adapters/peertest"
	"github.com/partnerhub/partnerhub/services/orders/internal/adapters/subscriptions"
	"github.com/partnerhub/partnerhub/services/orders/internal/ledger"
)

// eventsFake answers ListEvents with resp (or err) and records the request and its token.
type eventsFake struct {
	subscriptionsv1.UnimplementedEventServiceServer
	mu   sync.Mutex
	req  *subscriptionsv1.ListEventsRequest
	auth string
	resp *subscriptionsv1.ListEventsResponse
	err  error
}

func (f *eventsFake) ListEvents(ctx context.Context, req *subscriptionsv1.ListEventsRequest) (*subscriptionsv1.ListEventsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.req, f.auth = req, peertest.AuthOf(ctx)
	if f.err != nil {
		return nil, f.err
	}
	return f.resp, nil
}

func dialEvents(t *testing.T, f *eventsFake) *subscriptions.Events {
	t.Helper()
	conn := peertest.Dial(t, func(gs *grpc.Server) { subscriptionsv1.RegisterEventServiceServer(gs, f) }, peertest.WithTokens())
	return subscriptions.NewEvents(conn)
}

var (
	evTime    = time.Date(2026, 3, 2, 0, 0, 5, 0, time.UTC)
	termStart = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
)

func eur(minor int64) *commonv1.Money {
	return &commonv1.Money{AmountMinor: minor, CurrencyCode: "EUR"}
}

func ev(id string, seq int64) *subscriptionsv1.SubscriptionEvent {
	return &subscriptionsv1.SubscriptionEvent{EventId: id, Sequence: seq, PartnerId: "partner-1", CustomerId: "customer-1",
		SubscriptionId: "sub-1", EventTime: timestamppb.New(evTime)}
}

// The feed reads every partner's events: with the service's OWN token even when the context acts
// for a partner user, from the cursor, asking only for the types that bill.
func TestEventsAfter_OwnTokenCursorAndTypes(t *testing.T) {
	f := &eventsFake{resp: &subscriptionsv1.ListEventsResponse{LastSequence: 41, NextPageToken: "more"}}
	e := dialEvents(t, f)
	page, err := e.EventsAfter(peertest.AgentCtx(), 41, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if f.auth != "Bearer own" {
		t.Errorf("authorization %q; want the service's own token", f.auth)
	}
	if f.req.GetAfterSequence() != 41 || f.req.GetPageSize() != 500 || f.req.GetPageToken() != "" {
		t.Errorf("request %v; want after 41, page size clamped to 500, no page token", f.req)
	}
	want := []subscriptionsv1.SubscriptionEventType{
		subscriptionsv1.SubscriptionEventType_SUBSCRIPTION_EVENT_TYPE_RENEWED,
		subscriptionsv1.SubscriptionEventType_SUBSCRIPTION_EVENT_TYPE_REACTIVATED,
		subscriptionsv1.SubscriptionEventType_SUBSCRIPTION_EVENT_TYPE_QUANTITY_CHANGED,
		subscriptionsv1.SubscriptionEventType_SUBSCRIPTION_EVENT_TYPE_CANCELLED,
		subscriptionsv1.SubscriptionEventType_SUBSCRIPTION_EVENT_TYPE_PENALTY,
	}
	if !slices.Equal(f.req.GetEventTypes(), want) {
		t.Errorf("event types %v; want %v", f.req.GetEventTypes(), want)
	}
	if page.Last != 41 || !page.More || len(page.Events) != 0 {
		t.Errorf("page %+v; want last 41, more, no events", page)
	}
}

// BI-2, BI-3, SU-10, SU-15: each billing payload maps to the ledger's event with its amount as
// signed by subscriptions.
func TestEventsAfter_MapsBillingPayloads(t *testing.T) {
	renewed := ev("e-renew", 1)
	renewed.EventType = subscriptionsv1.SubscriptionEventType_SUBSCRIPTION_EVENT_TYPE_RENEWED
	renewed.Payload = &subscriptionsv1.SubscriptionEvent_Renewed{Renewed: &subscriptionsv1.RenewedPayload{
		Kind: subscriptionsv1.RenewalKind_RENEWAL_KIND_AUTO_RENEW, TermStartTime: timestamppb.New(termStart),
		TermEndTime: timestamppb.New(termStart.AddDate(1, 0, 0)), Quantity: 10,
		BillingPlan: subscriptionsv1.BillingPlan_BILLING_PLAN_MONTHLY, AmountDue: eur(3600), TermAmount: eur(43200)}}
	cancelled := ev("e-cancel", 2)
	cancelled.Payload = &subscriptionsv1.SubscriptionEvent_Cancelled{Cancelled: &subscriptionsv1.CancelledPayload{
		Refund: eur(-2500), Quantity: 3, Reason: "bought by mistake"}}
	penalty := ev("e-penalty", 3)
	penalty.Payload = &subscriptionsv1.SubscriptionEvent_Penalty{Penalty: &subscriptionsv1.PenaltyPayload{
		Amount: eur(750), RemainingTermValue: eur(3000), RateBasisPoints: 2500, Reason: "SU-15: Web-Direct to Open mid-term"}}
	seats := ev("e-seats", 4)
	seats.Payload = &subscriptionsv1.SubscriptionEvent_QuantityChanged{QuantityChanged: &subscriptionsv1.QuantityChangedPayload{
		OldQuantity: 10, NewQuantity: 7, PriceDelta: eur(-900), OrderId: "order-9"}}
	react := ev("e-react", 5)
	react.Payload = &subscriptionsv1.SubscriptionEvent_Reactivated{Reactivated: &subscriptionsv1.ReactivatedPayload{
		TermStartTime: timestamppb.New(termStart), TermEndTime: timestamppb.New(termStart.AddDate(3, 0, 0)), AmountDue: eur(100)}}
	reminder := ev("e-remind", 6)
	reminder.Payload = &subscriptionsv1.SubscriptionEvent_RenewalReminder{RenewalReminder: &subscriptionsv1.RenewalReminderPayload{DaysBeforeExpiry: 7}}
	noTime := ev("e-notime", 7)
	noTime.EventTime = nil
	noTime.Payload = &subscriptionsv1.SubscriptionEvent_Penalty{Penalty: &subscriptionsv1.PenaltyPayload{}}

	f := &eventsFake{resp: &subscriptionsv1.ListEventsResponse{LastSequence: 7,
		Events: []*subscriptionsv1.SubscriptionEvent{renewed, cancelled, penalty, seats, react, reminder, noTime}}}
	page, err := dialEvents(t, f).EventsAfter(context.Background(), 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	base := func(id string) ledger.SubscriptionEvent {
		return ledger.SubscriptionEvent{EventID: id, PartnerID: "partner-1", CustomerID: "customer-1", SubscriptionID: "sub-1", Time: evTime}
	}
	m := func(minor int64) ledger.Money { return ledger.Money{Minor: minor, Currency: "EUR"} }
	want := []ledger.SubscriptionEvent{base("e-renew"), base("e-cancel"), base("e-penalty"), base("e-seats"), base("e-react"),
		base("e-remind"), base("e-notime")}
	want[0].Type, want[0].Amount, want[0].Quantity, want[0].Plan, want[0].Term = ledger.EventRenewed, m(3600), 10, ledger.PlanMonthly, ledger.TermP1Y
	want[0].PeriodStart, want[0].PeriodEnd = termStart, termStart.AddDate(0, 1, 0) // the first monthly period (BI-2)
	want[0].TermAmount = m(43200)                                                  // the whole term: every installment
	want[1].Type, want[1].Amount, want[1].Quantity, want[1].Reason = ledger.EventCancelled, m(-2500), 3, "bought by mistake"
	want[2].Type, want[2].Amount, want[2].Reason = ledger.EventPenalty, m(750), "SU-15: Web-Direct to Open mid-term"
	want[3].Type, want[3].Amount, want[3].Quantity, want[3].OrderID = ledger.EventQuantityChanged, m(-900), 3, "order-9"
	want[4].Type, want[4].Amount, want[4].Term = ledger.EventReactivated, m(100), ledger.TermP3Y
	want[4].PeriodStart, want[4].PeriodEnd = termStart, termStart.AddDate(3, 0, 0)
	want[6].Type, want[6].Time = ledger.EventPenalty, time.Time{}
	if len(page.Events) != len(want) {
		t.Fatalf("got %d events, want %d", len(page.Events), len(want))
	}
	for i := range want {
		if page.Events[i] != want[i] {
			t.Errorf("event %d\n got %+v\nwant %+v", i, page.Events[i], want[i])
		}
	}
	if page.Last != 7 || page.More {
		t.Errorf("page last %d more %v; want 7, false", page.Last, page.More)
	}
}

// A refusal or an outage comes back as the service's error kind, so the feed retries later.
func TestEventsAfter_Errors(t *testing.T) {
	f := &eventsFake{err: status.Error(codes.Unavailable, "down")}
	if _, err := dialEvents(t, f).EventsAfter(context.Background(), 3, 10); errs.KindOf(err) != errs.Unavailable {
		t.Errorf("err %v; want UNAVAILABLE", err)
	}
	f = &eventsFake{resp: &subscriptionsv1.ListEventsResponse{LastSequence: 2}}
	if _, err := dialEvents(t, f).EventsAfter(context.Background(), 3, 10); err == nil {
		t.Error("a cursor going backwards was accepted")
	}
}
