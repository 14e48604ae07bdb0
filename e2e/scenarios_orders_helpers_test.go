package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
	ordersv1 "github.com/partnerhub/partnerhub/gen/partnerhub/orders/v1"
	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
)

// Helpers of the orders scenarios (scenarios_orders_test.go) and fault tests
// (faults_orders_test.go). Every client is made from stack.Conn, which follows a restarted
// container, so a helper keeps working across stack.Kill / Stop / Start.

// Seed SKUs the orders scenarios buy (services/catalog/seed/catalog.yaml; prices in DE, EUR).
const (
	skuSQLServerSub  = "DG7GMGF0FKX2:0001" // SQL Server 2022 Standard, software subscription, P1Y ANNUAL 1325.83 EUR, MAK + downloads, 7-day window
	skuWinPerpetual  = "DG7GMGF0DVSV:0001" // Windows Server 2022 Standard 16 core, perpetual ONE_TIME 999.52 EUR, MAK, 30 days full credit
	skuM365Business  = "CFQ7TTC0LDPB:0001" // Microsoft 365 Business Standard, online service; P1M MONTHLY 14.03 EUR
	skuReservedVM    = "DZH318Z0BQ4B:0001" // Azure Reservation, not sold in CN, MM, AX, AD… (CA-2)
	skuRedHatPlan    = "DZH318Z0BXWC:0001" // Red Hat software plan, never cancellable (CA-10)
	orderWaitTimeout = 60 * time.Second    // a saga or cancellation without faults settles in seconds
)

func orderLine(sku string, quantity int32, term catalogv1.Term, plan catalogv1.BillingPlan) *ordersv1.OrderLineInput {
	return &ordersv1.OrderLineInput{SkuId: sku, Quantity: quantity, Term: term, BillingPlan: plan}
}

func lineSQLServerSub(q int32) *ordersv1.OrderLineInput {
	return orderLine(skuSQLServerSub, q, catalogv1.Term_TERM_P1Y, catalogv1.BillingPlan_BILLING_PLAN_ANNUAL)
}

func lineWinPerpetual(q int32) *ordersv1.OrderLineInput {
	return orderLine(skuWinPerpetual, q, catalogv1.Term_TERM_PERPETUAL, catalogv1.BillingPlan_BILLING_PLAN_ONE_TIME)
}

func lineM365Annual(q int32) *ordersv1.OrderLineInput {
	return orderLine(skuM365Business, q, catalogv1.Term_TERM_P1Y, catalogv1.BillingPlan_BILLING_PLAN_ANNUAL)
}

func lineM365Monthly(q int32, autorenew bool) *ordersv1.OrderLineInput {
	l := orderLine(skuM365Business, q, catalogv1.Term_TERM_P1M, catalogv1.BillingPlan_BILLING_PLAN_MONTHLY)
	l.Autorenew = &autorenew
	return l
}

func lineReservedVM(q int32) *ordersv1.OrderLineInput {
	return orderLine(skuReservedVM, q, catalogv1.Term_TERM_P1Y, catalogv1.BillingPlan_BILLING_PLAN_MONTHLY)
}

func lineRedHatPlan(q int32) *ordersv1.OrderLineInput {
	return orderLine(skuRedHatPlan, q, catalogv1.Term_TERM_P1Y, catalogv1.BillingPlan_BILLING_PLAN_ANNUAL)
}

func ordersAPI() ordersv1.OrderServiceClient {
	return ordersv1.NewOrderServiceClient(stack.Conn("orders"))
}
func ledgerAPI() ordersv1.LedgerServiceClient {
	return ordersv1.NewLedgerServiceClient(stack.Conn("orders"))
}

