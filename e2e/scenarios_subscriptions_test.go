package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
)

// Scenarios of issue 7 that need no orders service: subscriptions are provisioned the way the
// order saga (or the key redemption saga, for Open) does it, with ProvisioningService and a
// service token acting for the partner's Admin agent. Each test has its own partner(s) and
// customer(s); dates are taken relative to the stack's shared fake clock.

// Catalog data of the seed SKUs these scenarios provision (services/catalog/seed/catalog.yaml,
// market DE). unit_price is the price of one seat for the whole term.
var (
	// Microsoft 365 Business Standard, an online service (CA-1), P1Y billed annually: 140.25 EUR.
	skuM365 = &subscriptionsv1.ProvisionSubscriptionRequest{
		SkuId: "CFQ7TTC0LDPB:0001", ProductId: "CFQ7TTC0LDPB", DisplayName: "Microsoft 365 Business Standard",
		ProductKind: subscriptionsv1.ProductKind_PRODUCT_KIND_ONLINE_SERVICE, Channel: subscriptionsv1.Channel_CHANNEL_CSP,
		MaxQuantity: 300, BillingPlan: subscriptionsv1.BillingPlan_BILLING_PLAN_ANNUAL, TermDuration: "P1Y",
		UnitPrice:          &commonv1.Money{AmountMinor: 14025, CurrencyCode: "EUR"},
		CancellationPolicy: subscriptionsv1.CancellationPolicy_CANCELLATION_POLICY_PRORATED_REFUND_WINDOW, CancellationWindowDays: 7,
		AutoRenew: true,
	}
	// Red Hat Enterprise Linux 1-4 vCPU, a software plan: never cancellable (CA-10), P1Y annual.
	skuRedHat = &subscriptionsv1.ProvisionSubscriptionRequest{
		SkuId: "DZH318Z0BXWC:0001", ProductId: "DZH318Z0BXWC", DisplayName: "Red Hat Enterprise Linux - 1-4 vCPU VM",
		ProductKind: subscriptionsv1.ProductKind_PRODUCT_KIND_SOFTWARE_PLAN, Channel: subscriptionsv1.Channel_CHANNEL_CSP,
		MaxQuantity: 1000, BillingPlan: subscriptionsv1.BillingPlan_BILLING_PLAN_ANNUAL, TermDuration: "P1Y",
		UnitPrice:          &commonv1.Money{AmountMinor: 31697, CurrencyCode: "EUR"},
		CancellationPolicy: subscriptionsv1.CancellationPolicy_CANCELLATION_POLICY_NEVER, CancellationWindowDays: 0,
		AutoRenew: false,
	}
	// Windows Server 2022 Datacenter, a software subscription: cancellable in the first 7 days of
	// a term (SU-10), P1Y annual.
	skuWinServerSub = &subscriptionsv1.ProvisionSubscriptionRequest{
		SkuId: "DG7GMGF0D7FV:0001", ProductId: "DG7GMGF0D7FV", DisplayName: "Windows Server 2022 Datacenter - 16 Core License Pack",
		ProductKind: subscriptionsv1.ProductKind_PRODUCT_KIND_SOFTWARE_SUBSCRIPTION, Channel: subscriptionsv1.Channel_CHANNEL_CSP,
		MaxQuantity: 1000, BillingPlan: subscriptionsv1.BillingPlan_BILLING_PLAN_ANNUAL, TermDuration: "P1Y",
		UnitPrice:          &commonv1.Money{AmountMinor: 213180, CurrencyCode: "EUR"},
		CancellationPolicy: subscriptionsv1.CancellationPolicy_CANCELLATION_POLICY_PRORATED_REFUND_WINDOW, CancellationWindowDays: 7,
		AutoRenew: true,
	}
)

