package grpcapi

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	ordersv1 "github.com/partnerhub/partnerhub/gen/partnerhub/orders/v1"
	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	ordersql "github.com/partnerhub/partnerhub/services/orders/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/support"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
	"github.com/partnerhub/partnerhub/services/orders/migrations"
)

// The cast of the transport tests: partner A administers customer C1 with the support role
// (delegated admin) and placed order orderA for it; partner B has no delegated admin anywhere.
const (
	spPartnerA = "aaaaaaaa-0000-4000-8000-00000000000a"
	spPartnerB = "bbbbbbbb-0000-4000-8000-00000000000b"
	spCust1    = "c1c1c1c1-0000-4000-8000-0000000000c1"
	spDomain1  = "contoso.onmicrosoft.com"
	spOrderA   = "0a1a1a1a-0000-4000-8000-0000000000a1"
	spSub1     = "5c1a5c1a-0000-4000-8000-0000000001a1"
)

var spT0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

var (
	spAdminA = auth.Principal{Subject: "u-admin-a", OrgID: spPartnerA, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent}}
	spSalesA = auth.Principal{Subject: "u-sales-a", OrgID: spPartnerA, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.SalesAgent}}
	spAdminB = auth.Principal{Subject: "u-admin-b", OrgID: spPartnerB, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent}}
	spCustC1 = auth.Principal{Subject: "u-cust-1", OrgID: spCust1, OrgKind: auth.OrgCustomer, Roles: []auth.Role{auth.CustomerGlobalAdmin}}
)

// spStore is the SQL store on SQLite with orderA in place of the order saga's tables, which
// this test does not need: only the support tables and the order lookup matter here.
type spStore struct{ *ordersql.Store }

func (s spStore) Order(ctx context.Context, id string) (domain.Order, error) {
	if id == spOrderA {
		return domain.Order{ID: id, PartnerID: spPartnerA, CustomerID: spCust1}, nil
	}
	return s.Store.Order(ctx, id)
}

type spPeers struct{}

func (spPeers) CustomerByID(_ context.Context, id string) (support.Customer, error) {
	if id == spCust1 {
		return support.Customer{ID: spCust1, DefaultDomain: spDomain1}, nil
	}
	return support.Customer{}, errs.NotFoundf("customer", id)
}

func (spPeers) CustomerByDomain(_ context.Context, d string) (support.Customer, error) {
	if d == spDomain1 {
		return support.Customer{ID: spCust1, DefaultDomain: spDomain1}, nil
	}
	return support.Customer{}, errs.NotFoundf("customer", d)
}

func (spPeers) Subscription(_ context.Context, id string) (support.Subscription, error) {
	if id == spSub1 {
		return support.Subscription{ID: id, CustomerID: spCust1}, nil
	}
	return support.Subscription{}, errs.NotFoundf("subscription", id)
}

func (spPeers) CheckAccess(_ context.Context, partnerID, customerID, role string) (support.Access, error) {
	if partnerID == spPartnerA && customerID == spCust1 && role == support.RequiredRole {
		return support.Access{Allowed: true, RelationshipID: "rel-1"}, nil
	}
	return support.Access{DenialReason: "NO_RELATIONSHIP"}, nil
}

type spStack struct {
	t      *testing.T
	srv    *testkit.Served
	clock  *clock.Fake
	client ordersv1.SupportRequestServiceClient
}

func newSupportStack(t *testing.T) *spStack {
	db := testkit.OpenDB(t, testkit.SQLiteDSN(t), migrations.FS, "orders_schema")
	s := &spStack{t: t, clock: clock.NewFake(spT0)}
	a := support.New(spStore{ordersql.New(db)}, spPeers{}, spPeers{}, spPeers{}, s.clock, nil)
	s.srv = testkit.Serve(t, "orders", func(gs *grpc.Server) {
		ordersv1.RegisterSupportRequestServiceServer(gs, NewSupportServer(a))
	})
	s.client = ordersv1.NewSupportRequestServiceClient(s.srv.Conn)
	return s
}

func (s *spStack) as(p auth.Principal) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	s.t.Cleanup(cancel)
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+s.srv.Token(s.t, p))
}

func spCreateReq() *ordersv1.CreateSupportRequestRequest {
	return &ordersv1.CreateSupportRequestRequest{
		RequestId:           uuid.NewString(),
		Customer:            &ordersv1.CreateSupportRequestRequest_CustomerId{CustomerId: spCust1},
		Subject:             &ordersv1.CreateSupportRequestRequest_OrderId{OrderId: spOrderA},
		RefundReason:        ordersv1.RefundReason_REFUND_REASON_CANCELLATION_WINDOW_MISSED,
		RefundReasonDetails: "missed the 7-day window by a day",
		AmountRequested:     &commonv1.Money{AmountMinor: 12999, CurrencyCode: "EUR"},
		Contact:             &ordersv1.Contact{Name: "Jane Doe", Email: "jane@contoso.com", Phone: "+4930123456"},
		Title:               "Refund Windows Server 2022",
	}
}

