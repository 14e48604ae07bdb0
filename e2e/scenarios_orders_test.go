package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	delegatedadminv1 "github.com/partnerhub/partnerhub/gen/partnerhub/delegatedadmin/v1"
	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
	ordersv1 "github.com/partnerhub/partnerhub/gen/partnerhub/orders/v1"
	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
)

// The orders scenarios of issue 7 (e, g, h, i, j', m and the ledger part of n), through the real
// orders container: OrderService places orders whose saga calls identity, catalog,
// subscriptions and keys, and LedgerService shows what was billed. Each test has its own partner
// and customer(s); dates are relative to the stack's shared fake clock. Helpers:
// scenarios_orders_helpers_test.go.

// TestE2E_FirstOrderAfterInvitation_ID4 (scenario e): a partner may order for a customer only
// once the customer's Global admin has accepted its reseller invitation (ID-4). Before: PlaceOrder
// is refused with FAILED_PRECONDITION / RELATIONSHIP_REQUIRED and stores nothing (ListOrders
// empty), and ValidateOrder shows the problem. After the acceptance the same order completes.
func TestE2E_FirstOrderAfterInvitation_ID4(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tn := newLifecycleTenant(t, ctx)
	// A customer of another partner (the demo partner): tn's partner has no relationship with it.
	customerID, customerAdmin := createCustomerAs(t, ctx, demoToken(t), "DE", "Trey Research GmbH")
	waitOrdersReady(t, ctx, tn) // with tn's own customer, before it is replaced
	tn.customerID, tn.customerAdminToken = customerID, customerAdmin
	agent := withToken(ctx, tn.agentToken)
	lines := []*ordersv1.OrderLineInput{lineM365Annual(5)}

	review, err := ordersAPI().ValidateOrder(agent, &ordersv1.ValidateOrderRequest{CustomerId: customerID, Lines: lines})
	if err != nil {
		t.Fatalf("ValidateOrder before the acceptance: %v", err)
	}
	if review.GetValid() || !slices.Contains(problemReasons(review), "RELATIONSHIP_REQUIRED") {
		t.Errorf("ValidateOrder before the acceptance: valid %v, problems %v; want RELATIONSHIP_REQUIRED (ID-4)", review.GetValid(), problemReasons(review))
	}
	_, err = ordersAPI().PlaceOrder(agent, &ordersv1.PlaceOrderRequest{RequestId: uuid.NewString(), CustomerId: customerID, Lines: lines})
	wantRefusal(t, "PlaceOrder before the acceptance", err, codes.FailedPrecondition, "RELATIONSHIP_REQUIRED")
	if got := listOrders(t, ctx, tn.agentToken, ""); len(got) != 0 {
		t.Fatalf("ListOrders after the refused PlaceOrder: %d orders; want none stored", len(got))
	}

	becomeReseller(t, ctx, tn, customerAdmin)

	// The orders service may still hold identity's denial for the cache_ttl identity gave it
	// (pkg/tenancy); a refused PlaceOrder stores nothing, so it is retried with a new request ID.
	var placed *ordersv1.Order
	deadline := time.Now().Add(45 * time.Second)
	for placed == nil {
		resp, err := ordersAPI().PlaceOrder(agent, &ordersv1.PlaceOrderRequest{RequestId: uuid.NewString(), CustomerId: customerID, Lines: lines})
		switch {
		case err == nil:
			placed = resp.GetOrder()
		case reasonOf(err) != "RELATIONSHIP_REQUIRED" || time.Now().After(deadline):
			t.Fatalf("PlaceOrder after the acceptance: %v; want the order placed (ID-4)", err)
		default:
			time.Sleep(500 * time.Millisecond)
		}
	}
	o := watchSettled(t, ctx, tn.agentToken, placed.GetOrderId(), orderWaitTimeout)
	if o.GetState() != ordersv1.OrderState_ORDER_STATE_COMPLETED || o.GetLines()[0].GetProvisioning().GetSubscriptionId() == "" {
		t.Fatalf("first order after the acceptance: %s; want COMPLETED with a subscription", describeOrder(o))
	}
	if got := listOrders(t, ctx, tn.agentToken, ""); len(got) != 1 || got[0].GetOrderId() != o.GetOrderId() {
		t.Fatalf("ListOrders after the first order: %d orders; want exactly %s", len(got), o.GetOrderId())
	}
}

