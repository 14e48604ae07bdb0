package e2e

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	ordersv1 "github.com/partnerhub/partnerhub/gen/partnerhub/orders/v1"
	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
)

// e2eTenantLimit is the subscriptions service's tenant maximum in the e2e stack
// (PARTNERHUB_SUBSCRIPTIONS_TENANT_LIMIT in stack_test.go; the service's default is 300): small,
// so that SU-13 is reached with a handful of subscriptions. Every other test stays well below it
// with its own customers.
const e2eTenantLimit = 20

// transferItems is one TransferItemSpec per subscription, same SKU.
func transferItems(ids []string) []*subscriptionsv1.TransferItemSpec {
	var out []*subscriptionsv1.TransferItemSpec
	for _, id := range ids {
		out = append(out, &subscriptionsv1.TransferItemSpec{SubscriptionId: id})
	}
	return out
}

func wantLimitMetadata(t *testing.T, what string, md map[string]string, limit, active, requested int) {
	t.Helper()
	want := map[string]string{"limit": strconv.Itoa(limit), "active": strconv.Itoa(active), "requested": strconv.Itoa(requested)}
	for k, v := range want {
		if md[k] != v {
			t.Errorf("%s: TENANT_SUBSCRIPTION_LIMIT metadata %v; want %v (SU-13)", what, md, want)
			return
		}
	}
}