func spWantErr(t *testing.T, err error, kind errs.Kind, reason errs.Reason) *errs.Error {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != kind || e.Reason != reason {
		t.Fatalf("err = %v; want %v / %s", err, kind, reason)
	}
	return e
}

// OR-6, DA-4: a partner with delegated admin opens a request; every field of the contract comes
// back, the enums and the money mapped, OPEN, etag v1.
func TestSupport_Create_WithDelegatedAdmin_DA4(t *testing.T) {
	s := newSupportStack(t)
	req := spCreateReq()
	resp, err := s.client.CreateSupportRequest(s.as(spAdminA), req)
	if err != nil {
		t.Fatal(err)
	}
	got := resp.GetSupportRequest()
	if uuid.Validate(got.GetSupportRequestId()) != nil {
		t.Errorf("support_request_id %q is not a UUID", got.GetSupportRequestId())
	}
	want := &ordersv1.SupportRequest{
		SupportRequestId: got.GetSupportRequestId(), CustomerId: spCust1, CustomerDomain: spDomain1,
		PartnerId: spPartnerA, OpenedByOrgKind: commonv1.OrgKind_ORG_KIND_PARTNER, OpenedBy: spAdminA.Subject,
		OrderId: spOrderA, RefundReason: req.GetRefundReason(), RefundReasonDetails: req.GetRefundReasonDetails(),
		AmountRequested: req.GetAmountRequested(), Contact: req.GetContact(), Title: req.GetTitle(),
		State: ordersv1.SupportRequestState_SUPPORT_REQUEST_STATE_OPEN, Etag: "v1",
		CreateTime: timestamppb.New(spT0), UpdateTime: timestamppb.New(spT0),
	}
	if !proto.Equal(got, want) {
		t.Fatalf("got\n%v\nwant\n%v", got, want)
	}
}

// DA-4: a partner without delegated admin is refused with PERMISSION_DENIED /
// DELEGATED_ADMIN_REQUIRED and the metadata of ErrorInfo; the customer itself may, by domain.
func TestSupport_Create_WithoutDelegatedAdmin_Refused_DA4(t *testing.T) {
	s := newSupportStack(t)
	_, err := s.client.CreateSupportRequest(s.as(spAdminB), spCreateReq())
	e := spWantErr(t, err, errs.PermissionDenied, "DELEGATED_ADMIN_REQUIRED")
	if e.Metadata["required_role"] != "SERVICE_SUPPORT_ADMINISTRATOR" || e.Metadata["denial_reason"] != "NO_RELATIONSHIP" {
		t.Errorf("metadata %v", e.Metadata)
	}

	req := spCreateReq()
	req.Customer = &ordersv1.CreateSupportRequestRequest_CustomerDomain{CustomerDomain: spDomain1}
	req.Subject = &ordersv1.CreateSupportRequestRequest_SubscriptionId{SubscriptionId: spSub1}
	resp, err := s.client.CreateSupportRequest(s.as(spCustC1), req)
	if err != nil {
		t.Fatal(err)
	}
	if r := resp.GetSupportRequest(); r.GetPartnerId() != "" || r.GetCustomerId() != spCust1 ||
		r.GetOpenedByOrgKind() != commonv1.OrgKind_ORG_KIND_CUSTOMER || r.GetSubscriptionId() != spSub1 || r.GetOrderId() != "" {
		t.Errorf("customer's request %v", r)
	}
}

// The contract's access rule and the validation reach the caller as ROLE_REQUIRED and
// INVALID_REQUEST with field violations; no token is TOKEN_MISSING.
func TestSupport_Create_RolesAndValidation(t *testing.T) {
	s := newSupportStack(t)
	_, err := s.client.CreateSupportRequest(s.as(spSalesA), spCreateReq())
	spWantErr(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)

	_, err = s.client.CreateSupportRequest(context.Background(), spCreateReq())
	spWantErr(t, err, errs.Unauthenticated, errs.ReasonTokenMissing)

	req := spCreateReq()
	req.Customer, req.Subject, req.AmountRequested, req.Contact = nil, nil, nil, nil
	req.RefundReason = ordersv1.RefundReason(99)
	_, err = s.client.CreateSupportRequest(s.as(spAdminA), req)
	e := spWantErr(t, err, errs.InvalidArgument, errs.ReasonInvalidRequest)
	want := []string{"customer", "subject", "refund_reason", "amount_requested.amount_minor",
		"amount_requested.currency_code", "contact.name", "contact.email"}
	var fields []string
	for _, v := range e.Violations {
		fields = append(fields, v.Field)
	}
	if len(fields) != len(want) {
		t.Fatalf("violations %v; want %v", fields, want)
	}
	for i := range want {
		if fields[i] != want[i] {
			t.Errorf("violations %v; want %v", fields, want)
		}
	}
}

