package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
)

// Shorter names for the states and event types the lifecycle test speaks of.
const (
	stActive   = subscriptionsv1.SubscriptionState_SUBSCRIPTION_STATE_ACTIVE
	stExpired  = subscriptionsv1.SubscriptionState_SUBSCRIPTION_STATE_EXPIRED
	stDisabled = subscriptionsv1.SubscriptionState_SUBSCRIPTION_STATE_DISABLED
	stDeleted  = subscriptionsv1.SubscriptionState_SUBSCRIPTION_STATE_DELETED

	evCreated     = subscriptionsv1.SubscriptionEventType_SUBSCRIPTION_EVENT_TYPE_CREATED
	evReminder    = subscriptionsv1.SubscriptionEventType_SUBSCRIPTION_EVENT_TYPE_RENEWAL_REMINDER
	evExpired     = subscriptionsv1.SubscriptionEventType_SUBSCRIPTION_EVENT_TYPE_EXPIRED
	evDisabled    = subscriptionsv1.SubscriptionEventType_SUBSCRIPTION_EVENT_TYPE_DISABLED
	evDeleted     = subscriptionsv1.SubscriptionEventType_SUBSCRIPTION_EVENT_TYPE_DELETED
	evReactivated = subscriptionsv1.SubscriptionEventType_SUBSCRIPTION_EVENT_TYPE_REACTIVATED
)

// day is one calendar day in UTC (no daylight saving).
const day = 24 * time.Hour