// TestE2E_SoftwareSubscriptionKeysThenCancelInWindow_SU10_KD4_KD6 (scenario g): a software
// subscription (SQL Server, P1Y billed annually) is bought; its key and downloads are in the
// customer's software list (CA-7), the Admin agent picks a download by version, language and
// file type, reveals the key and creates a link that resolves (KD-3, KD-4), and the activity log
// shows the three actions (KD-6). Two days later the order is cancelled within the 7-day window
// (SU-10): CANCELLED, the subscription cancelled, the keys revoked (KD-7), a prorated credit
// (negative, smaller than the charge) that the ledger books once from the subscriptions feed and
// that the next month's invoice preview shows (BI-3).
func TestE2E_SoftwareSubscriptionKeysThenCancelInWindow_SU10_KD4_KD6(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tn := newLifecycleTenant(t, ctx)
	agent := withToken(ctx, tn.agentToken)
	start := stack.Now(ctx, t)

	o := placeCompleted(t, ctx, tn, lineSQLServerSub(2))
	line := o.GetLines()[0]
	prov := line.GetProvisioning()
	if prov.GetSubscriptionId() == "" || prov.GetEntitlementId() == "" || prov.GetChargeLedgerEntryId() == "" ||
		line.GetState() != ordersv1.OrderLineState_ORDER_LINE_STATE_PROVISIONED {
		t.Fatalf("software subscription line: %s; want PROVISIONED with subscription, entitlement and charge", describeOrder(o))
	}
	charge := line.GetBillingPeriodAmount()
	if charge.GetAmountMinor() != 2*line.GetUnitBillingPeriodPrice().GetAmountMinor() || charge.GetAmountMinor() <= 0 || charge.GetCurrencyCode() != "EUR" ||
		line.GetCancellationPolicy().GetKind() != catalogv1.CancellationPolicyKind_CANCELLATION_POLICY_KIND_PRORATED_REFUND_WINDOW ||
		line.GetCancellationWindowEndTime() == nil || line.GetCancellationWindowPassed() {
		t.Fatalf("line %v: charge %v, policy %v, window end %v passed %v; want 2 × the unit price in EUR, a prorated refund window still open",
			line.GetSkuId(), charge, line.GetCancellationPolicy(), line.GetCancellationWindowEndTime(), line.GetCancellationWindowPassed())
	}

	// Keys and downloads (CA-7, KD-3, KD-4).
	ents := keysv1.NewEntitlementServiceClient(stack.Conn("keys"))
	sw := listSoftware(t, ctx, tn, "")
	if len(sw) != 1 || sw[0].GetEntitlementId() != prov.GetEntitlementId() || sw[0].GetOrderId() != o.GetOrderId() ||
		sw[0].GetSubscriptionId() != prov.GetSubscriptionId() || sw[0].GetState() != keysv1.EntitlementState_ENTITLEMENT_STATE_ACTIVE ||
		len(sw[0].GetKeys()) == 0 || len(sw[0].GetDownloadVariants()) == 0 {
		t.Fatalf("software list %v; want the order's active entitlement with a MAK key and downloads", sw)
	}
	opts, err := ents.GetDownloadOptions(agent, &keysv1.GetDownloadOptionsRequest{EntitlementId: prov.GetEntitlementId(),
		Version: "2022", Language: "de-DE", FileType: "ISO"})
	if err != nil {
		t.Fatalf("GetDownloadOptions: %v", err)
	}
	if len(opts.GetVariants()) != 1 || len(opts.GetKeys()) == 0 {
		t.Fatalf("download options for 2022 / de-DE / ISO: variants %v, keys %v; want exactly one variant and the masked key", opts.GetVariants(), opts.GetKeys())
	}
	variant := opts.GetVariants()[0]
	rev, err := ents.RevealKey(agent, &keysv1.RevealKeyRequest{RequestId: uuid.NewString(), KeyId: opts.GetKeys()[0].GetKeyId()})
	if err != nil || len(rev.GetKey()) != 29 {
		t.Fatalf("RevealKey: %d characters, %v; want a 29-character MAK key", len(rev.GetKey()), err)
	}
	link, err := ents.CreateDownloadLink(agent, &keysv1.CreateDownloadLinkRequest{RequestId: uuid.NewString(),
		EntitlementId: prov.GetEntitlementId(), VariantId: variant.GetVariantId(), Ttl: durationpb.New(7 * day)}) // still valid after the cancellation below
	if err != nil {
		t.Fatalf("CreateDownloadLink: %v", err)
	}
	if _, err := ents.ResolveDownloadLink(ctx, &keysv1.ResolveDownloadLinkRequest{RequestId: uuid.NewString(),
		Link: link.GetLink().GetUrl(), ClientAddress: "198.51.100.7", UserAgent: "e2e"}); err != nil {
		t.Fatalf("ResolveDownloadLink: %v", err)
	}
	now := stack.Now(ctx, t)
	act, err := keysv1.NewActivityLogServiceClient(stack.Conn("keys")).ListActivity(withToken(ctx, tn.adminToken),
		&keysv1.ListActivityRequest{StartTime: timestamppb.New(start.Add(-time.Minute)), EndTime: timestamppb.New(now.Add(time.Minute)),
			CustomerId: tn.customerID})
	if err != nil {
		t.Fatalf("ListActivity: %v", err)
	}
	var actions []keysv1.ActivityAction
	for _, r := range act.GetRecords() {
		actions = append(actions, r.GetAction())
	}
	if want := []keysv1.ActivityAction{keysv1.ActivityAction_ACTIVITY_ACTION_KEY_REVEALED,
		keysv1.ActivityAction_ACTIVITY_ACTION_DOWNLOAD_LINK_CREATED, keysv1.ActivityAction_ACTIVITY_ACTION_DOWNLOAD_STARTED}; !slices.Equal(actions, want) {
		t.Errorf("activity log %v; want %v (KD-6)", actions, want)
	}

	// Two days into the 7-day window: cancelled with a prorated refund (SU-10).
	cancelAt := stack.Advance(ctx, t, 2*day)
	resp, err := ordersAPI().CancelOrder(agent, &ordersv1.CancelOrderRequest{RequestId: uuid.NewString(), OrderId: o.GetOrderId(), Reason: "bought the wrong edition"})
	if err != nil {
		t.Fatalf("CancelOrder two days after the purchase: %v", err)
	}
	if !resp.GetCancellationPending() || resp.GetExpectedCompleteTime() == nil {
		t.Errorf("CancelOrder: pending %v, expected completion %v; want a pending cancellation with its expected time (OR-4)",
			resp.GetCancellationPending(), resp.GetExpectedCompleteTime())
	}
	if c := resp.GetCreditTotal().GetAmountMinor(); c >= 0 || -c >= charge.GetAmountMinor() {
		t.Errorf("CancelOrder credit_total %v; want negative and less than the charge %v (prorated, SU-10)", resp.GetCreditTotal(), charge)
	}
	o = watchSettled(t, ctx, tn.agentToken, o.GetOrderId(), orderWaitTimeout)
	lc := o.GetLines()[0].GetCancellation()
	credit := lc.GetCredit().GetAmountMinor()
	if o.GetState() != ordersv1.OrderState_ORDER_STATE_CANCELLED || !lc.GetSubscriptionCancelled() || !lc.GetEntitlementsRevoked() ||
		!lc.GetCreditRecorded() || credit >= 0 || -credit >= charge.GetAmountMinor() || lc.GetCredit().GetCurrencyCode() != "EUR" {
		t.Fatalf("after the cancellation: %s; want CANCELLED, applied everywhere, a prorated credit", describeOrder(o))
	}
	if credit != resp.GetCreditTotal().GetAmountMinor() {
		t.Errorf("credit applied %d; CancelOrder announced %d", credit, resp.GetCreditTotal().GetAmountMinor())
	}
	sub := getSub(t, subscriptionsv1.NewSubscriptionServiceClient(stack.Conn("subscriptions")), agent, prov.GetSubscriptionId())
	if sub.GetState() != subscriptionsv1.SubscriptionState_SUBSCRIPTION_STATE_CANCELLED {
		t.Errorf("subscription %s after the cancellation: %v; want CANCELLED", sub.GetSubscriptionId(), sub.GetState())
	}
	if sw := listSoftware(t, ctx, tn, o.GetOrderId()); len(sw) != 1 || sw[0].GetState() != keysv1.EntitlementState_ENTITLEMENT_STATE_REVOKED || len(sw[0].GetKeys()) != 0 {
		t.Errorf("software after the cancellation: %v; want the entitlement REVOKED, listed without key (KD-7)", sw)
	}
	if _, err := ents.ResolveDownloadLink(ctx, &keysv1.ResolveDownloadLinkRequest{RequestId: uuid.NewString(),
		Link: link.GetLink().GetUrl(), ClientAddress: "198.51.100.7", UserAgent: "e2e"}); reasonOf(err) != "ENTITLEMENT_REVOKED" {
		t.Errorf("ResolveDownloadLink after the cancellation: %v; want ENTITLEMENT_REVOKED (KD-7)", err)
	}

	// The ledger books the refund of the subscriptions feed's CANCELLED event, once.
	credits := waitLedger(t, ctx, tn.adminToken, &ordersv1.ListLedgerEntriesRequest{CustomerId: tn.customerID,
		Kinds: []ordersv1.LedgerEntryKind{ordersv1.LedgerEntryKind_LEDGER_ENTRY_KIND_CREDIT}},
		"the prorated credit of the cancelled subscription", 30*time.Second, func(es []*ordersv1.LedgerEntry) bool { return len(es) > 0 })
	if len(credits) != 1 || credits[0].GetAmount().GetAmountMinor() != credit ||
		credits[0].GetSource().GetSubscriptionId() != prov.GetSubscriptionId() {
		t.Fatalf("credits: %s; want exactly one of %d for subscription %s", describeEntries(credits), credit, prov.GetSubscriptionId())
	}
	all := ledgerEntries(t, ctx, tn.adminToken, &ordersv1.ListLedgerEntriesRequest{CustomerId: tn.customerID})
	charges := entriesWhere(all, func(e *ordersv1.LedgerEntry) bool {
		return e.GetKind() == ordersv1.LedgerEntryKind_LEDGER_ENTRY_KIND_CHARGE
	})
	if len(charges) != 1 || charges[0].GetAmount().GetAmountMinor() != charge.GetAmountMinor() {
		t.Errorf("charges: %s; want the line's one charge of %d", describeEntries(charges), charge.GetAmountMinor())
	}
	next := nextInvoiceMonth(cancelAt)
	if m := credits[0].GetInvoiceMonth(); m != next {
		t.Fatalf("the prorated credit of a software subscription cancelled on %s is booked on invoice %s; want the next "+
			"monthly invoice %s (BI-3)", cancelAt.Format(time.DateOnly), m, next)
	}
	inv := customerInvoice(t, ctx, tn.adminToken, next, tn.customerID)
	if inv.GetAmounts().GetCredits().GetAmountMinor() != credit || inv.GetCurrencyCode() != "EUR" {
		t.Errorf("invoice preview %s of the customer: %v; want credits %d EUR (BI-3)", next, inv, credit)
	}
}