// OR-7: the same request_id returns the first request (here the store's own replay: this stack
// runs without the idempotency interceptor).
func TestSupport_Create_Retry_OR7(t *testing.T) {
	s := newSupportStack(t)
	req := spCreateReq()
	first, err := s.client.CreateSupportRequest(s.as(spAdminA), req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.clock.Advance(time.Minute); err != nil {
		t.Fatal(err)
	}
	again, err := s.client.CreateSupportRequest(s.as(spAdminA), req)
	if err != nil || !proto.Equal(again, first) {
		t.Fatalf("retry = %v, %v; want %v", again, err, first)
	}
}

// ID-8 and the list mapping: states and time filters, newest first, pages by token; the partner
// sees its own, the customer everything about its tenant.
func TestSupport_List(t *testing.T) {
	s := newSupportStack(t)
	var ids []string
	for i := range 3 {
		p := spAdminA
		req := spCreateReq()
		if i == 1 {
			p = spCustC1
		}
		resp, err := s.client.CreateSupportRequest(s.as(p), req)
		if err != nil {
			t.Fatal(err)
		}
		ids = append([]string{resp.GetSupportRequest().GetSupportRequestId()}, ids...)
		if _, err := s.clock.Advance(time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	list := func(p auth.Principal, req *ordersv1.ListSupportRequestsRequest) ([]string, string) {
		t.Helper()
		resp, err := s.client.ListSupportRequests(s.as(p), req)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range resp.GetSupportRequests() {
			out = append(out, r.GetSupportRequestId())
		}
		return out, resp.GetNextPageToken()
	}
	eq := func(name string, got, want []string) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: %v; want %v", name, got, want)
			return
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: %v; want %v", name, got, want)
				return
			}
		}
	}
	got, _ := list(spAdminA, &ordersv1.ListSupportRequestsRequest{})
	eq("partner A", got, []string{ids[0], ids[2]})
	got, _ = list(spCustC1, &ordersv1.ListSupportRequestsRequest{})
	eq("customer C1", got, ids)
	got, _ = list(spAdminB, &ordersv1.ListSupportRequestsRequest{})
	eq("partner B", got, nil)
	got, _ = list(spCustC1, &ordersv1.ListSupportRequestsRequest{
		States:    []ordersv1.SupportRequestState{ordersv1.SupportRequestState_SUPPORT_REQUEST_STATE_OPEN},
		StartTime: timestamppb.New(spT0.Add(time.Hour)), EndTime: timestamppb.New(spT0.Add(3 * time.Hour))})
	eq("customer C1, open, from the second", got, ids[:2])

	page1, next := list(spCustC1, &ordersv1.ListSupportRequestsRequest{PageSize: 2})
	page2, last := list(spCustC1, &ordersv1.ListSupportRequestsRequest{PageSize: 2, PageToken: next})
	eq("page 1", page1, ids[:2])
	eq("page 2", page2, ids[2:])
	if next == "" || last != "" {
		t.Errorf("tokens %q, %q", next, last)
	}
	_, err := s.client.ListSupportRequests(s.as(spAdminA), &ordersv1.ListSupportRequestsRequest{PageToken: next})
	spWantErr(t, err, errs.InvalidArgument, errs.ReasonInvalidPageToken)

	_, err = s.client.ListSupportRequests(s.as(spAdminA), &ordersv1.ListSupportRequestsRequest{
		States: []ordersv1.SupportRequestState{ordersv1.SupportRequestState_SUPPORT_REQUEST_STATE_UNSPECIFIED}})
	if e := spWantErr(t, err, errs.InvalidArgument, errs.ReasonInvalidRequest); len(e.Violations) != 1 || e.Violations[0].Field != "states[0]" {
		t.Errorf("violations %v", e.Violations)
	}
	_, err = s.client.ListSupportRequests(s.as(spCustC1), &ordersv1.ListSupportRequestsRequest{CustomerId: spPartnerB})
	spWantErr(t, err, errs.PermissionDenied, errs.ReasonTenantMismatch)
}