// newPartnerTenant is newLifecycleTenant with the partner's programs chosen (e.g. DELEGATED_ADMIN,
// which delegated administration needs, DA-2): a partner, its Admin agent, and a German customer
// the agent created (so an active reseller relationship exists, ID-4).
func newPartnerTenant(t *testing.T, ctx context.Context, programs ...identityv1.PartnerProgram) lifecycleTenant {
	t.Helper()
	id := stack.Conn("identity")
	users := identityv1.NewUserServiceClient(id)
	suffix := uuid.NewString()[:8]
	p, err := identityv1.NewPartnerServiceClient(id).CreatePartner(withToken(ctx, operatorToken(ctx, t)), &identityv1.CreatePartnerRequest{
		RequestId: uuid.NewString(), LegalName: "Litware Licensing GmbH", CountryCode: "DE", Programs: programs,
		Admin: &identityv1.InitialAdmin{UserName: "admin@litware-" + suffix + ".example", DisplayName: "Litware admin", Email: "admin@litware.example"},
	})
	if err != nil {
		t.Fatalf("CreatePartner: %v", err)
	}
	adminToken := signIn(ctx, t, p.GetAdminCredential().GetClientId(), p.GetAdminClientSecret())
	admin := withToken(ctx, adminToken)
	u, err := users.CreateUser(admin, &identityv1.CreateUserRequest{RequestId: uuid.NewString(),
		UserName: "agent@litware-" + suffix + ".example", DisplayName: "Agent", Email: "agent@litware.example",
		Roles: []commonv1.Role{commonv1.Role_ROLE_ADMIN_AGENT}})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	cred, err := users.CreateApiCredential(admin, &identityv1.CreateApiCredentialRequest{RequestId: uuid.NewString(), UserId: u.GetUser().GetUserId()})
	if err != nil {
		t.Fatalf("CreateApiCredential: %v", err)
	}
	tn := lifecycleTenant{partnerID: p.GetPartner().GetPartnerId(), agentUserID: u.GetUser().GetUserId(),
		agentToken: signIn(ctx, t, cred.GetCredential().GetClientId(), cred.GetClientSecret()), adminToken: adminToken}
	tn.customerID, tn.customerAdminToken = createCustomerAs(t, ctx, tn.agentToken, "DE", "Adatum Werke GmbH")
	return tn
}

// createCustomerAs creates a customer tenant in country with the given partner token and returns
// its ID and a token of its Global admin.
func createCustomerAs(t *testing.T, ctx context.Context, token, country, name string) (customerID, adminToken string) {
	t.Helper()
	suffix := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	c, err := identityv1.NewCustomerServiceClient(stack.Conn("identity")).CreateCustomer(withToken(ctx, token), &identityv1.CreateCustomerRequest{
		RequestId: uuid.NewString(), OrganisationName: name, CountryCode: country, DomainPrefix: "cust" + suffix,
		Admin: &identityv1.InitialAdmin{DisplayName: name + " admin", Email: "it@" + suffix + ".example"},
	})
	if err != nil {
		t.Fatalf("CreateCustomer in %s: %v", country, err)
	}
	return c.GetCustomer().GetCustomerId(), signIn(ctx, t, c.GetAdminCredential().GetClientId(), c.GetAdminClientSecret())
}

// ordersReady is set once orders has reviewed an order of every seed SKU these tests buy.
var ordersReady atomic.Bool