// TestE2E_PartnerMoveByExpireAndRepurchase_SU12_SU13: customer C holds 11 CSP subscriptions
// (autorenew on) of partner A; partner B, in C's country and now also C's reseller (ID-4, ID-5),
// takes them over. A direct move would hold source and target side by side, 22 above the tenant
// maximum of 20: requested as DIRECT_MOVE it is refused FAILED_PRECONDITION /
// TENANT_SUBSCRIPTION_LIMIT (metadata limit 20, active 11, requested 11) and nothing is pending.
// Left to the service, the transfer is EXPIRE_AND_REPURCHASE (SU-13) with the figures and a
// repurchase deadline of the end date + 30 days. A accepts: its subscriptions get autorenew off
// and wait for their end date (SU-9, SU-12; A does not cancel, which would forfeit the refund).
// B cannot repurchase before they expired. At the end date they go EXPIRED; within the 30-day
// grace B provisions each again (ProvisionSubscription with transfer_id, as its order saga would):
// every item is MOVED, the transfer COMPLETED, the sources stay EXPIRED with their data (SU-12).
// The tenant now holds 11 active subscriptions, all B's; with 8 more it holds 19: an order of 2
// more is refused by the review and by PlaceOrder with TENANT_SUBSCRIPTION_LIMIT (limit 20,
// active 19, requested 2) and nothing is stored, while 1 more would fit.
func TestE2E_PartnerMoveByExpireAndRepurchase_SU12_SU13(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	a := newLifecycleTenant(t, ctx) // partner A and customer C
	b := newLifecycleTenant(t, ctx) // partner B (its own customer unused)
	waitOrdersReady(t, ctx, b)
	subs := subscriptionsv1.NewSubscriptionServiceClient(stack.Conn("subscriptions"))
	transfers := subscriptionsv1.NewTransferServiceClient(stack.Conn("subscriptions"))
	agentA, agentB := withToken(ctx, a.agentToken), withToken(ctx, b.agentToken)

	const n = 11
	var ids []string
	qty := map[string]int32{}
	for i := range n {
		s := a.provisionSKU(t, ctx, skuM365, int32(i+1), subscriptionsv1.Channel_CHANNEL_CSP)
		ids = append(ids, s.GetSubscriptionId())
		qty[s.GetSubscriptionId()] = s.GetQuantity()
	}
	end := getSub(t, subs, agentA, ids[0]).GetTermEndTime().AsTime()
	becomeReseller(t, ctx, b, a.customerAdminToken)
	bc := b // B acting for customer C
	bc.customerID, bc.customerAdminToken = a.customerID, a.customerAdminToken

	// A direct move would exceed the tenant maximum (SU-13).
	_, err := transfers.CreateTransfer(agentB, &subscriptionsv1.CreateTransferRequest{RequestId: uuid.NewString(),
		CustomerId: a.customerID, SourcePartnerId: a.partnerID, Items: transferItems(ids),
		Method: subscriptionsv1.TransferMethod_TRANSFER_METHOD_DIRECT_MOVE})
	wantRefusal(t, "CreateTransfer DIRECT_MOVE of 11 subscriptions with 11 active, maximum 20", err, codes.FailedPrecondition, "TENANT_SUBSCRIPTION_LIMIT")
	wantLimitMetadata(t, "CreateTransfer DIRECT_MOVE", metadataOf(err), e2eTenantLimit, n, n)
	for _, id := range ids {
		if s := getSub(t, subs, agentA, id); s.GetPendingTransferId() != "" || !s.GetAutoRenew() {
			t.Fatalf("after the refused transfer: subscription %s in transfer %q, autorenew %v; want untouched", id, s.GetPendingTransferId(), s.GetAutoRenew())
		}
	}

	// The service chooses expire-and-repurchase.
	created, err := transfers.CreateTransfer(agentB, &subscriptionsv1.CreateTransferRequest{RequestId: uuid.NewString(),
		CustomerId: a.customerID, SourcePartnerId: a.partnerID, Items: transferItems(ids), Note: "Wechsel zu B zum Laufzeitende"})
	if err != nil {
		t.Fatalf("CreateTransfer (method left to the service): %v", err)
	}
	tr := created.GetTransfer()
	deadline := end.Add(30 * day)
	if tr.GetState() != subscriptionsv1.TransferState_TRANSFER_STATE_PENDING || tr.GetMethod() != subscriptionsv1.TransferMethod_TRANSFER_METHOD_EXPIRE_AND_REPURCHASE ||
		tr.GetSourcePartnerId() != a.partnerID || tr.GetTargetPartnerId() != b.partnerID || tr.GetCustomerId() != a.customerID ||
		len(tr.GetItems()) != n || !tr.GetRepurchaseDeadlineTime().AsTime().Equal(deadline) ||
		!proto.Equal(tr.GetTenantLimit(), &subscriptionsv1.TenantSubscriptionLimit{Limit: e2eTenantLimit, Active: n, Peak: n}) {
		t.Fatalf("created transfer: %v %v from %s to %s, %d items, deadline %v, limit %v; want PENDING EXPIRE_AND_REPURCHASE from A to B, "+
			"%d items, deadline %v (end + 30 days), limit {20 %d peak %d} (SU-13)", tr.GetState(), tr.GetMethod(), tr.GetSourcePartnerId(),
			tr.GetTargetPartnerId(), len(tr.GetItems()), tr.GetRepurchaseDeadlineTime().AsTime(), tr.GetTenantLimit(), n, deadline, n, n)
	}
	for _, it := range tr.GetItems() {
		if it.GetState() != subscriptionsv1.TransferItemState_TRANSFER_ITEM_STATE_PENDING || it.GetTargetSkuId() != skuM365.GetSkuId() ||
			it.GetQuantity() != qty[it.GetSubscriptionId()] || it.GetLicenseReassignmentRequired() || !it.GetSourceTermEndTime().AsTime().Equal(end) {
			t.Errorf("transfer item %v; want PENDING, same SKU, the source's %d seats, no license reassignment (SU-14), ending %v", it, qty[it.GetSubscriptionId()], end)
		}
	}

	// The subscriptions are in that transfer: no second one for them.
	_, err = transfers.CreateTransfer(agentB, &subscriptionsv1.CreateTransferRequest{RequestId: uuid.NewString(),
		CustomerId: a.customerID, SourcePartnerId: a.partnerID, Items: transferItems(ids[:1])})
	wantRefusal(t, "a second transfer of a subscription in a pending one", err, codes.FailedPrecondition, "TRANSFER_ALREADY_PENDING")

	// A, the source, accepts: its subscriptions run out with autorenew off (SU-9, SU-12).
	accepted, err := transfers.AcceptTransfer(agentA, &subscriptionsv1.AcceptTransferRequest{RequestId: uuid.NewString(),
		TransferId: tr.GetTransferId(), Etag: tr.GetEtag()})
	if err != nil {
		t.Fatalf("AcceptTransfer by the source partner: %v", err)
	}
	tr = accepted.GetTransfer()
	if tr.GetState() != subscriptionsv1.TransferState_TRANSFER_STATE_ACCEPTED || slices.ContainsFunc(tr.GetItems(), func(it *subscriptionsv1.TransferItem) bool {
		return it.GetState() != subscriptionsv1.TransferItemState_TRANSFER_ITEM_STATE_AWAITING_EXPIRY
	}) {
		t.Fatalf("accepted transfer: %v, items %v; want ACCEPTED, every item AWAITING_EXPIRY", tr.GetState(), tr.GetItems())
	}
	for _, id := range ids {
		if s := getSub(t, subs, agentA, id); s.GetAutoRenew() || s.GetState() != stActive || s.GetPendingTransferId() != tr.GetTransferId() {
			t.Errorf("source %s after the acceptance: autorenew %v, %v, transfer %q; want autorenew off, ACTIVE, in transfer %s (SU-9, SU-12)",
				id, s.GetAutoRenew(), s.GetState(), s.GetPendingTransferId(), tr.GetTransferId())
		}
	}

	repurchase := func(id string) (*subscriptionsv1.ProvisionSubscriptionResponse, error) {
		req := proto.Clone(skuM365).(*subscriptionsv1.ProvisionSubscriptionRequest)
		req.RequestId, req.OrderId, req.OrderLineId = uuid.NewString(), uuid.NewString(), uuid.NewString()
		req.CustomerId, req.PartnerId, req.Quantity, req.TransferId = a.customerID, b.partnerID, qty[id], tr.GetTransferId()
		return subscriptionsv1.NewProvisioningServiceClient(stack.Conn("subscriptions")).ProvisionSubscription(withToken(ctx, b.sagaToken(t, ctx)), req)
	}
	// Nothing to repurchase before the sources expired.
	_, err = repurchase(ids[0])
	wantRefusal(t, "repurchase before the source expired", err, codes.FailedPrecondition, "INVALID_STATE_TRANSITION")

	// The end date: the sources expire; the target repurchases within the grace.
	stack.AdvanceTo(ctx, t, end.Add(2*day+9*time.Hour))
	for _, id := range ids {
		waitState(t, subs, agentA, id, stExpired)
	}
	tr = waitTransfer(t, ctx, transfers, agentB, tr.GetTransferId(), "every item AWAITING_REPURCHASE", func(x *subscriptionsv1.Transfer) bool {
		return !slices.ContainsFunc(x.GetItems(), func(it *subscriptionsv1.TransferItem) bool {
			return it.GetState() != subscriptionsv1.TransferItemState_TRANSFER_ITEM_STATE_AWAITING_REPURCHASE
		})
	})
	moved := map[string]string{}
	for _, id := range ids {
		resp, err := repurchase(id)
		if err != nil {
			t.Fatalf("repurchase of %s (%d seats) within the grace: %v", id, qty[id], err)
		}
		s := resp.GetSubscription()
		if !resp.GetCreated() || s.GetState() != stActive || s.GetPartnerId() != b.partnerID || s.GetCustomerId() != a.customerID || s.GetQuantity() != qty[id] {
			t.Fatalf("repurchase of %s: created %v, %v, partner %s, %d seats; want a new ACTIVE subscription of B with %d seats",
				id, resp.GetCreated(), s.GetState(), s.GetPartnerId(), s.GetQuantity(), qty[id])
		}
		moved[id] = s.GetSubscriptionId()
	}
	got, err := transfers.GetTransfer(agentA, &subscriptionsv1.GetTransferRequest{TransferId: tr.GetTransferId()})
	if err != nil {
		t.Fatalf("GetTransfer as the source partner: %v", err)
	}
	tr = got.GetTransfer()
	if tr.GetState() != subscriptionsv1.TransferState_TRANSFER_STATE_COMPLETED || tr.GetCompleteTime() == nil {
		t.Errorf("transfer after every repurchase: %v; want COMPLETED", tr.GetState())
	}
	for _, it := range tr.GetItems() {
		if it.GetState() != subscriptionsv1.TransferItemState_TRANSFER_ITEM_STATE_MOVED || it.GetTargetSubscriptionId() != moved[it.GetSubscriptionId()] {
			t.Errorf("item %s: %v, target %q; want MOVED to %s", it.GetSubscriptionId(), it.GetState(), it.GetTargetSubscriptionId(), moved[it.GetSubscriptionId()])
		}
	}
	for _, id := range ids {
		if s := getSub(t, subs, agentA, id); s.GetState() != stExpired || s.GetPendingTransferId() != "" || s.GetQuantity() != qty[id] {
			t.Errorf("source %s after the move: %v, transfer %q, %d seats; want EXPIRED (data kept in the grace, SU-12), out of the transfer", id,
				s.GetState(), s.GetPendingTransferId(), s.GetQuantity())
		}
	}
	// Each source's move is in the feed once: TRANSFERRED to B, naming B's new subscription.
	evDeadline := time.Now().Add(10 * time.Second)
	for {
		seen := map[string]int{}
		var wrong []string
		for _, e := range listEvents(t, agentB, a.customerID) {
			if e.GetEventType() != subscriptionsv1.SubscriptionEventType_SUBSCRIPTION_EVENT_TYPE_TRANSFERRED {
				continue
			}
			seen[e.GetSubscriptionId()]++
			if p := e.GetTransferred(); p.GetTransferId() != tr.GetTransferId() || p.GetFromPartnerId() != a.partnerID ||
				p.GetToPartnerId() != b.partnerID || p.GetTargetSubscriptionId() != moved[e.GetSubscriptionId()] {
				wrong = append(wrong, fmt.Sprint(e))
			}
		}
		done := len(seen) == n
		for _, id := range ids {
			done = done && seen[id] == 1
		}
		if len(wrong) > 0 {
			t.Fatalf("TRANSFERRED events %v; want each naming transfer %s from A to B and B's new subscription", wrong, tr.GetTransferId())
		}
		if done {
			break
		}
		if time.Now().After(evDeadline) {
			t.Fatalf("TRANSFERRED events in B's feed of C per source: %v; want one for each of the %d sources", seen, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	nowActive := listSubscriptions(t, ctx, bc, stActive)
	if len(nowActive) != n || slices.ContainsFunc(nowActive, func(s *subscriptionsv1.Subscription) bool { return s.GetPartnerId() != b.partnerID }) {
		t.Errorf("C's active subscriptions after the move: %d; want the %d of B", len(nowActive), n)
	}

	// The order path: the review asks subscriptions for the tenant's capacity (SU-13). B adds 8
	// more subscriptions (as its order saga would): 19 active, one below the maximum.
	for range 8 {
		bc.provisionSKU(t, ctx, skuM365, 1, subscriptionsv1.Channel_CHANNEL_CSP)
	}
	const active = n + 8
	two := []*ordersv1.OrderLineInput{lineM365Annual(1), lineSQLServerSub(1)}
	rv, err := ordersAPI().ValidateOrder(agentB, &ordersv1.ValidateOrderRequest{CustomerId: a.customerID, Lines: two})
	if err != nil {
		t.Fatalf("ValidateOrder of 2 subscriptions: %v", err)
	}
	if i := slices.IndexFunc(rv.GetProblems(), func(p *ordersv1.Problem) bool {
		return p.GetReason() == commonv1.ErrorReason_ERROR_REASON_TENANT_SUBSCRIPTION_LIMIT
	}); rv.GetValid() || i < 0 {
		t.Errorf("review of 2 more subscriptions with %d active: valid %v, problems %v; want TENANT_SUBSCRIPTION_LIMIT", active, rv.GetValid(), problemReasons(rv))
	} else {
		wantLimitMetadata(t, "ValidateOrder of 2", rv.GetProblems()[i].GetMetadata(), e2eTenantLimit, active, 2)
	}
	_, err = ordersAPI().PlaceOrder(agentB, &ordersv1.PlaceOrderRequest{RequestId: uuid.NewString(), CustomerId: a.customerID, Lines: two})
	wantRefusal(t, fmt.Sprintf("PlaceOrder of 2 subscriptions with %d active, maximum 20", active), err, codes.FailedPrecondition, "TENANT_SUBSCRIPTION_LIMIT")
	wantLimitMetadata(t, "PlaceOrder of 2", metadataOf(err), e2eTenantLimit, active, 2)
	if stored := listOrders(t, ctx, b.agentToken, a.customerID); len(stored) != 0 {
		t.Errorf("B's orders for C after the refusal: %d; want none stored", len(stored))
	}
	if got := listSubscriptions(t, ctx, bc, stActive); len(got) != active {
		t.Errorf("C's active subscriptions after the refused order: %d; want %d", len(got), active)
	}
	// One more fits exactly.
	if rv, err := ordersAPI().ValidateOrder(agentB, &ordersv1.ValidateOrderRequest{CustomerId: a.customerID, Lines: two[:1]}); err != nil || !rv.GetValid() {
		t.Errorf("review of 1 more subscription with %d active (exactly the maximum 20): %v, problems %v; want valid", active, err, problemReasons(rv))
	}
}

// waitTransfer polls GetTransfer until ok holds: the lifecycle engine records a source's expiry
// in its transfer at its next sweep.
func waitTransfer(t *testing.T, ctx context.Context, api subscriptionsv1.TransferServiceClient, caller context.Context, id, what string,
	ok func(*subscriptionsv1.Transfer) bool) *subscriptionsv1.Transfer {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := api.GetTransfer(caller, &subscriptionsv1.GetTransferRequest{TransferId: id})
		if err != nil {
			t.Fatalf("GetTransfer %s: %v", id, err)
		}
		if ok(resp.GetTransfer()) {
			return resp.GetTransfer()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("transfer %s after 15 s: %v, items %v; want %s", id, resp.GetTransfer().GetState(), resp.GetTransfer().GetItems(), what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestE2E_TransferRepurchaseDeadlineMissed_SU12: the new partner must provision within the 30-day
// EXPIRED grace, or the move fails (SU-12). B requests an expire-and-repurchase transfer of one
// subscription of A's (explicitly: it would also fit side by side, SU-13), A accepts (autorenew
// off), the subscription expires at its end date and waits for B, who lets the grace pass: at
// end + 30 days the source is DISABLED, its item NOT_MOVED and the transfer FAILED, out of the
// source; a repurchase is then refused.
func TestE2E_TransferRepurchaseDeadlineMissed_SU12(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a := newLifecycleTenant(t, ctx)
	b := newLifecycleTenant(t, ctx)
	subs := subscriptionsv1.NewSubscriptionServiceClient(stack.Conn("subscriptions"))
	transfers := subscriptionsv1.NewTransferServiceClient(stack.Conn("subscriptions"))
	agentA, agentB := withToken(ctx, a.agentToken), withToken(ctx, b.agentToken)
	src := a.provisionSKU(t, ctx, skuM365, 4, subscriptionsv1.Channel_CHANNEL_CSP)
	end := src.GetTermEndTime().AsTime()
	becomeReseller(t, ctx, b, a.customerAdminToken)

	created, err := transfers.CreateTransfer(agentB, &subscriptionsv1.CreateTransferRequest{RequestId: uuid.NewString(),
		CustomerId: a.customerID, SourcePartnerId: a.partnerID, Items: transferItems([]string{src.GetSubscriptionId()}),
		Method: subscriptionsv1.TransferMethod_TRANSFER_METHOD_EXPIRE_AND_REPURCHASE})
	if err != nil {
		t.Fatalf("CreateTransfer EXPIRE_AND_REPURCHASE: %v", err)
	}
	tr := created.GetTransfer()
	if tr.GetMethod() != subscriptionsv1.TransferMethod_TRANSFER_METHOD_EXPIRE_AND_REPURCHASE ||
		!proto.Equal(tr.GetTenantLimit(), &subscriptionsv1.TenantSubscriptionLimit{Limit: e2eTenantLimit, Active: 1, Peak: 1}) ||
		!tr.GetRepurchaseDeadlineTime().AsTime().Equal(end.Add(30*day)) {
		t.Fatalf("created transfer: %v, limit %v, deadline %v; want EXPIRE_AND_REPURCHASE as requested, limit {20 1 peak 1}, deadline %v",
			tr.GetMethod(), tr.GetTenantLimit(), tr.GetRepurchaseDeadlineTime().AsTime(), end.Add(30*day))
	}
	if _, err := transfers.AcceptTransfer(agentA, &subscriptionsv1.AcceptTransferRequest{RequestId: uuid.NewString(), TransferId: tr.GetTransferId()}); err != nil {
		t.Fatalf("AcceptTransfer: %v", err)
	}
	stack.AdvanceTo(ctx, t, end.Add(day))
	waitState(t, subs, agentA, src.GetSubscriptionId(), stExpired)
	waitTransfer(t, ctx, transfers, agentB, tr.GetTransferId(), "the item AWAITING_REPURCHASE", func(x *subscriptionsv1.Transfer) bool {
		return x.GetState() == subscriptionsv1.TransferState_TRANSFER_STATE_ACCEPTED &&
			x.GetItems()[0].GetState() == subscriptionsv1.TransferItemState_TRANSFER_ITEM_STATE_AWAITING_REPURCHASE
	})

	// The grace passes without a repurchase.
	stack.AdvanceTo(ctx, t, end.Add(30*day+time.Hour))
	waitState(t, subs, agentA, src.GetSubscriptionId(), stDisabled)
	tr = waitTransfer(t, ctx, transfers, agentA, tr.GetTransferId(), "FAILED", func(x *subscriptionsv1.Transfer) bool {
		return x.GetState() == subscriptionsv1.TransferState_TRANSFER_STATE_FAILED
	})
	if it := tr.GetItems()[0]; it.GetState() != subscriptionsv1.TransferItemState_TRANSFER_ITEM_STATE_NOT_MOVED || it.GetTargetSubscriptionId() != "" || tr.GetCompleteTime() == nil {
		t.Errorf("failed transfer's item %v, complete_time %v; want NOT_MOVED, no target subscription, completed (SU-12)", it, tr.GetCompleteTime())
	}
	if s := getSub(t, subs, agentA, src.GetSubscriptionId()); s.GetPendingTransferId() != "" || s.GetPartnerId() != a.partnerID {
		t.Errorf("source after the failed transfer: transfer %q, partner %s; want out of the transfer, still A's", s.GetPendingTransferId(), s.GetPartnerId())
	}
	req := proto.Clone(skuM365).(*subscriptionsv1.ProvisionSubscriptionRequest)
	req.RequestId, req.OrderId, req.OrderLineId = uuid.NewString(), uuid.NewString(), uuid.NewString()
	req.CustomerId, req.PartnerId, req.Quantity, req.TransferId = a.customerID, b.partnerID, 4, tr.GetTransferId()
	_, err = subscriptionsv1.NewProvisioningServiceClient(stack.Conn("subscriptions")).ProvisionSubscription(withToken(ctx, b.sagaToken(t, ctx)), req)
	wantRefusal(t, "repurchase after the grace", err, codes.FailedPrecondition, "INVALID_STATE_TRANSITION")
}