// provisionSKU provisions quantity seats of the SKU template for the tenant's customer as the
// saga would (ProvisionSubscription, service token for the Admin agent); channel overrides the
// template's when set (CHANNEL_OPEN: a redeemed key card).
func (tn lifecycleTenant) provisionSKU(t *testing.T, ctx context.Context, sku *subscriptionsv1.ProvisionSubscriptionRequest,
	quantity int32, channel subscriptionsv1.Channel) *subscriptionsv1.Subscription {
	t.Helper()
	req := proto.Clone(sku).(*subscriptionsv1.ProvisionSubscriptionRequest)
	req.RequestId, req.OrderId, req.OrderLineId = uuid.NewString(), uuid.NewString(), uuid.NewString()
	req.CustomerId, req.PartnerId, req.Quantity = tn.customerID, tn.partnerID, quantity
	if channel != subscriptionsv1.Channel_CHANNEL_UNSPECIFIED {
		req.Channel = channel
	}
	resp, err := subscriptionsv1.NewProvisioningServiceClient(stack.Conn("subscriptions")).ProvisionSubscription(
		withToken(ctx, tn.sagaToken(t, ctx)), req)
	if err != nil {
		t.Fatalf("ProvisionSubscription %s: %v", req.GetSkuId(), err)
	}
	if s := resp.GetSubscription(); !resp.GetCreated() || s.GetState() != stActive || s.GetQuantity() != quantity {
		t.Fatalf("ProvisionSubscription %s: created %v, %v with %d seats; want a new ACTIVE subscription with %d",
			req.GetSkuId(), resp.GetCreated(), s.GetState(), s.GetQuantity(), quantity)
	}
	return resp.GetSubscription()
}

// wantRefusal fails unless err has the gRPC code and ErrorInfo reason.
func wantRefusal(t *testing.T, what string, err error, code codes.Code, reason string) {
	t.Helper()
	if status.Code(err) != code || reasonOf(err) != reason {
		t.Errorf("%s: %v; want %v / %s", what, err, code, reason)
	}
}