// waitOrdersReady waits, once per run, until orders reviews an order of the seed SKUs without
// UNAVAILABLE or RESOURCE_NOT_FOUND: on a stack that just started, orders may not have its
// service token from identity yet, and the catalog imports its seed only once identity answers.
func waitOrdersReady(t *testing.T, ctx context.Context, tn lifecycleTenant) {
	t.Helper()
	if ordersReady.Load() {
		return
	}
	lines := []*ordersv1.OrderLineInput{lineSQLServerSub(1), lineWinPerpetual(1), lineM365Monthly(1, true), lineReservedVM(1), lineRedHatPlan(1)}
	deadline := time.Now().Add(90 * time.Second)
	for {
		review, err := ordersAPI().ValidateOrder(withToken(ctx, tn.agentToken), &ordersv1.ValidateOrderRequest{CustomerId: tn.customerID, Lines: lines})
		if err == nil && !slices.Contains(problemReasons(review), "RESOURCE_NOT_FOUND") {
			ordersReady.Store(true)
			return
		}
		if c := status.Code(err); (err != nil && c != codes.Unavailable) || time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("orders not ready: ValidateOrder of every seed SKU: %v, problems %v", err, problemReasons(review))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// placeOrder places an order for the tenant's customer as its Admin agent and returns it as
// PlaceOrder answered (PROVISIONING).
func placeOrder(t *testing.T, ctx context.Context, tn lifecycleTenant, lines ...*ordersv1.OrderLineInput) *ordersv1.Order {
	t.Helper()
	waitOrdersReady(t, ctx, tn)
	// The review first: it must find nothing wrong.
	review, err := ordersAPI().ValidateOrder(withToken(ctx, tn.agentToken), &ordersv1.ValidateOrderRequest{CustomerId: tn.customerID, Lines: lines})
	if err != nil || !review.GetValid() {
		t.Fatalf("ValidateOrder %v: %v, problems %v; want a valid review", skusOf(lines), err, problemReasons(review))
	}
	resp, err := ordersAPI().PlaceOrder(withToken(ctx, tn.agentToken), &ordersv1.PlaceOrderRequest{
		RequestId: uuid.NewString(), CustomerId: tn.customerID, Lines: lines})
	if err != nil {
		t.Fatalf("PlaceOrder %v: %v", skusOf(lines), err)
	}
	o := resp.GetOrder()
	if o.GetOrderId() == "" || o.GetCustomerId() != tn.customerID || o.GetPartnerId() != tn.partnerID || len(o.GetLines()) != len(lines) {
		t.Fatalf("PlaceOrder answered %v; want the order of partner %s for customer %s with %d lines", o, tn.partnerID, tn.customerID, len(lines))
	}
	return o
}

func skusOf(lines []*ordersv1.OrderLineInput) []string {
	var out []string
	for _, l := range lines {
		out = append(out, l.GetSkuId())
	}
	return out
}

// placeCompleted places an order and follows it until it settles; it must be COMPLETED.
func placeCompleted(t *testing.T, ctx context.Context, tn lifecycleTenant, lines ...*ordersv1.OrderLineInput) *ordersv1.Order {
	t.Helper()
	o := placeOrder(t, ctx, tn, lines...)
	o = watchSettled(t, ctx, tn.agentToken, o.GetOrderId(), orderWaitTimeout)
	if o.GetState() != ordersv1.OrderState_ORDER_STATE_COMPLETED {
		t.Fatalf("order %s settled %v (failure %v); want COMPLETED", o.GetOrderId(), o.GetState(), o.GetFailure())
	}
	return o
}

func getOrder(t *testing.T, ctx context.Context, token, id string) *ordersv1.Order {
	t.Helper()
	resp, err := ordersAPI().GetOrder(withToken(ctx, token), &ordersv1.GetOrderRequest{OrderId: id})
	if err != nil {
		t.Fatalf("GetOrder %s: %v", id, err)
	}
	return resp.GetOrder()
}

// waitOrder polls GetOrder until ok holds, for at most timeout. UNAVAILABLE (orders restarting)
// is waited out like any other not-yet.
func waitOrder(t *testing.T, ctx context.Context, token, id, what string, timeout time.Duration, ok func(*ordersv1.Order) bool) *ordersv1.Order {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last *ordersv1.Order
	var lastErr error
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		resp, err := ordersAPI().GetOrder(withToken(cctx, token), &ordersv1.GetOrderRequest{OrderId: id})
		cancel()
		switch {
		case err == nil:
			last, lastErr = resp.GetOrder(), nil
			if ok(last) {
				return last
			}
		case status.Code(err) == codes.Unavailable || status.Code(err) == codes.DeadlineExceeded:
			lastErr = err
		default:
			t.Fatalf("GetOrder %s while waiting for %s: %v", id, what, err)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("order %s after %v: %s (last error %v); want %s", id, timeout, describeOrder(last), lastErr, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// settled reports whether WatchOrder would end on o.
func settled(o *ordersv1.Order) bool {
	switch o.GetState() {
	case ordersv1.OrderState_ORDER_STATE_COMPLETED, ordersv1.OrderState_ORDER_STATE_FAILED,
		ordersv1.OrderState_ORDER_STATE_CANCELLED, ordersv1.OrderState_ORDER_STATE_PARTIALLY_CANCELLED:
		return !o.GetCancellationPending()
	}
	return false
}

// watchSettled follows the order with WatchOrder until its first settled snapshot, which it
// returns. A stream the server ends early (UNAVAILABLE: orders restarting) is watched again, as
// the contract says; the whole wait is bounded by timeout.
func watchSettled(t *testing.T, ctx context.Context, token, id string, timeout time.Duration) *ordersv1.Order {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last *ordersv1.Order
	var lastErr error
	for {
		stream, err := ordersAPI().WatchOrder(withToken(wctx, token), &ordersv1.WatchOrderRequest{OrderId: id})
		if err == nil {
			for {
				resp, rerr := stream.Recv()
				if rerr != nil {
					err = rerr
					break
				}
				last = resp.GetOrder()
				if settled(last) {
					return last
				}
			}
		}
		if errors.Is(err, io.EOF) {
			t.Fatalf("WatchOrder %s ended on %s; want it to end only on a settled snapshot", id, describeOrder(last))
		}
		c := status.Code(err)
		if c != codes.Unavailable && c != codes.DeadlineExceeded && c != codes.Canceled {
			t.Fatalf("WatchOrder %s: %v", id, err)
		}
		lastErr = err
		if wctx.Err() != nil {
			t.Fatalf("order %s not settled after %v: %s (last error %v)", id, timeout, describeOrder(last), lastErr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// describeOrder is a one-line summary of an order for failure messages.
func describeOrder(o *ordersv1.Order) string {
	if o == nil {
		return "no snapshot"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%v pending=%v failure=%v lines=[", o.GetState(), o.GetCancellationPending(), o.GetFailure())
	for i, l := range o.GetLines() {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s %v sub=%q ent=%q charge=%q failure=%v cancellation=%v", l.GetSkuId(), l.GetState(),
			l.GetProvisioning().GetSubscriptionId(), l.GetProvisioning().GetEntitlementId(),
			l.GetProvisioning().GetChargeLedgerEntryId(), l.GetFailure(), l.GetCancellation())
	}
	b.WriteString("]")
	return b.String()
}

// listOrders lists the partner's orders of one customer (all pages).
func listOrders(t *testing.T, ctx context.Context, token, customerID string) []*ordersv1.Order {
	t.Helper()
	req := &ordersv1.ListOrdersRequest{CustomerId: customerID, PageSize: 500}
	var out []*ordersv1.Order
	for range 20 {
		resp, err := ordersAPI().ListOrders(withToken(ctx, token), req)
		if err != nil {
			t.Fatalf("ListOrders of customer %s: %v", customerID, err)
		}
		out = append(out, resp.GetOrders()...)
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	return out
}

// ledgerEntries lists every entry matching req (all pages), with the given token (the partner's
// Account admin reads the ledger).
func ledgerEntries(t *testing.T, ctx context.Context, token string, req *ordersv1.ListLedgerEntriesRequest) []*ordersv1.LedgerEntry {
	t.Helper()
	var out []*ordersv1.LedgerEntry
	req.PageSize, req.PageToken = 500, ""
	for range 20 {
		resp, err := retryUnavailable(ctx, func(ctx context.Context) (*ordersv1.ListLedgerEntriesResponse, error) {
			return ledgerAPI().ListLedgerEntries(withToken(ctx, token), req)
		})
		if err != nil {
			t.Fatalf("ListLedgerEntries %v: %v", req, err)
		}
		out = append(out, resp.GetEntries()...)
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	return out
}

// waitLedger polls ledgerEntries until ok holds, for at most timeout: the ledger books the
// subscriptions events feed asynchronously (each poll of the feed, every second by default).
func waitLedger(t *testing.T, ctx context.Context, token string, req *ordersv1.ListLedgerEntriesRequest, what string,
	timeout time.Duration, ok func([]*ordersv1.LedgerEntry) bool) []*ordersv1.LedgerEntry {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := ledgerEntries(t, ctx, token, req)
		if ok(got) {
			return got
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("ledger after %v: %s; want %s", timeout, describeEntries(got), what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func describeEntries(es []*ordersv1.LedgerEntry) string {
	var parts []string
	for _, e := range es {
		parts = append(parts, fmt.Sprintf("{%v %d %s %v order=%s sub=%s event=%s month=%s}", e.GetKind(),
			e.GetAmount().GetAmountMinor(), e.GetAmount().GetCurrencyCode(), e.GetSource().GetKind(),
			e.GetSource().GetOrderId(), e.GetSource().GetSubscriptionId(), e.GetSource().GetEventId(), e.GetInvoiceMonth()))
	}
	return fmt.Sprintf("%d entries %v", len(es), parts)
}

// retryUnavailable calls fn until it answers anything but UNAVAILABLE, for at most 30 s (a
// service being restarted by a fault test).
func retryUnavailable[T any](ctx context.Context, fn func(ctx context.Context) (T, error)) (T, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		v, err := fn(cctx)
		cancel()
		if c := status.Code(err); (c != codes.Unavailable && c != codes.DeadlineExceeded) || time.Now().After(deadline) || ctx.Err() != nil {
			return v, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// nextInvoiceMonth is the month after t's (UTC): where a cancellation credit goes (OR-3, BI-3).
func nextInvoiceMonth(t time.Time) string {
	u := t.UTC()
	return time.Date(u.Year(), u.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0).Format("2006-01")
}

// customerInvoice returns the customer's line of the month's invoice preview (nil when the month
// holds nothing for it).
func customerInvoice(t *testing.T, ctx context.Context, token, month, customerID string) *ordersv1.CustomerInvoiceLine {
	t.Helper()
	resp, err := ledgerAPI().GetInvoicePreview(withToken(ctx, token), &ordersv1.GetInvoicePreviewRequest{
		InvoiceMonth: month, CustomerId: customerID})
	if err != nil {
		t.Fatalf("GetInvoicePreview %s: %v", month, err)
	}
	var found *ordersv1.CustomerInvoiceLine
	for _, l := range resp.GetCustomerLines() {
		if l.GetCustomerId() == customerID {
			if found != nil {
				t.Fatalf("invoice %s holds several lines of customer %s: %v", month, customerID, resp.GetCustomerLines())
			}
			found = l
		}
	}
	return found
}

// entriesWhere filters entries.
func entriesWhere(es []*ordersv1.LedgerEntry, keep func(*ordersv1.LedgerEntry) bool) []*ordersv1.LedgerEntry {
	var out []*ordersv1.LedgerEntry
	for _, e := range es {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// listSoftware lists the customer's entitlements (all states, license-only included) as the
// partner's Admin agent, optionally of one order.
func listSoftware(t *testing.T, ctx context.Context, tn lifecycleTenant, orderID string) []*keysv1.Entitlement {
	t.Helper()
	resp, err := retryUnavailable(ctx, func(ctx context.Context) (*keysv1.ListSoftwareResponse, error) {
		return keysv1.NewEntitlementServiceClient(stack.Conn("keys")).ListSoftware(withToken(ctx, tn.agentToken),
			&keysv1.ListSoftwareRequest{CustomerId: tn.customerID, OrderId: orderID, IncludeLicenseOnly: true, PageSize: 500})
	})
	if err != nil {
		t.Fatalf("ListSoftware of customer %s: %v", tn.customerID, err)
	}
	return resp.GetEntitlements()
}

// listSubscriptions lists the customer's subscriptions (every state) as the partner's Admin agent.
func listSubscriptions(t *testing.T, ctx context.Context, tn lifecycleTenant, states ...subscriptionsv1.SubscriptionState) []*subscriptionsv1.Subscription {
	t.Helper()
	resp, err := retryUnavailable(ctx, func(ctx context.Context) (*subscriptionsv1.ListSubscriptionsResponse, error) {
		return subscriptionsv1.NewSubscriptionServiceClient(stack.Conn("subscriptions")).ListSubscriptions(withToken(ctx, tn.agentToken),
			&subscriptionsv1.ListSubscriptionsRequest{CustomerId: tn.customerID, States: states, PageSize: 500})
	})
	if err != nil {
		t.Fatalf("ListSubscriptions of customer %s: %v", tn.customerID, err)
	}
	return resp.GetSubscriptions()
}

// problemReasons lists the reasons of a review's problems, the order's and every line's.
func problemReasons(r *ordersv1.ValidateOrderResponse) []string {
	var out []string
	for _, p := range r.GetProblems() {
		out = append(out, strings.TrimPrefix(p.GetReason().String(), "ERROR_REASON_"))
	}
	for _, l := range r.GetLines() {
		for _, p := range l.GetProblems() {
			out = append(out, strings.TrimPrefix(p.GetReason().String(), "ERROR_REASON_"))
		}
	}
	return out
}

// failureReason is a Failure's reason without the enum prefix ("DEPENDENCY_UNAVAILABLE").
func failureReason(f *ordersv1.Failure) string {
	return strings.TrimPrefix(f.GetReason().String(), "ERROR_REASON_")
}