// TestE2E_SubscriptionLifecycle_SU2_SU3 walks two subscriptions of a new partner's customer along
// the stack's fake clock (issue 5). Without autorenew each gets its renewal
// reminders 60, 30, 7 and 1 day before the end date (SU-3), expires at the end date, is disabled
// 30 days later and deleted 120 days after the end date (SU-2). The second one is reactivated
// while DISABLED (end + 45 days): a new term starts on the reactivation day and it is not deleted
// (SU-2 "until deletion the subscription can be reactivated"). The partner's WatchEvents stream
// gets every event once, in strictly increasing sequence, and ListEvents returns the same feed.
func TestE2E_SubscriptionLifecycle_SU2_SU3(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tn := newLifecycleTenant(t, ctx)
	subs := subscriptionsv1.NewSubscriptionServiceClient(stack.Conn("subscriptions"))
	agent := withToken(ctx, tn.agentToken)

	// Two subscriptions, provisioned as the order saga would: a SERVICE token acting for the
	// partner's Admin agent.
	first, second := tn.provision(t, ctx), tn.provision(t, ctx)
	end := first.GetTermEndTime().AsTime()
	start := first.GetTermStartTime().AsTime()
	if !second.GetTermEndTime().AsTime().Equal(end) {
		t.Fatalf("the two subscriptions end on %v and %v; want the same end date", end, second.GetTermEndTime().AsTime())
	}
	if !end.Equal(addYear(start)) || !start.Equal(start.Truncate(day)) {
		t.Fatalf("term %v – %v; want one year from a 00:00 UTC start (P1Y)", start, end)
	}
	ids := map[string]string{first.GetSubscription().GetSubscriptionId(): "first", second.GetSubscription().GetSubscriptionId(): "second"}
	firstID, secondID := first.GetSubscription().GetSubscriptionId(), second.GetSubscription().GetSubscriptionId()
	for id := range ids {
		s := getSub(t, subs, agent, id)
		checkSchedule(t, s, end)
		if s.GetState() != stActive || s.GetAutoRenew() || s.GetQuantity() != 5 || len(sentReminders(s)) != 0 {
			t.Fatalf("%s after provisioning: state %v, auto_renew %v, quantity %d, reminders sent %v; want ACTIVE, off, 5, none",
				ids[id], s.GetState(), s.GetAutoRenew(), s.GetQuantity(), sentReminders(s))
		}
	}

	// The partner watches its customer's events from the start of the feed.
	w := watchEvents(t, agent, tn.customerID)
	want := []string{"first CREATED", "second CREATED"}
	w.waitFor(t, ids, want)

	// Reminders: one step before the first, then on each due day (SU-3).
	stack.AdvanceTo(ctx, t, end.Add(-61*day))
	for id := range ids {
		if s := getSub(t, subs, agent, id); len(sentReminders(s)) != 0 {
			t.Fatalf("%s 61 days before the end: reminders sent %v; want none yet (SU-3)", ids[id], sentReminders(s))
		}
	}
	var sent []int32
	for _, d := range []int32{60, 30, 7, 1} {
		at := end.Add(-time.Duration(d) * day)
		stack.AdvanceTo(ctx, t, at)
		sent = append(sent, d)
		for id := range ids {
			waitSub(t, subs, agent, id, fmt.Sprintf("ACTIVE with reminders %v sent (SU-3)", sent), func(s *subscriptionsv1.Subscription) bool {
				return s.GetState() == stActive && slices.Equal(sentReminders(s), sent)
			})
			want = append(want, fmt.Sprintf("%s RENEWAL_REMINDER %d", ids[id], d))
		}
		for _, e := range w.waitFor(t, ids, want) {
			if e.GetEventType() == evReminder && e.GetRenewalReminder().GetDaysBeforeExpiry() == d {
				checkEngineEvent(t, e, tn, at, stActive)
				if r := e.GetRenewalReminder(); !r.GetTermEndTime().AsTime().Equal(end) || r.GetAutoRenew() || r.GetQuantity() != 5 {
					t.Errorf("reminder %d days: %v; want term end %v, auto_renew off, 5 seats", d, r, end)
				}
			}
		}
	}

	// The end date: EXPIRED; 30 days later: DISABLED (SU-2).
	stack.AdvanceTo(ctx, t, end)
	for id := range ids {
		waitState(t, subs, agent, id, stExpired)
		want = append(want, ids[id]+" EXPIRED")
	}
	for _, e := range w.waitFor(t, ids, want) {
		if e.GetEventType() == evExpired {
			checkEngineEvent(t, e, tn, end, stExpired)
			if p := e.GetExpired(); !p.GetTermEndTime().AsTime().Equal(end) || !p.GetDisableTime().AsTime().Equal(end.Add(30*day)) {
				t.Errorf("EXPIRED payload %v; want term end %v, disable time +30 days", p, end)
			}
		}
	}
	stack.AdvanceTo(ctx, t, end.Add(30*day))
	for id := range ids {
		waitState(t, subs, agent, id, stDisabled)
		want = append(want, ids[id]+" DISABLED")
	}
	for _, e := range w.waitFor(t, ids, want) {
		if e.GetEventType() == evDisabled {
			checkEngineEvent(t, e, tn, end.Add(30*day), stDisabled)
			if p := e.GetDisabled(); !p.GetDeleteTime().AsTime().Equal(end.Add(120 * day)) {
				t.Errorf("DISABLED payload %v; want delete time %v", p, end.Add(120*day))
			}
		}
	}

	// 45 days after the end, still DISABLED, the partner reactivates the second subscription: a
	// new term starts on the reactivation day, its first monthly charge due (SU-2, BI-2).
	reactivatedAt := end.Add(45 * day)
	stack.AdvanceTo(ctx, t, reactivatedAt)
	if s := getSub(t, subs, agent, secondID); s.GetState() != stDisabled {
		t.Fatalf("second at end + 45 days: %v; want DISABLED", s.GetState())
	}
	reactivate := &subscriptionsv1.ReactivateSubscriptionRequest{RequestId: uuid.NewString(), SubscriptionId: secondID}
	r, err := subs.ReactivateSubscription(agent, reactivate)
	if err != nil {
		t.Fatalf("ReactivateSubscription while DISABLED: %v (SU-2)", err)
	}
	newStart, newEnd := reactivatedAt, addYear(reactivatedAt)
	checkReactivated(t, r.GetSubscription(), newStart, newEnd)
	if due := r.GetAmountDue(); due.GetAmountMinor() != 5*12000/12 || due.GetCurrencyCode() != "EUR" {
		t.Errorf("reactivation amount due %v; want 5000 EUR (5 seats × 120.00 EUR, first of 12 monthly charges, BI-2)", due)
	}
	// A retry with the same request ID answers the same, without a second reactivation (OR-7).
	if again, err := subs.ReactivateSubscription(agent, reactivate); err != nil ||
		!again.GetSubscription().GetTermStartTime().AsTime().Equal(newStart) {
		t.Errorf("ReactivateSubscription retried with the same request_id: %v, %v; want the first answer (OR-7)", again, err)
	}
	want = append(want, "second REACTIVATED")
	for _, e := range w.waitFor(t, ids, want) {
		if e.GetEventType() == evReactivated {
			p := e.GetReactivated()
			if e.GetRequestId() != reactivate.GetRequestId() || e.GetState() != stActive || !e.GetEventTime().AsTime().Equal(reactivatedAt) ||
				p.GetFromState() != stDisabled || !p.GetTermStartTime().AsTime().Equal(newStart) || !p.GetTermEndTime().AsTime().Equal(newEnd) ||
				p.GetAmountDue().GetAmountMinor() != r.GetAmountDue().GetAmountMinor() {
				t.Errorf("REACTIVATED event %v; want request %s, ACTIVE at %v, from DISABLED, term %v – %v, amount due %v",
					e, reactivate.GetRequestId(), reactivatedAt, newStart, newEnd, r.GetAmountDue())
			}
		}
	}

	// 120 days after the end date the first subscription is deleted for good; the reactivated
	// one lives on in its new term (SU-2).
	stack.AdvanceTo(ctx, t, end.Add(120*day))
	waitState(t, subs, agent, firstID, stDeleted)
	want = append(want, "first DELETED")
	for _, e := range w.waitFor(t, ids, want) {
		if e.GetEventType() == evDeleted {
			checkEngineEvent(t, e, tn, end.Add(120*day), stDeleted)
			if !e.GetDeleted().GetTermEndTime().AsTime().Equal(end) {
				t.Errorf("DELETED payload %v; want term end %v", e.GetDeleted(), end)
			}
		}
	}
	// Deleted is final: no reactivation any more (SU-2 "unrecoverable").
	_, err = subs.ReactivateSubscription(agent, &subscriptionsv1.ReactivateSubscriptionRequest{RequestId: uuid.NewString(), SubscriptionId: firstID})
	if reasonOf(err) != "INVALID_STATE_TRANSITION" {
		t.Errorf("ReactivateSubscription of the DELETED subscription: %v; want INVALID_STATE_TRANSITION (SU-2)", err)
	}
	s := getSub(t, subs, agent, secondID)
	checkReactivated(t, s, newStart, newEnd)
	if got := sentReminders(s); len(got) != 0 {
		t.Errorf("second in its new term: reminders sent %v; want none yet (SU-3, per term)", got)
	}

	// Nothing more comes: let the engine sweep a few more times, then the stream must hold
	// exactly the expected events, each once, in strictly increasing sequence — and ListEvents
	// the very same feed.
	time.Sleep(time.Second) // five lifecycle intervals (200 ms, stack_test.go)
	watched := w.waitFor(t, ids, want)
	checkFeed(t, watched)
	listed := listEvents(t, agent, tn.customerID)
	if got, exp := eventIDs(listed), eventIDs(watched); !slices.Equal(got, exp) {
		t.Errorf("ListEvents returned %d events %v;\nWatchEvents had %d %v", len(got), keys(ids, listed), len(exp), keys(ids, watched))
	}
}