// TestE2E_PerpetualCancelledWithin30Days_OR3 (scenario h): perpetual software (Windows Server
// 2022 Standard) bought and cancelled ten days later by order ID (OR-3): the keys and links are
// revoked, the item stays in the customer's software list without a key (KD-7), and a 100 %
// credit is on the next monthly invoice (BI-3). A second purchase cannot be cancelled once its
// 30 days have passed (the window is [purchase, purchase + 30 days)): CANCELLATION_WINDOW_CLOSED.
func TestE2E_PerpetualCancelledWithin30Days_OR3(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tn := newLifecycleTenant(t, ctx)
	agent := withToken(ctx, tn.agentToken)

	o := placeCompleted(t, ctx, tn, lineWinPerpetual(1))
	line := o.GetLines()[0]
	price := line.GetTermAmount()
	full := price.GetAmountMinor() // 999.52 EUR in the seed catalog
	if full <= 0 || line.GetBillingPeriodAmount().GetAmountMinor() != full || price.GetCurrencyCode() != "EUR" ||
		line.GetCancellationPolicy().GetKind() != catalogv1.CancellationPolicyKind_CANCELLATION_POLICY_KIND_FULL_CREDIT_WINDOW ||
		!line.GetCancellationWindowEndTime().AsTime().Equal(o.GetCreateTime().AsTime().Add(30*day)) {
		t.Fatalf("perpetual line: price %v, policy %v, window end %v (order placed %v); want one EUR charge of the whole price, full credit until 30 days after the purchase",
			price, line.GetCancellationPolicy(), line.GetCancellationWindowEndTime().AsTime(), o.GetCreateTime().AsTime())
	}
	sw := listSoftware(t, ctx, tn, o.GetOrderId())
	if len(sw) != 1 || len(sw[0].GetKeys()) == 0 || sw[0].GetState() != keysv1.EntitlementState_ENTITLEMENT_STATE_ACTIVE {
		t.Fatalf("software after the purchase: %v; want one active entitlement with its MAK key", sw)
	}

	cancelAt := stack.Advance(ctx, t, 10*day)
	resp, err := ordersAPI().CancelOrder(agent, &ordersv1.CancelOrderRequest{RequestId: uuid.NewString(), OrderId: o.GetOrderId(), Reason: "not needed"})
	if err != nil {
		t.Fatalf("CancelOrder ten days after the purchase: %v", err)
	}
	if resp.GetCreditTotal().GetAmountMinor() != -full || !resp.GetCancellationPending() {
		t.Errorf("CancelOrder: credit %v, pending %v; want -%d (100 %%, OR-3) pending", resp.GetCreditTotal(), resp.GetCancellationPending(), full)
	}
	o = watchSettled(t, ctx, tn.agentToken, o.GetOrderId(), orderWaitTimeout)
	if o.GetState() != ordersv1.OrderState_ORDER_STATE_CANCELLED || o.GetLines()[0].GetCancellation().GetCredit().GetAmountMinor() != -full {
		t.Fatalf("after the cancellation: %s; want CANCELLED with a 100 %% credit", describeOrder(o))
	}
	sw = listSoftware(t, ctx, tn, o.GetOrderId())
	if len(sw) != 1 || sw[0].GetState() != keysv1.EntitlementState_ENTITLEMENT_STATE_REVOKED || len(sw[0].GetKeys()) != 0 || sw[0].GetRevokeTime() == nil {
		t.Fatalf("software after the cancellation: %v; want the item still listed, REVOKED, without key (OR-3, KD-7)", sw)
	}

	es := ledgerEntries(t, ctx, tn.adminToken, &ordersv1.ListLedgerEntriesRequest{OrderId: o.GetOrderId()})
	charges := entriesWhere(es, func(e *ordersv1.LedgerEntry) bool {
		return e.GetKind() == ordersv1.LedgerEntryKind_LEDGER_ENTRY_KIND_CHARGE
	})
	credits := entriesWhere(es, func(e *ordersv1.LedgerEntry) bool {
		return e.GetKind() == ordersv1.LedgerEntryKind_LEDGER_ENTRY_KIND_CREDIT
	})
	next := nextInvoiceMonth(cancelAt)
	if len(es) != 2 || len(charges) != 1 || charges[0].GetAmount().GetAmountMinor() != full || len(credits) != 1 ||
		credits[0].GetAmount().GetAmountMinor() != -full || credits[0].GetInvoiceMonth() != next ||
		credits[0].GetSource().GetKind() != ordersv1.LedgerSourceKind_LEDGER_SOURCE_KIND_ORDER_CANCELLATION {
		t.Fatalf("ledger of the order: %s; want one charge of %d and one ORDER_CANCELLATION credit of -%[2]d on %s", describeEntries(es), full, next)
	}
	if inv := customerInvoice(t, ctx, tn.adminToken, next, tn.customerID); inv.GetAmounts().GetCredits().GetAmountMinor() != -full {
		t.Errorf("invoice preview %s: %v; want credits -%d EUR (100 %%, BI-3)", next, inv, full)
	}

	// A second purchase, cancelled at the end of its 30 days: too late (OR-3).
	o2 := placeCompleted(t, ctx, tn, lineWinPerpetual(1))
	end := o2.GetLines()[0].GetCancellationWindowEndTime().AsTime()
	stack.AdvanceTo(ctx, t, end)
	_, err = ordersAPI().CancelOrder(agent, &ordersv1.CancelOrderRequest{RequestId: uuid.NewString(), OrderId: o2.GetOrderId()})
	wantRefusal(t, "CancelOrder 30 days after the purchase", err, codes.FailedPrecondition, "CANCELLATION_WINDOW_CLOSED")
	if md := metadataOf(err); md["line_id"] != o2.GetLines()[0].GetLineId() || md["window_end"] == "" {
		t.Errorf("refusal metadata %v; want line_id %s and window_end", md, o2.GetLines()[0].GetLineId())
	}
	o2 = getOrder(t, ctx, tn.agentToken, o2.GetOrderId())
	if o2.GetState() != ordersv1.OrderState_ORDER_STATE_COMPLETED || !o2.GetLines()[0].GetCancellationWindowPassed() ||
		o2.GetLines()[0].GetCancellation() != nil {
		t.Errorf("second order after the refusal: %s, window passed %v; want COMPLETED, unchanged, window passed",
			describeOrder(o2), o2.GetLines()[0].GetCancellationWindowPassed())
	}
	if sw := listSoftware(t, ctx, tn, o2.GetOrderId()); len(sw) != 1 || sw[0].GetState() != keysv1.EntitlementState_ENTITLEMENT_STATE_ACTIVE {
		t.Errorf("software of the second order: %v; want its entitlement still active", sw)
	}
}