// TestE2E_CoTermination_SU6: seats added mid-term to an Open subscription share one end date,
// averaged between the remaining term and the quantities (SU-6): 10 seats with 100 days left
// plus 10 new one-year seats end 233 days from today (232.5 rounded half up). The preview shows
// exactly what the change then does, the subscription carries the new end date and lifecycle,
// and QUANTITY_CHANGED reaches the partner's feed. A CSP subscription of the same customer
// keeps its end date and is charged the added seats prorated to it (SU-7).
func TestE2E_CoTermination_SU6(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tn := newLifecycleTenant(t, ctx)
	subs := subscriptionsv1.NewSubscriptionServiceClient(stack.Conn("subscriptions"))
	agent := withToken(ctx, tn.agentToken)

	open := tn.provisionSKU(t, ctx, skuM365, 10, subscriptionsv1.Channel_CHANNEL_OPEN)
	csp := tn.provisionSKU(t, ctx, skuM365, 10, subscriptionsv1.Channel_CHANNEL_CSP)
	end := open.GetTermEndTime().AsTime()
	if !csp.GetTermEndTime().AsTime().Equal(end) {
		t.Fatalf("two subscriptions provisioned together end on %v and %v", end, csp.GetTermEndTime().AsTime())
	}
	ids := map[string]string{open.GetSubscriptionId(): "open", csp.GetSubscriptionId(): "csp"}
	w := watchEvents(t, agent, tn.customerID)
	want := []string{"open CREATED", "csp CREATED"}
	w.waitFor(t, ids, want)

	// Mid-term: 100 days left.
	today := stack.AdvanceTo(ctx, t, end.Add(-100*day))
	termDays := int64(addYear(today).Sub(today) / day)
	num := 10*100 + 10*termDays
	wantEnd := today.Add(time.Duration((2*num+20)/(2*20)) * day) // half up, as SU-6 rounds
	if termDays == 365 && !wantEnd.Equal(today.Add(233*day)) {
		t.Fatalf("test arithmetic: %v; want today + 233 days", wantEnd)
	}

	preview, err := subs.PreviewQuantityChange(agent, &subscriptionsv1.PreviewQuantityChangeRequest{
		SubscriptionId: open.GetSubscriptionId(), Quantity: 20})
	if err != nil {
		t.Fatalf("PreviewQuantityChange: %v", err)
	}
	p := preview.GetChange()
	if p.GetOldQuantity() != 10 || p.GetNewQuantity() != 20 || !p.GetCoTerminated() ||
		!p.GetOldTermEndTime().AsTime().Equal(end) || !p.GetNewTermEndTime().AsTime().Equal(wantEnd) ||
		p.GetPriceDelta().GetAmountMinor() != 0 {
		t.Fatalf("preview of 10 → 20 seats with 100 days left: %v; want co-terminated, end %v → %v (today + %d days), no charge (Open, BI-1)",
			p, end, wantEnd, int64(wantEnd.Sub(today)/day))
	}
	if got := getSub(t, subs, agent, open.GetSubscriptionId()); got.GetQuantity() != 10 || !got.GetTermEndTime().AsTime().Equal(end) {
		t.Fatalf("after the preview: %d seats ending %v; want nothing changed", got.GetQuantity(), got.GetTermEndTime().AsTime())
	}

	changed, err := subs.ChangeQuantity(agent, &subscriptionsv1.ChangeQuantityRequest{RequestId: uuid.NewString(),
		SubscriptionId: open.GetSubscriptionId(), Quantity: 20, Etag: open.GetEtag()})
	if err != nil {
		t.Fatalf("ChangeQuantity: %v", err)
	}
	if c := changed.GetChange(); !proto.Equal(c, p) {
		t.Errorf("ChangeQuantity did %v; its preview said %v", c, p)
	}
	s := getSub(t, subs, agent, open.GetSubscriptionId())
	if s.GetQuantity() != 20 || !s.GetTermEndTime().AsTime().Equal(wantEnd) || len(s.GetSeatLots()) != 2 {
		t.Fatalf("after the change: %d seats in %d lots ending %v; want 20 in 2 ending %v (SU-6)",
			s.GetQuantity(), len(s.GetSeatLots()), s.GetTermEndTime().AsTime(), wantEnd)
	}
	if l := s.GetLifecycle(); !l.GetRenewTime().AsTime().Equal(wantEnd) && !l.GetExpireTime().AsTime().Equal(wantEnd) {
		t.Errorf("lifecycle after co-termination %v; want it to follow the new end %v", l, wantEnd)
	}
	for _, r := range s.GetLifecycle().GetReminders() {
		if !r.GetDueTime().AsTime().Equal(wantEnd.Add(-time.Duration(r.GetDaysBeforeExpiry()) * day)) {
			t.Errorf("reminder %d days due %v; want it before the new end %v (SU-3)", r.GetDaysBeforeExpiry(), r.GetDueTime().AsTime(), wantEnd)
		}
	}

	// CSP: no co-termination; the added seats are charged prorated to the unchanged end date.
	cc, err := subs.ChangeQuantity(agent, &subscriptionsv1.ChangeQuantityRequest{RequestId: uuid.NewString(),
		SubscriptionId: csp.GetSubscriptionId(), Quantity: 20})
	if err != nil {
		t.Fatalf("ChangeQuantity (CSP): %v", err)
	}
	full := int64(10) * skuM365.GetUnitPrice().GetAmountMinor()
	if c := cc.GetChange(); c.GetCoTerminated() || !c.GetNewTermEndTime().AsTime().Equal(end) ||
		c.GetPriceDelta().GetCurrencyCode() != "EUR" || c.GetPriceDelta().GetAmountMinor() <= 0 || c.GetPriceDelta().GetAmountMinor() >= full {
		t.Errorf("CSP 10 → 20 seats with 100 days left: %v; want the end date kept (%v) and a charge between 0 and %d EUR cents", c, end, full)
	}

	want = append(want, "open QUANTITY_CHANGED", "csp QUANTITY_CHANGED")
	for _, e := range w.waitFor(t, ids, want) {
		if e.GetEventType() == subscriptionsv1.SubscriptionEventType_SUBSCRIPTION_EVENT_TYPE_QUANTITY_CHANGED &&
			e.GetSubscriptionId() == open.GetSubscriptionId() && !e.GetEventTime().AsTime().Equal(today) {
			t.Errorf("QUANTITY_CHANGED at %v; want the clock's %v", e.GetEventTime().AsTime(), today)
		}
	}
}