// lifecycleTenant is a new partner with an Admin agent and a customer it created (so an ACTIVE
// reseller relationship exists, ID-4).
type lifecycleTenant struct {
	partnerID, agentUserID, agentToken, customerID string
	adminToken                                     string // the partner's first admin: Global admin and Account admin
	customerAdminToken                             string // the customer's first admin: its Global admin
}

// newLifecycleTenant onboards a partner with the operator's service token, adds an Admin agent
// (the partner's first admin is a Global admin and Account admin, who may neither create
// customers nor change subscriptions) and lets the agent create a customer in Germany.
func newLifecycleTenant(t *testing.T, ctx context.Context) lifecycleTenant {
	t.Helper()
	return newPartnerTenant(t, ctx, identityv1.PartnerProgram_PARTNER_PROGRAM_CSP_DIRECT)
}

// provision creates one subscription the way the order saga does (OR-1): ProvisionSubscription
// with a service token on behalf of the Admin agent, autorenew off, a year billed monthly.
func (tn lifecycleTenant) provision(t *testing.T, ctx context.Context) *subscriptionsv1.ProvisionSubscriptionResponse {
	t.Helper()
	resp, err := subscriptionsv1.NewProvisioningServiceClient(stack.Conn("subscriptions")).ProvisionSubscription(
		withToken(ctx, tn.sagaToken(t, ctx)), &subscriptionsv1.ProvisionSubscriptionRequest{
			RequestId: uuid.NewString(), OrderId: uuid.NewString(), OrderLineId: uuid.NewString(),
			CustomerId: tn.customerID, PartnerId: tn.partnerID,
			SkuId: "CFQ7TTC0LDPB:0001", ProductId: "CFQ7TTC0LDPB", DisplayName: "Microsoft 365 Business Standard",
			ProductKind: subscriptionsv1.ProductKind_PRODUCT_KIND_ONLINE_SERVICE, Channel: subscriptionsv1.Channel_CHANNEL_CSP,
			Quantity: 5, MaxQuantity: 300, BillingPlan: subscriptionsv1.BillingPlan_BILLING_PLAN_MONTHLY, TermDuration: "P1Y",
			UnitPrice:              &commonv1.Money{AmountMinor: 12000, CurrencyCode: "EUR"},
			CancellationPolicy:     subscriptionsv1.CancellationPolicy_CANCELLATION_POLICY_PRORATED_REFUND_WINDOW,
			CancellationWindowDays: 7, AutoRenew: false,
		})
	if err != nil {
		t.Fatalf("ProvisionSubscription: %v", err)
	}
	if !resp.GetCreated() || resp.GetSubscription().GetState() != stActive {
		t.Fatalf("ProvisionSubscription: created %v, state %v; want a new ACTIVE subscription", resp.GetCreated(), resp.GetSubscription().GetState())
	}
	return resp
}