// TestE2E_ReservationRefusedInExcludedMarket_CA2 (scenario i): Azure Reservations are not sold in
// the markets of seed 004 (China among them). For a customer in China ValidateOrder shows the
// line unavailable with the problem MARKET_NOT_AVAILABLE, and PlaceOrder refuses it with
// FAILED_PRECONDITION / MARKET_NOT_AVAILABLE and stores nothing. The same line for a German
// customer of the partner is valid.
func TestE2E_ReservationRefusedInExcludedMarket_CA2(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tn := newLifecycleTenant(t, ctx)
	agent := withToken(ctx, tn.agentToken)
	waitOrdersReady(t, ctx, tn)
	cn, _ := createCustomerAs(t, ctx, tn.agentToken, "CN", "Contoso Shanghai Ltd")
	lines := []*ordersv1.OrderLineInput{lineReservedVM(1)}

	review, err := ordersAPI().ValidateOrder(agent, &ordersv1.ValidateOrderRequest{CustomerId: cn, Lines: lines})
	if err != nil {
		t.Fatalf("ValidateOrder for the CN customer: %v", err)
	}
	if review.GetValid() || review.GetCountryCode() != "CN" || len(review.GetLines()) != 1 || review.GetLines()[0].GetAvailable() {
		t.Fatalf("review for the CN customer: valid %v, market %s, lines %v; want the line unavailable in CN", review.GetValid(), review.GetCountryCode(), review.GetLines())
	}
	probs := review.GetLines()[0].GetProblems()
	if len(probs) != 1 || probs[0].GetReason() != commonv1.ErrorReason_ERROR_REASON_MARKET_NOT_AVAILABLE || probs[0].GetField() != "lines[0].sku_id" {
		t.Errorf("line problems %v; want MARKET_NOT_AVAILABLE at lines[0].sku_id (CA-2)", probs)
	}

	_, err = ordersAPI().PlaceOrder(agent, &ordersv1.PlaceOrderRequest{RequestId: uuid.NewString(), CustomerId: cn, Lines: lines})
	wantRefusal(t, "PlaceOrder for the CN customer", err, codes.FailedPrecondition, "MARKET_NOT_AVAILABLE")
	if got := listOrders(t, ctx, tn.agentToken, cn); len(got) != 0 {
		t.Errorf("ListOrders of the CN customer: %d orders; want none stored", len(got))
	}
	if subs := listSubscriptions(t, ctx, lifecycleTenant{agentToken: tn.agentToken, customerID: cn}); len(subs) != 0 {
		t.Errorf("subscriptions of the CN customer: %d; want none", len(subs))
	}

	de, err := ordersAPI().ValidateOrder(agent, &ordersv1.ValidateOrderRequest{CustomerId: tn.customerID, Lines: lines})
	if err != nil || !de.GetValid() || !de.GetLines()[0].GetAvailable() {
		t.Errorf("review of the same line for the DE customer: %v, %v; want valid", de, err)
	}
}