// TestE2E_RedHatPlanNotCancellable_CA10: a Red Hat software plan is never cancellable (CA-10),
// not even on the day it was bought: the subscription says so (policy NEVER, no window), the
// preview refuses with NOT_CANCELLABLE, and CancelSubscription fails FAILED_PRECONDITION /
// NOT_CANCELLABLE and leaves it ACTIVE. A software subscription bought the same day is
// cancellable (SU-10), so the refusal is the product's, not the caller's or the day's.
func TestE2E_RedHatPlanNotCancellable_CA10(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tn := newLifecycleTenant(t, ctx)
	subs := subscriptionsv1.NewSubscriptionServiceClient(stack.Conn("subscriptions"))
	agent := withToken(ctx, tn.agentToken)
	rhel := tn.provisionSKU(t, ctx, skuRedHat, 2, 0)
	win := tn.provisionSKU(t, ctx, skuWinServerSub, 1, 0)

	if w := rhel.GetCancellation(); w.GetPolicy() != subscriptionsv1.CancellationPolicy_CANCELLATION_POLICY_NEVER ||
		w.GetWindowEndTime() != nil || !w.GetWindowPassed() || w.GetWindowDays() != 0 || w.GetRefundIfCancelledNow().GetAmountMinor() != 0 {
		t.Errorf("Red Hat plan's cancellation window %v; want policy NEVER, no window end, passed, no refund (CA-10)", w)
	}
	pv, err := subs.PreviewCancellation(agent, &subscriptionsv1.PreviewCancellationRequest{SubscriptionId: rhel.GetSubscriptionId()})
	if err != nil || pv.GetCancellable() || pv.GetRefusalReason() != commonv1.ErrorReason_ERROR_REASON_NOT_CANCELLABLE {
		t.Errorf("PreviewCancellation of the Red Hat plan: %v, %v; want not cancellable, NOT_CANCELLABLE", pv, err)
	}
	_, err = subs.CancelSubscription(agent, &subscriptionsv1.CancelSubscriptionRequest{RequestId: uuid.NewString(),
		SubscriptionId: rhel.GetSubscriptionId(), Reason: "bought by mistake"})
	wantRefusal(t, "CancelSubscription of a Red Hat plan on its first day", err, codes.FailedPrecondition, "NOT_CANCELLABLE")
	if s := getSub(t, subs, agent, rhel.GetSubscriptionId()); s.GetState() != stActive {
		t.Errorf("Red Hat plan after the refused cancellation: %v; want ACTIVE", s.GetState())
	}

	pv, err = subs.PreviewCancellation(agent, &subscriptionsv1.PreviewCancellationRequest{SubscriptionId: win.GetSubscriptionId()})
	if err != nil || !pv.GetCancellable() || pv.GetWindow().GetWindowPassed() {
		t.Errorf("PreviewCancellation of a software subscription on its first day: %v, %v; want cancellable (SU-10)", pv, err)
	}
}