// addYear adds one calendar year to a 00:00 UTC date (the service clamps 29 February to the 28th).
func addYear(d time.Time) time.Time {
	y := time.Date(d.Year()+1, d.Month(), 1, 0, 0, 0, 0, time.UTC)
	return y.AddDate(0, 0, min(d.Day(), y.AddDate(0, 1, -1).Day())-1)
}

func getSub(t *testing.T, subs subscriptionsv1.SubscriptionServiceClient, caller context.Context, id string) *subscriptionsv1.Subscription {
	t.Helper()
	resp, err := subs.GetSubscription(caller, &subscriptionsv1.GetSubscriptionRequest{SubscriptionId: id})
	if err != nil {
		t.Fatalf("GetSubscription %s: %v", id, err)
	}
	return resp.GetSubscription()
}

// waitSub polls GetSubscription until ok holds: the lifecycle engine acts on a clock move at
// its next sweep.
func waitSub(t *testing.T, subs subscriptionsv1.SubscriptionServiceClient, caller context.Context, id, what string,
	ok func(*subscriptionsv1.Subscription) bool) *subscriptionsv1.Subscription {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := getSub(t, subs, caller, id)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscription %s: state %v, reminders sent %v after 10 s; want %s", id, s.GetState(), sentReminders(s), what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitState(t *testing.T, subs subscriptionsv1.SubscriptionServiceClient, caller context.Context, id string,
	want subscriptionsv1.SubscriptionState) *subscriptionsv1.Subscription {
	t.Helper()
	return waitSub(t, subs, caller, id, want.String()+" (SU-2)", func(s *subscriptionsv1.Subscription) bool { return s.GetState() == want })
}