// TestE2E_RedHatPlanOrderNotCancellable_CA10 (scenario j'): a Red Hat software plan bought by
// order can never be cancelled (CA-10): CancelOrder is refused with FAILED_PRECONDITION /
// NOT_CANCELLABLE naming the line, and nothing changes: the order stays COMPLETED, the
// subscription ACTIVE, no credit in the ledger.
func TestE2E_RedHatPlanOrderNotCancellable_CA10(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tn := newLifecycleTenant(t, ctx)
	agent := withToken(ctx, tn.agentToken)

	o := placeCompleted(t, ctx, tn, lineRedHatPlan(1))
	line := o.GetLines()[0]
	if line.GetCancellationPolicy().GetKind() != catalogv1.CancellationPolicyKind_CANCELLATION_POLICY_KIND_NEVER || line.GetCancellationWindowEndTime() != nil {
		t.Errorf("Red Hat line: policy %v, window end %v; want NEVER without a window (CA-10)", line.GetCancellationPolicy(), line.GetCancellationWindowEndTime())
	}
	_, err := ordersAPI().CancelOrder(agent, &ordersv1.CancelOrderRequest{RequestId: uuid.NewString(), OrderId: o.GetOrderId(), Reason: "try"})
	wantRefusal(t, "CancelOrder of a Red Hat plan", err, codes.FailedPrecondition, "NOT_CANCELLABLE")
	if md := metadataOf(err); md["line_id"] != line.GetLineId() {
		t.Errorf("refusal metadata %v; want line_id %s", md, line.GetLineId())
	}
	// Naming the line explicitly is refused the same way.
	_, err = ordersAPI().CancelOrder(agent, &ordersv1.CancelOrderRequest{RequestId: uuid.NewString(), OrderId: o.GetOrderId(), LineIds: []string{line.GetLineId()}})
	wantRefusal(t, "CancelOrder of the Red Hat line by ID", err, codes.FailedPrecondition, "NOT_CANCELLABLE")

	after := getOrder(t, ctx, tn.agentToken, o.GetOrderId())
	if after.GetState() != ordersv1.OrderState_ORDER_STATE_COMPLETED || after.GetCancellationPending() || after.GetLines()[0].GetCancellation() != nil {
		t.Errorf("order after the refusals: %s; want COMPLETED, unchanged", describeOrder(after))
	}
	sub := getSub(t, subscriptionsv1.NewSubscriptionServiceClient(stack.Conn("subscriptions")), agent, line.GetProvisioning().GetSubscriptionId())
	if sub.GetState() != stActive {
		t.Errorf("subscription after the refusals: %v; want ACTIVE", sub.GetState())
	}
	es := ledgerEntries(t, ctx, tn.adminToken, &ordersv1.ListLedgerEntriesRequest{OrderId: o.GetOrderId()})
	if len(es) != 1 || es[0].GetKind() != ordersv1.LedgerEntryKind_LEDGER_ENTRY_KIND_CHARGE || es[0].GetAmount().GetAmountMinor() != line.GetBillingPeriodAmount().GetAmountMinor() {
		t.Errorf("ledger of the order: %s; want only its charge of %d", describeEntries(es), line.GetBillingPeriodAmount().GetAmountMinor())
	}
}