// TestE2E_BoughtElsewhereReadOnly_SU8: subscriptions the customer bought elsewhere are visible
// to its partner, read-only (SU-8). Two ways:
//   - via another partner: partner A provisions a subscription for its customer; partner B
//     becomes the customer's reseller too (multi-partner, ID-4). B sees A's subscription with
//     read_only OTHER_PARTNER and may change nothing of it (NOT_MANAGED_BY_CALLER);
//   - directly (Web-Direct): no partnerhub API creates such a subscription (ProvisioningService
//     provisions CSP and Open only, for a partner), so the test writes the row the subscriptions
//     service would hold for it into its database. Both partners see it read-only,
//     BOUGHT_DIRECTLY, and every change is refused.
func TestE2E_BoughtElsewhereReadOnly_SU8(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a := newLifecycleTenant(t, ctx) // partner A and its customer C
	b := newLifecycleTenant(t, ctx) // partner B (with a customer of its own, unused here)
	subs := subscriptionsv1.NewSubscriptionServiceClient(stack.Conn("subscriptions"))
	agentA, agentB := withToken(ctx, a.agentToken), withToken(ctx, b.agentToken)
	ofA := a.provisionSKU(t, ctx, skuM365, 5, 0)

	// (No look before B is C's reseller: subscriptions caches identity's "no relationship" answer
	// for its cache_ttl, and this test is not about ID-8.)
	becomeReseller(t, ctx, b, a.customerAdminToken)

	direct := insertDirectSubscription(t, ctx, a.customerID, 12)

	for _, tc := range []struct {
		who    string
		caller context.Context
		id     string
		reason subscriptionsv1.ReadOnlyReason
		qty    int32
	}{
		{"B on A's subscription", agentB, ofA.GetSubscriptionId(), subscriptionsv1.ReadOnlyReason_READ_ONLY_REASON_OTHER_PARTNER, 5},
		{"A on the Web-Direct subscription", agentA, direct, subscriptionsv1.ReadOnlyReason_READ_ONLY_REASON_BOUGHT_DIRECTLY, 12},
		{"B on the Web-Direct subscription", agentB, direct, subscriptionsv1.ReadOnlyReason_READ_ONLY_REASON_BOUGHT_DIRECTLY, 12},
	} {
		s := getSub(t, subs, tc.caller, tc.id)
		if !s.GetReadOnly() || s.GetReadOnlyReason() != tc.reason || s.GetQuantity() != tc.qty {
			t.Errorf("%s: read_only %v (%v), %d seats; want read-only %v, %d seats (SU-8)", tc.who, s.GetReadOnly(), s.GetReadOnlyReason(), s.GetQuantity(), tc.reason, tc.qty)
		}
		list, err := subs.ListSubscriptions(tc.caller, &subscriptionsv1.ListSubscriptionsRequest{CustomerId: a.customerID, PageSize: 100})
		if err != nil || !slices.ContainsFunc(list.GetSubscriptions(), func(x *subscriptionsv1.Subscription) bool {
			return x.GetSubscriptionId() == tc.id && x.GetReadOnly()
		}) {
			t.Errorf("%s: ListSubscriptions of the customer (%v) does not list it read-only (SU-8)", tc.who, err)
		}
		refusals := map[string]error{}
		_, refusals["PreviewQuantityChange"] = subs.PreviewQuantityChange(tc.caller, &subscriptionsv1.PreviewQuantityChangeRequest{SubscriptionId: tc.id, Quantity: tc.qty + 1})
		_, refusals["ChangeQuantity"] = subs.ChangeQuantity(tc.caller, &subscriptionsv1.ChangeQuantityRequest{RequestId: uuid.NewString(), SubscriptionId: tc.id, Quantity: tc.qty + 1})
		_, refusals["SetAutoRenew"] = subs.SetAutoRenew(tc.caller, &subscriptionsv1.SetAutoRenewRequest{RequestId: uuid.NewString(), SubscriptionId: tc.id, AutoRenew: false})
		_, refusals["SuspendSubscription"] = subs.SuspendSubscription(tc.caller, &subscriptionsv1.SuspendSubscriptionRequest{RequestId: uuid.NewString(), SubscriptionId: tc.id})
		_, refusals["CancelSubscription"] = subs.CancelSubscription(tc.caller, &subscriptionsv1.CancelSubscriptionRequest{RequestId: uuid.NewString(), SubscriptionId: tc.id})
		for rpc, err := range refusals {
			wantRefusal(t, tc.who+": "+rpc, err, codes.PermissionDenied, "NOT_MANAGED_BY_CALLER")
		}
	}
	// Nothing changed: A still manages its own subscription, which B could not touch.
	if s := getSub(t, subs, agentA, ofA.GetSubscriptionId()); s.GetReadOnly() || s.GetQuantity() != 5 || s.GetState() != stActive || !s.GetAutoRenew() {
		t.Errorf("A's subscription afterwards: read_only %v, %d seats, %v, autorenew %v; want A's to manage, unchanged", s.GetReadOnly(), s.GetQuantity(), s.GetState(), s.GetAutoRenew())
	}
	if s := getSub(t, subs, agentA, direct); s.GetQuantity() != 12 || s.GetState() != stActive || !s.GetAutoRenew() {
		t.Errorf("the Web-Direct subscription afterwards: %d seats, %v, autorenew %v; want unchanged", s.GetQuantity(), s.GetState(), s.GetAutoRenew())
	}
}