// sentReminders lists the days-before of the current term's reminders marked sent, in due order.
func sentReminders(s *subscriptionsv1.Subscription) []int32 {
	var out []int32
	for _, r := range s.GetLifecycle().GetReminders() {
		if r.GetSent() {
			out = append(out, r.GetDaysBeforeExpiry())
		}
	}
	return out
}

// checkSchedule checks the lifecycle dates a subscription ending at end announces (SU-2, SU-3).
func checkSchedule(t *testing.T, s *subscriptionsv1.Subscription, end time.Time) {
	t.Helper()
	l := s.GetLifecycle()
	if !l.GetExpireTime().AsTime().Equal(end) || !l.GetDisableTime().AsTime().Equal(end.Add(30*day)) ||
		!l.GetDeleteTime().AsTime().Equal(end.Add(120*day)) || l.GetRenewTime() != nil {
		t.Errorf("schedule %v; want expire %v, disable +30 days, delete +120 days, no renewal (SU-2)", l, end)
	}
	var days []int32
	for _, r := range l.GetReminders() {
		days = append(days, r.GetDaysBeforeExpiry())
		if !r.GetDueTime().AsTime().Equal(end.Add(-time.Duration(r.GetDaysBeforeExpiry()) * day)) {
			t.Errorf("reminder %d days due %v; want that many days before %v (SU-3)", r.GetDaysBeforeExpiry(), r.GetDueTime().AsTime(), end)
		}
	}
	if !slices.Equal(days, []int32{60, 30, 7, 1}) {
		t.Errorf("reminders %v; want 60, 30, 7, 1 days before expiry (SU-3)", days)
	}
}

// checkReactivated checks an ACTIVE subscription in the term a reactivation started.
func checkReactivated(t *testing.T, s *subscriptionsv1.Subscription, start, end time.Time) {
	t.Helper()
	if s.GetState() != stActive || !s.GetTermStartTime().AsTime().Equal(start) || !s.GetTermEndTime().AsTime().Equal(end) {
		t.Fatalf("reactivated subscription: %v, term %v – %v; want ACTIVE, term %v – %v (SU-2)",
			s.GetState(), s.GetTermStartTime().AsTime(), s.GetTermEndTime().AsTime(), start, end)
	}
	checkSchedule(t, s, end)
}

// checkEngineEvent checks an event of the lifecycle engine: the tenant's, at the clock time it
// was due, with no request behind it.
func checkEngineEvent(t *testing.T, e *subscriptionsv1.SubscriptionEvent, tn lifecycleTenant, at time.Time, state subscriptionsv1.SubscriptionState) {
	t.Helper()
	if e.GetPartnerId() != tn.partnerID || e.GetCustomerId() != tn.customerID || !e.GetEventTime().AsTime().Equal(at) ||
		e.GetState() != state || e.GetRequestId() != "" {
		t.Errorf("%v event %v; want partner %s, customer %s, at %v, state %v, no request_id", e.GetEventType(), e, tn.partnerID, tn.customerID, at, state)
	}
}

// eventWatcher collects a WatchEvents stream in the background.
type eventWatcher struct {
	mu     sync.Mutex
	events []*subscriptionsv1.SubscriptionEvent
	err    error
}

// watchEvents opens WatchEvents for the customer from the start of the feed; the stream ends
// with the test.
func watchEvents(t *testing.T, caller context.Context, customerID string) *eventWatcher {
	t.Helper()
	sctx, cancel := context.WithCancel(caller)
	stream, err := subscriptionsv1.NewEventServiceClient(stack.Conn("subscriptions")).WatchEvents(sctx,
		&subscriptionsv1.WatchEventsRequest{AfterSequence: 0, CustomerId: customerID})
	if err != nil {
		cancel()
		t.Fatalf("WatchEvents: %v", err)
	}
	w := &eventWatcher{}
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for {
			resp, err := stream.Recv()
			w.mu.Lock()
			if err != nil {
				w.err = err
				w.mu.Unlock()
				return
			}
			w.events = append(w.events, resp.GetEvent())
			w.mu.Unlock()
		}
	}()
	return w
}