// TestE2E_SupportRequestNeedsDelegatedAdmin_DA4 (scenario m): a partner opens a support (refund)
// request on its customer's behalf only with an active delegated-admin relationship granting
// SERVICE_SUPPORT_ADMINISTRATOR (DA-4, OR-6). Without it: PERMISSION_DENIED /
// DELEGATED_ADMIN_REQUIRED, and nothing is opened; the customer's Global admin may open one
// itself. Once the customer approved the partner's delegated-admin offer, the partner's request
// is opened (OPEN, by the partner) and listed.
func TestE2E_SupportRequestNeedsDelegatedAdmin_DA4(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tn := newPartnerTenant(t, ctx, identityv1.PartnerProgram_PARTNER_PROGRAM_CSP_DIRECT, identityv1.PartnerProgram_PARTNER_PROGRAM_DELEGATED_ADMIN)
	agent := withToken(ctx, tn.agentToken)
	o := placeCompleted(t, ctx, tn, lineM365Annual(3))
	support := ordersv1.NewSupportRequestServiceClient(stack.Conn("orders"))
	request := func() *ordersv1.CreateSupportRequestRequest {
		return &ordersv1.CreateSupportRequestRequest{RequestId: uuid.NewString(),
			Customer:     &ordersv1.CreateSupportRequestRequest_CustomerId{CustomerId: tn.customerID},
			Subject:      &ordersv1.CreateSupportRequestRequest_OrderId{OrderId: o.GetOrderId()},
			RefundReason: ordersv1.RefundReason_REFUND_REASON_CANCELLATION_WINDOW_MISSED, RefundReasonDetails: "the customer asked on day 9",
			AmountRequested: &commonv1.Money{AmountMinor: 3 * 14025, CurrencyCode: "EUR"},
			Contact:         &ordersv1.Contact{Name: "Jane Doe", Email: "jane@adatum.example", Phone: "+4930123456"},
			Title:           "Refund of an annual Microsoft 365 purchase"}
	}

	_, err := support.CreateSupportRequest(agent, request())
	wantRefusal(t, "CreateSupportRequest without delegated admin", err, codes.PermissionDenied, "DELEGATED_ADMIN_REQUIRED")
	list, err := support.ListSupportRequests(agent, &ordersv1.ListSupportRequestsRequest{CustomerId: tn.customerID})
	if err != nil || len(list.GetSupportRequests()) != 0 {
		t.Fatalf("ListSupportRequests after the refusal: %v, %v; want none", list.GetSupportRequests(), err)
	}
	// Without delegated admin only the customer may (DA-4).
	own, err := support.CreateSupportRequest(withToken(ctx, tn.customerAdminToken), request())
	if err != nil || own.GetSupportRequest().GetOpenedByOrgKind() != commonv1.OrgKind_ORG_KIND_CUSTOMER || own.GetSupportRequest().GetPartnerId() != "" {
		t.Fatalf("CreateSupportRequest by the customer's Global admin: %v, %v; want opened by the customer", own, err)
	}

	// Delegated admin with the support role, approved by the customer.
	da := delegatedadminv1.NewDelegatedAdminServiceClient(stack.Conn("delegatedadmin"))
	rel, err := da.CreateRelationship(agent, &delegatedadminv1.CreateRelationshipRequest{RequestId: uuid.NewString(), CustomerId: tn.customerID,
		DurationDays: 90, Message: "Litware will handle your support requests",
		Roles: []delegatedadminv1.AdminRole{delegatedadminv1.AdminRole_ADMIN_ROLE_SERVICE_SUPPORT_ADMINISTRATOR}})
	if err != nil {
		t.Fatalf("CreateRelationship: %v", err)
	}
	if _, err := da.ApproveRelationship(withToken(ctx, tn.customerAdminToken), &delegatedadminv1.ApproveRelationshipRequest{
		RequestId: uuid.NewString(), RelationshipId: rel.GetRelationship().GetRelationshipId()}); err != nil {
		t.Fatalf("ApproveRelationship: %v", err)
	}
	// orders may hold delegatedadmin's denial for the cache_ttl it was given (DA-6): retry until
	// it allows, each attempt with a new request ID (a refused call opens nothing).
	var opened *ordersv1.SupportRequest
	deadline := time.Now().Add(45 * time.Second)
	for opened == nil {
		resp, err := support.CreateSupportRequest(agent, request())
		switch {
		case err == nil:
			opened = resp.GetSupportRequest()
		case reasonOf(err) != "DELEGATED_ADMIN_REQUIRED" || time.Now().After(deadline):
			t.Fatalf("CreateSupportRequest with delegated admin: %v; want it opened (DA-4)", err)
		default:
			time.Sleep(500 * time.Millisecond)
		}
	}
	if opened.GetState() != ordersv1.SupportRequestState_SUPPORT_REQUEST_STATE_OPEN || opened.GetPartnerId() != tn.partnerID ||
		opened.GetOpenedByOrgKind() != commonv1.OrgKind_ORG_KIND_PARTNER || opened.GetCustomerId() != tn.customerID ||
		opened.GetOrderId() != o.GetOrderId() || opened.GetAmountRequested().GetAmountMinor() != 3*14025 {
		t.Errorf("opened support request %v; want OPEN, by partner %s, about order %s", opened, tn.partnerID, o.GetOrderId())
	}
	list, err = support.ListSupportRequests(agent, &ordersv1.ListSupportRequestsRequest{CustomerId: tn.customerID})
	if err != nil || len(list.GetSupportRequests()) != 1 || list.GetSupportRequests()[0].GetSupportRequestId() != opened.GetSupportRequestId() {
		t.Errorf("ListSupportRequests as the partner: %v, %v; want exactly the one it opened", list.GetSupportRequests(), err)
	}
}