// becomeReseller makes tn's partner a reseller of another customer too (ID-4): the partner's
// Admin agent invites, that customer's Global admin accepts (the invitation names no customer:
// the accepting admin's tenant is the one).
func becomeReseller(t *testing.T, ctx context.Context, tn lifecycleTenant, customerAdminToken string) {
	t.Helper()
	rels := identityv1.NewRelationshipServiceClient(stack.Conn("identity"))
	inv, err := rels.CreateRelationshipInvitation(withToken(ctx, tn.agentToken), &identityv1.CreateRelationshipInvitationRequest{
		RequestId: uuid.NewString(), Message: "We would like to resell to you as well"})
	if err != nil {
		t.Fatalf("CreateRelationshipInvitation: %v", err)
	}
	if _, err := rels.AcceptRelationshipInvitation(withToken(ctx, customerAdminToken), &identityv1.AcceptRelationshipInvitationRequest{
		RequestId: uuid.NewString(), Code: inv.GetInvitation().GetCode()}); err != nil {
		t.Fatalf("AcceptRelationshipInvitation: %v", err)
	}
}

// insertDirectSubscription writes into the subscriptions database the row of a Microsoft 365
// Business Standard subscription the customer bought online itself (Web-Direct, no partner of
// record, autorenew on), started today on the stack's clock, and returns its ID. The lifecycle
// engine leaves it alone (next_due NULL): the tests only read it and try to change it.
func insertDirectSubscription(t *testing.T, ctx context.Context, customerID string, quantity int32) string {
	t.Helper()
	now := stack.Now(ctx, t)
	start := now.Truncate(day)
	end := addYear(start)
	id, lot := uuid.NewString(), uuid.NewString()
	ts := func(x time.Time) string { return "'" + x.UTC().Format("2006-01-02 15:04:05.999999") + "'" }
	q := fmt.Sprintf(`INSERT INTO subscriptions (id, customer_id, partner_id, sku_id, product_id, display_name, kind, state,
  channel, quantity, max_quantity, lots, billing_plan, term, term_start, term_end, auto_renew, unit_price_minor, currency_code,
  cancellation_policy, window_days, order_id, purchase_time, state_time, reminders_sent, pending_transfer_id, version, next_due,
  created_at, updated_at)
VALUES ('%[1]s', '%[2]s', '', 'CFQ7TTC0LDPB:0001', 'CFQ7TTC0LDPB', 'Microsoft 365 Business Standard', 'ONLINE_SERVICE', 'ACTIVE',
  'WEB_DIRECT', %[3]d, 300, '%[4]s,%[3]d,%[5]d,,14025,EUR', 'ANNUAL', 'P1Y', %[6]s, %[7]s, TRUE, 14025, 'EUR',
  'PRORATED_REFUND_WINDOW', 7, '', %[8]s, %[8]s, '', '', 1, NULL, %[8]s, %[8]s)`,
		id, customerID, quantity, lot, now.UnixMicro(), ts(start), ts(end), ts(now))
	if out, err := stack.SQL(ctx, "subscriptions", q); err != nil {
		t.Fatalf("insert a Web-Direct subscription: %v\n%s", err, out)
	}
	return id
}