// waitFor waits until the stream has delivered exactly the events want names (in any order:
// one sweep handles both subscriptions in an order of its choosing) and returns them all.
func (w *eventWatcher) waitFor(t *testing.T, ids map[string]string, want []string) []*subscriptionsv1.SubscriptionEvent {
	t.Helper()
	exp := slices.Sorted(slices.Values(want))
	deadline := time.Now().Add(10 * time.Second)
	for {
		w.mu.Lock()
		evs, err := slices.Clone(w.events), w.err
		w.mu.Unlock()
		got := slices.Sorted(slices.Values(keys(ids, evs)))
		if slices.Equal(got, exp) {
			return evs
		}
		if len(got) > len(exp) || err != nil || time.Now().After(deadline) {
			t.Fatalf("WatchEvents delivered %v (stream error: %v);\nwant exactly %v (each once, SU-3)", keys(ids, evs), err, exp)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// keys names events for comparison: "<subscription label> <type>[ <days>]".
func keys(ids map[string]string, evs []*subscriptionsv1.SubscriptionEvent) []string {
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		k := ids[e.GetSubscriptionId()]
		if k == "" {
			k = e.GetSubscriptionId()
		}
		k += " " + e.GetEventType().String()[len("SUBSCRIPTION_EVENT_TYPE_"):]
		if e.GetEventType() == evReminder {
			k += fmt.Sprint(" ", e.GetRenewalReminder().GetDaysBeforeExpiry())
		}
		out = append(out, k)
	}
	return out
}

// checkFeed checks a feed without gaps in its order or repeats: strictly increasing sequences,
// distinct event IDs, each event's payload matching its type.
func checkFeed(t *testing.T, evs []*subscriptionsv1.SubscriptionEvent) {
	t.Helper()
	seen := map[string]bool{}
	for i, e := range evs {
		if i > 0 && e.GetSequence() <= evs[i-1].GetSequence() {
			t.Errorf("event %d has sequence %d after %d; want strictly increasing", i, e.GetSequence(), evs[i-1].GetSequence())
		}
		if seen[e.GetEventId()] {
			t.Errorf("event %s delivered twice", e.GetEventId())
		}
		seen[e.GetEventId()] = true
		payloadOK := map[subscriptionsv1.SubscriptionEventType]bool{
			evCreated: e.GetCreated() != nil, evReminder: e.GetRenewalReminder() != nil, evExpired: e.GetExpired() != nil,
			evDisabled: e.GetDisabled() != nil, evDeleted: e.GetDeleted() != nil, evReactivated: e.GetReactivated() != nil,
		}
		if ok, known := payloadOK[e.GetEventType()]; !known || !ok {
			t.Errorf("event %d: type %v with payload %T; want one of %v with its payload", i, e.GetEventType(), e.GetPayload(),
				slices.Collect(maps.Keys(payloadOK)))
		}
	}
}

// listEvents reads the customer's whole feed with ListEvents, page by page.
func listEvents(t *testing.T, caller context.Context, customerID string) []*subscriptionsv1.SubscriptionEvent {
	t.Helper()
	events := subscriptionsv1.NewEventServiceClient(stack.Conn("subscriptions"))
	req := &subscriptionsv1.ListEventsRequest{CustomerId: customerID, PageSize: 5}
	var out []*subscriptionsv1.SubscriptionEvent
	for range 100 {
		resp, err := events.ListEvents(caller, req)
		if err != nil {
			t.Fatalf("ListEvents: %v", err)
		}
		out = append(out, resp.GetEvents()...)
		if resp.GetNextPageToken() == "" {
			return out
		}
		req.PageToken = resp.GetNextPageToken()
	}
	t.Fatalf("ListEvents: more than 100 pages")
	return nil
}

func eventIDs(evs []*subscriptionsv1.SubscriptionEvent) []string {
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		out = append(out, fmt.Sprint(e.GetSequence(), " ", e.GetEventId()))
	}
	return out
}