// TestE2E_AutorenewalChargedOnce_OR7 (the ledger part of scenario n): an online service bought
// for a month, billed monthly, with autorenew. At each term end subscriptions renews it (SU-9)
// and the ledger books the RENEWED event of its feed as one charge of the new month (BI-2). Two
// renewals give exactly two renewal charges; then orders is killed while a third renewal
// happens, and started again: its feed resumes from its stored cursor and books the third,
// without booking the first two again (OR-7). Each renewal is charged exactly once.
func TestE2E_AutorenewalChargedOnce_OR7(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	tn := newLifecycleTenant(t, ctx)
	stack.Restore(t, "orders")
	agent := withToken(ctx, tn.agentToken)
	subs := subscriptionsv1.NewSubscriptionServiceClient(stack.Conn("subscriptions"))

	o := placeCompleted(t, ctx, tn, lineM365Monthly(3, true))
	line := o.GetLines()[0]
	subID := line.GetProvisioning().GetSubscriptionId()
	perMonth := line.GetBillingPeriodAmount().GetAmountMinor()
	if perMonth <= 0 || perMonth != 3*line.GetUnitBillingPeriodPrice().GetAmountMinor() || !line.GetAutorenew() {
		t.Fatalf("monthly line: %d per month, autorenew %v; want 3 × the monthly unit price with autorenew", perMonth, line.GetAutorenew())
	}
	s := getSub(t, subs, agent, subID)
	if !s.GetAutoRenew() || s.GetTermDuration() != "P1M" {
		t.Fatalf("subscription %s: autorenew %v, term %s; want a monthly term that autorenews", subID, s.GetAutoRenew(), s.GetTermDuration())
	}
	bySub := &ordersv1.ListLedgerEntriesRequest{SubscriptionId: subID}
	renewals := func(es []*ordersv1.LedgerEntry) []*ordersv1.LedgerEntry {
		return entriesWhere(es, func(e *ordersv1.LedgerEntry) bool {
			return e.GetKind() == ordersv1.LedgerEntryKind_LEDGER_ENTRY_KIND_CHARGE &&
				e.GetSource().GetKind() == ordersv1.LedgerSourceKind_LEDGER_SOURCE_KIND_SUBSCRIPTION_EVENT
		})
	}
	renew := func() {
		t.Helper()
		end := getSub(t, subs, agent, subID).GetTermEndTime().AsTime()
		stack.AdvanceTo(ctx, t, end)
		waitSub(t, subs, agent, subID, "renewed at its term end (SU-9)", func(s *subscriptionsv1.Subscription) bool {
			return s.GetTermStartTime().AsTime().Equal(end) && s.GetState() == stActive
		})
	}
	checkCharged := func(n int, es []*ordersv1.LedgerEntry) {
		t.Helper()
		r := renewals(es)
		events, periods := map[string]bool{}, map[time.Time]bool{}
		for _, e := range r {
			events[e.GetSource().GetEventId()] = true
			periods[e.GetServicePeriodStartTime().AsTime()] = true
			if e.GetAmount().GetAmountMinor() != perMonth {
				t.Errorf("renewal charge %d; want %d (3 seats × a month)", e.GetAmount().GetAmountMinor(), perMonth)
			}
		}
		if len(r) != n || len(events) != n || len(periods) != n {
			t.Fatalf("after %d renewals: %s; want exactly %d renewal charges, one per event and period (OR-7)", n, describeEntries(es), n)
		}
		first := entriesWhere(es, func(e *ordersv1.LedgerEntry) bool {
			return e.GetSource().GetKind() == ordersv1.LedgerSourceKind_LEDGER_SOURCE_KIND_ORDER_LINE
		})
		if len(first) != 1 || first[0].GetAmount().GetAmountMinor() != perMonth {
			t.Fatalf("order line charges: %s; want the first month charged once", describeEntries(first))
		}
	}
	wantRenewals := func(n int) {
		t.Helper()
		es := waitLedger(t, ctx, tn.adminToken, bySub, "renewal charges booked", 30*time.Second,
			func(es []*ordersv1.LedgerEntry) bool { return len(renewals(es)) >= n })
		checkCharged(n, es)
	}

	renew()
	wantRenewals(1)
	renew()
	wantRenewals(2)

	// orders dies; the subscription renews a third time meanwhile; orders comes back.
	if err := stack.Kill(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	renew()
	if err := stack.Start(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	wantRenewals(3)
}

// TestE2E_OrderLineChargeIsItsLedgerEntry_BI2: a completed order line names its first charge
// (provisioning.charge_ledger_entry_id), and that is the entry_id under which LedgerService lists
// the charge: one CHARGE of the line's billing-period amount, sourced from the order line.
func TestE2E_OrderLineChargeIsItsLedgerEntry_BI2(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tn := newLifecycleTenant(t, ctx)
	o := placeCompleted(t, ctx, tn, lineM365Annual(4))
	line := o.GetLines()[0]
	es := ledgerEntries(t, ctx, tn.adminToken, &ordersv1.ListLedgerEntriesRequest{OrderId: o.GetOrderId()})
	if len(es) != 1 || es[0].GetKind() != ordersv1.LedgerEntryKind_LEDGER_ENTRY_KIND_CHARGE || es[0].GetAmount().GetAmountMinor() != line.GetBillingPeriodAmount().GetAmountMinor() ||
		es[0].GetSource().GetKind() != ordersv1.LedgerSourceKind_LEDGER_SOURCE_KIND_ORDER_LINE || es[0].GetSource().GetLineId() != line.GetLineId() ||
		es[0].GetSource().GetSubscriptionId() != line.GetProvisioning().GetSubscriptionId() {
		t.Fatalf("ledger of the order: %s; want one ORDER_LINE charge of %d for line %s", describeEntries(es), line.GetBillingPeriodAmount().GetAmountMinor(), line.GetLineId())
	}
	if got, want := line.GetProvisioning().GetChargeLedgerEntryId(), es[0].GetEntryId(); got != want {
		t.Errorf("the order line's provisioning.charge_ledger_entry_id is %q; LedgerService lists its charge as entry_id %q", got, want)
	}
}
