package grpcapi_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	subsql "github.com/partnerhub/partnerhub/services/subscriptions/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/app"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/ports/grpcapi"
	"github.com/partnerhub/partnerhub/services/subscriptions/migrations"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const (
	partnerID  = "aaaaaaaa-0000-4000-8000-000000000001"
	partner2ID = "bbbbbbbb-0000-4000-8000-000000000002" // takes customerID's subscriptions over
	customerID = "dddddddd-0000-4000-8000-000000000004"
)

// rels: both partners resell to the customer, all in one country.
type rels struct{}

func (rels) Relationship(_ context.Context, p, c string) (app.Relationship, error) {
	active := (p == partnerID || p == partner2ID) && c == customerID
	return app.Relationship{Active: active, CustomerCountry: "DE", PartnerCountry: "DE"}, nil
}

// catalog sells every SKU.
type catalog struct{}

func (catalog) Sku(_ context.Context, id string) (domain.SkuInfo, error) {
	return domain.SkuInfo{ID: id, MaxQuantity: 100}, nil
}

type stack struct {
	t         *testing.T
	srv       *testkit.Served
	clock     *clock.Fake
	subs      subscriptionsv1.SubscriptionServiceClient
	prov      subscriptionsv1.ProvisioningServiceClient
	events    subscriptionsv1.EventServiceClient
	transfers subscriptionsv1.TransferServiceClient
}

func newStack(t *testing.T) *stack {
	db := testkit.OpenDB(t, testkit.SQLiteDSN(t), migrations.FS, "subscriptions_schema")
	s := &stack{t: t, clock: clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))}
	a := app.New(subsql.New(db, domain.NextDue), s.clock, rels{}, catalog{}, app.Options{})
	s.srv = testkit.Serve(t, "subscriptions", func(gs *grpc.Server) { grpcapi.Register(gs, a, 50*time.Millisecond) })
	s.subs = subscriptionsv1.NewSubscriptionServiceClient(s.srv.Conn)
	s.prov = subscriptionsv1.NewProvisioningServiceClient(s.srv.Conn)
	s.events = subscriptionsv1.NewEventServiceClient(s.srv.Conn)
	s.transfers = subscriptionsv1.NewTransferServiceClient(s.srv.Conn)
	return s
}

var (
	adminAgent = auth.Principal{Subject: "u-admin", OrgID: partnerID, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent}}
	// accountAdmin2 is the Account admin of the partner that takes subscriptions over.
	accountAdmin2 = auth.Principal{Subject: "u-acc2", OrgID: partner2ID, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AccountAdmin}}
)

func (s *stack) as(p auth.Principal) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	s.t.Cleanup(cancel)
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+s.srv.Token(s.t, p))
}

func (s *stack) saga() context.Context {
	obo := adminAgent
	return s.as(auth.Principal{Subject: "svc_orders", OrgID: "partnerhub", OrgKind: auth.OrgService, Roles: []auth.Role{auth.Service}, OnBehalfOf: &obo})
}

func (s *stack) provision(mod ...func(*subscriptionsv1.ProvisionSubscriptionRequest)) *subscriptionsv1.Subscription {
	s.t.Helper()
	resp, err := s.prov.ProvisionSubscription(s.saga(), s.provisionRequest(mod...))
	if err != nil {
		s.t.Fatalf("ProvisionSubscription: %v", err)
	}
	return resp.GetSubscription()
}

// provisionRequest is a ProvisionSubscription step of a CSP Windows Server subscription, changed by mod.
func (s *stack) provisionRequest(mod ...func(*subscriptionsv1.ProvisionSubscriptionRequest)) *subscriptionsv1.ProvisionSubscriptionRequest {
	req := &subscriptionsv1.ProvisionSubscriptionRequest{
		RequestId: uuid.NewString(), OrderId: "order-1", OrderLineId: "1", CustomerId: customerID, PartnerId: partnerID,
		SkuId: "DG7GMGF0D7FV:0001", ProductId: "DG7GMGF0D7FV", DisplayName: "Windows Server 2022 Standard",
		ProductKind: subscriptionsv1.ProductKind_PRODUCT_KIND_SOFTWARE_SUBSCRIPTION, Channel: subscriptionsv1.Channel_CHANNEL_CSP,
		Quantity: 4, MaxQuantity: 100, BillingPlan: subscriptionsv1.BillingPlan_BILLING_PLAN_ANNUAL, TermDuration: "P1Y",
		UnitPrice:              &commonv1.Money{AmountMinor: 36500, CurrencyCode: "EUR"},
		CancellationPolicy:     subscriptionsv1.CancellationPolicy_CANCELLATION_POLICY_PRORATED_REFUND_WINDOW,
		CancellationWindowDays: 7, AutoRenew: true,
	}
	for _, m := range mod {
		m(req)
	}
	return req
}

func wantStatus(t *testing.T, err error, code codes.Code, reason string) *status.Status {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != code {
		t.Fatalf("status %v, want %s %s", err, code, reason)
	}
	if reason != "" {
		got := ""
		for _, d := range st.Details() {
			if info, ok := d.(*errdetails.ErrorInfo); ok {
				got = info.GetReason()
			}
		}
		if got != reason {
			t.Fatalf("reason %q (%v), want %s", got, err, reason)
		}
	}
	return st
}

func metadataOf(st *status.Status) map[string]string {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetMetadata()
		}
	}
	return nil
}

// A provisioned subscription reads back with every figure the contract promises: term, lifecycle
// dates (SU-2, SU-3), cancellation window with its refund (SU-10), lots and etag.
func TestServer_ProvisionAndRead(t *testing.T) {
	s := newStack(t)
	sub := s.provision()
	got, err := s.subs.GetSubscription(s.as(adminAgent), &subscriptionsv1.GetSubscriptionRequest{SubscriptionId: sub.GetSubscriptionId()})
	if err != nil {
		t.Fatal(err)
	}
	g := got.GetSubscription()
	start, end := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), time.Date(2027, 3, 2, 0, 0, 0, 0, time.UTC)
	lc, c := g.GetLifecycle(), g.GetCancellation()
	switch {
	case g.GetState() != subscriptionsv1.SubscriptionState_SUBSCRIPTION_STATE_ACTIVE, g.GetReadOnly(),
		!g.GetTermStartTime().AsTime().Equal(start), !g.GetTermEndTime().AsTime().Equal(end):
		t.Errorf("subscription %v", g)
	case lc.GetNextStep() != subscriptionsv1.LifecycleStep_LIFECYCLE_STEP_RENEWAL_REMINDER, len(lc.GetReminders()) != 4,
		!lc.GetDeleteTime().AsTime().Equal(end.AddDate(0, 0, 120)), !lc.GetRenewTime().AsTime().Equal(end):
		t.Errorf("lifecycle %v", lc)
	case !c.GetWindowEndTime().AsTime().Equal(start.AddDate(0, 0, 7)), c.GetWindowPassed(),
		c.GetRefundIfCancelledNow().GetAmountMinor() != -146000: // the whole term on its first day
		t.Errorf("cancellation %v", c)
	case len(g.GetSeatLots()) != 1 || !g.GetSeatLots()[0].GetRefundable() || g.GetRefundableQuantity() != 4 || g.GetEtag() == "":
		t.Errorf("lots %v refundable %d etag %q", g.GetSeatLots(), g.GetRefundableQuantity(), g.GetEtag())
	}
}

// Bad input gets a clear error and changes nothing (issue 5, acceptance 4): quantity ≤ 0 or
// above the maximum INVALID_ARGUMENT with the field, an unknown subscription NOT_FOUND, a stale
// etag ABORTED; a closed window FAILED_PRECONDITION with its end in the metadata.
func TestServer_BadInput(t *testing.T) {
	s := newStack(t)
	sub := s.provision()
	ctx := s.as(adminAgent)
	id := sub.GetSubscriptionId()
	for _, q := range []int32{0, -3, 101} {
		_, err := s.subs.ChangeQuantity(ctx, &subscriptionsv1.ChangeQuantityRequest{RequestId: uuid.NewString(), SubscriptionId: id, Quantity: q})
		st := wantStatus(t, err, codes.InvalidArgument, "")
		var field string
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
				field = br.GetFieldViolations()[0].GetField()
			}
		}
		if field != "quantity" {
			t.Errorf("quantity %d: field violation on %q, want quantity", q, field)
		}
	}
	_, err := s.subs.GetSubscription(ctx, &subscriptionsv1.GetSubscriptionRequest{SubscriptionId: uuid.NewString()})
	wantStatus(t, err, codes.NotFound, "RESOURCE_NOT_FOUND")
	_, err = s.subs.GetSubscription(ctx, &subscriptionsv1.GetSubscriptionRequest{SubscriptionId: "sub-1"})
	wantStatus(t, err, codes.InvalidArgument, "")
	_, err = s.subs.SuspendSubscription(ctx, &subscriptionsv1.SuspendSubscriptionRequest{RequestId: uuid.NewString(),
		SubscriptionId: id, Etag: "v0"})
	wantStatus(t, err, codes.Aborted, "ETAG_MISMATCH")

	if _, err := s.clock.Advance(8 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	_, err = s.subs.CancelSubscription(ctx, &subscriptionsv1.CancelSubscriptionRequest{RequestId: uuid.NewString(), SubscriptionId: id})
	st := wantStatus(t, err, codes.FailedPrecondition, "CANCELLATION_WINDOW_CLOSED")
	if metadataOf(st)["window_end"] != "2026-03-09T00:00:00Z" {
		t.Errorf("metadata %v, want window_end 2026-03-09T00:00:00Z", metadataOf(st))
	}
	p, err := s.subs.PreviewCancellation(ctx, &subscriptionsv1.PreviewCancellationRequest{SubscriptionId: id})
	if err != nil || p.GetCancellable() || p.GetRefusalReason() != commonv1.ErrorReason_ERROR_REASON_CANCELLATION_WINDOW_CLOSED {
		t.Errorf("PreviewCancellation %v %v", p, err)
	}
	after, err := s.subs.GetSubscription(ctx, &subscriptionsv1.GetSubscriptionRequest{SubscriptionId: id})
	if err != nil || after.GetSubscription().GetEtag() != sub.GetEtag() || after.GetSubscription().GetQuantity() != 4 {
		t.Errorf("the refused calls changed the subscription: %v %v", after, err)
	}
}

// ID-2: licensed_user_ids of ProvisionSubscription become the subscription's licensed users; bad
// ones are INVALID_ARGUMENT on that field; ChangeQuantity keeps a seat for each licensed user.
func TestServer_LicensedUsers_ID2(t *testing.T) {
	s := newStack(t)
	admin := uuid.NewString()
	sub := s.provision(func(r *subscriptionsv1.ProvisionSubscriptionRequest) { r.LicensedUserIds = []string{admin} })
	ctx := s.as(adminAgent)
	got, err := s.subs.GetSubscription(ctx, &subscriptionsv1.GetSubscriptionRequest{SubscriptionId: sub.GetSubscriptionId()})
	if err != nil || len(got.GetSubscription().GetLicensedUserIds()) != 1 || got.GetSubscription().GetLicensedUserIds()[0] != admin {
		t.Fatalf("licensed users %v, %v; want [%s]", got.GetSubscription().GetLicensedUserIds(), err, admin)
	}
	_, err = s.prov.ProvisionSubscription(s.saga(), s.provisionRequest(func(r *subscriptionsv1.ProvisionSubscriptionRequest) {
		r.LicensedUserIds = []string{admin, admin}
	}))
	st := wantStatus(t, err, codes.InvalidArgument, "INVALID_REQUEST")
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			if v := br.GetFieldViolations(); len(v) != 1 || v[0].GetField() != "licensed_user_ids" {
				t.Errorf("field violations %v, want one on licensed_user_ids", v)
			}
		}
	}
	_, err = s.subs.ChangeQuantity(ctx, &subscriptionsv1.ChangeQuantityRequest{RequestId: uuid.NewString(),
		SubscriptionId: sub.GetSubscriptionId(), Quantity: 1})
	if err != nil {
		t.Fatalf("4 → 1 seat with 1 licensed user: %v", err)
	}
	two := s.provision(func(r *subscriptionsv1.ProvisionSubscriptionRequest) {
		r.LicensedUserIds = []string{admin, uuid.NewString()}
	})
	_, err = s.subs.ChangeQuantity(ctx, &subscriptionsv1.ChangeQuantityRequest{RequestId: uuid.NewString(),
		SubscriptionId: two.GetSubscriptionId(), Quantity: 1})
	st = wantStatus(t, err, codes.FailedPrecondition, "QUANTITY_DECREASE_NOT_ALLOWED")
	if metadataOf(st)["licensed_users"] != "2" {
		t.Errorf("metadata %v, want licensed_users 2", metadataOf(st))
	}
}

// WatchEvents streams the stored events, then new ones as they happen, in sequence order.
func TestServer_WatchEvents(t *testing.T) {
	s := newStack(t)
	first := s.provision()
	ctx, cancel := context.WithCancel(s.as(adminAgent))
	defer cancel()
	stream, err := s.events.WatchEvents(ctx, &subscriptionsv1.WatchEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	e1, err := stream.Recv()
	if err != nil || e1.GetEvent().GetSubscriptionId() != first.GetSubscriptionId() ||
		e1.GetEvent().GetEventType() != subscriptionsv1.SubscriptionEventType_SUBSCRIPTION_EVENT_TYPE_CREATED {
		t.Fatalf("first event %v %v", e1, err)
	}
	second := s.provision()
	e2, err := stream.Recv()
	if err != nil || e2.GetEvent().GetSubscriptionId() != second.GetSubscriptionId() || e2.GetEvent().GetSequence() <= e1.GetEvent().GetSequence() {
		t.Fatalf("second event %v %v", e2, err)
	}
	list, err := s.events.ListEvents(s.as(adminAgent), &subscriptionsv1.ListEventsRequest{AfterSequence: e1.GetEvent().GetSequence()})
	if err != nil || len(list.GetEvents()) != 1 || list.GetLastSequence() != e2.GetEvent().GetSequence() {
		t.Errorf("ListEvents after the first: %v %v", list, err)
	}
}

// Every RPC of every subscriptions service is implemented, TransferService's included (issue 5):
// none answers UNIMPLEMENTED (or fails inside).
func TestServer_EveryRPCImplemented(t *testing.T) {
	s := newStack(t)
	ctx := s.as(adminAgent)
	saga := s.saga()
	id := s.provision().GetSubscriptionId()
	calls := map[string]func() error{
		"GetSubscription": func() error {
			_, err := s.subs.GetSubscription(ctx, &subscriptionsv1.GetSubscriptionRequest{SubscriptionId: id})
			return err
		},
		"ListSubscriptions": func() error {
			_, err := s.subs.ListSubscriptions(ctx, &subscriptionsv1.ListSubscriptionsRequest{})
			return err
		},
		"ChangeQuantity": func() error {
			_, err := s.subs.ChangeQuantity(ctx, &subscriptionsv1.ChangeQuantityRequest{RequestId: uuid.NewString(), SubscriptionId: id, Quantity: 5})
			return err
		},
		"PreviewQuantityChange": func() error {
			_, err := s.subs.PreviewQuantityChange(ctx, &subscriptionsv1.PreviewQuantityChangeRequest{SubscriptionId: id, Quantity: 6})
			return err
		},
		"SetAutoRenew": func() error {
			_, err := s.subs.SetAutoRenew(ctx, &subscriptionsv1.SetAutoRenewRequest{RequestId: uuid.NewString(), SubscriptionId: id})
			return err
		},
		"SuspendSubscription": func() error {
			_, err := s.subs.SuspendSubscription(ctx, &subscriptionsv1.SuspendSubscriptionRequest{RequestId: uuid.NewString(), SubscriptionId: id})
			return err
		},
		"ReactivateSubscription": func() error {
			_, err := s.subs.ReactivateSubscription(ctx, &subscriptionsv1.ReactivateSubscriptionRequest{RequestId: uuid.NewString(), SubscriptionId: id})
			return err
		},
		"PreviewCancellation": func() error {
			_, err := s.subs.PreviewCancellation(ctx, &subscriptionsv1.PreviewCancellationRequest{SubscriptionId: id})
			return err
		},
		"CancelSubscription": func() error {
			_, err := s.subs.CancelSubscription(ctx, &subscriptionsv1.CancelSubscriptionRequest{RequestId: uuid.NewString(), SubscriptionId: id})
			return err
		},
		"PreviewChannelConversion": func() error {
			_, err := s.subs.PreviewChannelConversion(ctx, &subscriptionsv1.PreviewChannelConversionRequest{SubscriptionId: id,
				TargetChannel: subscriptionsv1.Channel_CHANNEL_OPEN})
			return err
		},
		"ConvertChannel": func() error {
			_, err := s.subs.ConvertChannel(ctx, &subscriptionsv1.ConvertChannelRequest{RequestId: uuid.NewString(), SubscriptionId: id,
				TargetChannel: subscriptionsv1.Channel_CHANNEL_OPEN})
			return err
		},
		"ProvisionSubscription": func() error { s.provision(); return nil },
		"RenewSubscription": func() error {
			_, err := s.prov.RenewSubscription(saga, &subscriptionsv1.RenewSubscriptionRequest{RequestId: uuid.NewString(),
				SubscriptionId: id, OrderId: "o", TermDuration: "P1Y"})
			return err
		},
		"CompensateProvisioning": func() error {
			_, err := s.prov.CompensateProvisioning(saga, &subscriptionsv1.CompensateProvisioningRequest{RequestId: uuid.NewString(),
				StepRequestId: uuid.NewString()})
			return err
		},
		"CheckTenantCapacity": func() error {
			resp, err := s.prov.CheckTenantCapacity(saga, &subscriptionsv1.CheckTenantCapacityRequest{
				CustomerId: uuid.NewString(), Requested: 1})
			if err == nil && (!resp.GetAllowed() || resp.GetLimit() < 1) {
				return fmt.Errorf("capacity of a new tenant = %v", resp)
			}
			return err
		},
		"ListEvents": func() error {
			_, err := s.events.ListEvents(ctx, &subscriptionsv1.ListEventsRequest{})
			return err
		},
		"CreateTransfer": func() error {
			_, err := s.transfers.CreateTransfer(s.as(accountAdmin2), &subscriptionsv1.CreateTransferRequest{RequestId: uuid.NewString(),
				CustomerId: customerID, SourcePartnerId: partnerID,
				Items: []*subscriptionsv1.TransferItemSpec{{SubscriptionId: s.provision().GetSubscriptionId()}}})
			return err
		},
		"GetTransfer": func() error {
			_, err := s.transfers.GetTransfer(ctx, &subscriptionsv1.GetTransferRequest{TransferId: uuid.NewString()})
			return err
		},
		"AcceptTransfer": func() error {
			_, err := s.transfers.AcceptTransfer(ctx, &subscriptionsv1.AcceptTransferRequest{RequestId: uuid.NewString(),
				TransferId: uuid.NewString()})
			return err
		},
		"CancelTransfer": func() error {
			_, err := s.transfers.CancelTransfer(ctx, &subscriptionsv1.CancelTransferRequest{RequestId: uuid.NewString(),
				TransferId: uuid.NewString()})
			return err
		},
		"ListTransfers": func() error {
			_, err := s.transfers.ListTransfers(ctx, &subscriptionsv1.ListTransfersRequest{})
			return err
		},
	}
	for _, sd := range []grpc.ServiceDesc{subscriptionsv1.SubscriptionService_ServiceDesc,
		subscriptionsv1.ProvisioningService_ServiceDesc, subscriptionsv1.EventService_ServiceDesc,
		subscriptionsv1.TransferService_ServiceDesc} {
		for _, m := range sd.Methods {
			call, ok := calls[m.MethodName]
			if !ok {
				t.Errorf("%s.%s is not called by this test", sd.ServiceName, m.MethodName)
				continue
			}
			if err := call(); status.Code(err) == codes.Unimplemented || status.Code(err) == codes.Internal || status.Code(err) == codes.Unknown {
				t.Errorf("%s.%s: %v", sd.ServiceName, m.MethodName, err)
			}
		}
	}
}

// A direct move over the wire (SU-12..SU-14): the target's Account admin creates the transfer,
// the source's Admin agent accepts it with its etag; the contract's enums, figures and errors
// come back as documented.
func TestServer_TransferDirectMove(t *testing.T) {
	s := newStack(t)
	sub := s.provision()
	target, source := s.as(accountAdmin2), s.as(adminAgent)
	created, err := s.transfers.CreateTransfer(target, &subscriptionsv1.CreateTransferRequest{RequestId: uuid.NewString(),
		CustomerId: customerID, SourcePartnerId: partnerID, Note: "welcome",
		Items: []*subscriptionsv1.TransferItemSpec{{SubscriptionId: sub.GetSubscriptionId()}}})
	if err != nil {
		t.Fatal(err)
	}
	tr := created.GetTransfer()
	lim := tr.GetTenantLimit()
	if tr.GetState() != subscriptionsv1.TransferState_TRANSFER_STATE_PENDING ||
		tr.GetMethod() != subscriptionsv1.TransferMethod_TRANSFER_METHOD_DIRECT_MOVE || tr.GetTargetPartnerId() != partner2ID ||
		lim.GetLimit() != 300 || lim.GetActive() != 1 || lim.GetPeak() != 2 || tr.GetRepurchaseDeadlineTime() != nil ||
		tr.GetEtag() == "" || tr.GetCreatedByUserId() != "u-acc2" || len(tr.GetItems()) != 1 ||
		tr.GetItems()[0].GetState() != subscriptionsv1.TransferItemState_TRANSFER_ITEM_STATE_PENDING ||
		tr.GetItems()[0].GetQuantity() != 4 || tr.GetItems()[0].GetSourceTermEndTime() == nil {
		t.Fatalf("created %v", tr)
	}
	got, err := s.subs.GetSubscription(source, &subscriptionsv1.GetSubscriptionRequest{SubscriptionId: sub.GetSubscriptionId()})
	if err != nil || got.GetSubscription().GetPendingTransferId() != tr.GetTransferId() {
		t.Errorf("source subscription %v %v, want pending_transfer_id", got, err)
	}
	_, err = s.transfers.AcceptTransfer(target, &subscriptionsv1.AcceptTransferRequest{RequestId: uuid.NewString(),
		TransferId: tr.GetTransferId()})
	wantStatus(t, err, codes.PermissionDenied, "TENANT_MISMATCH")
	acc, err := s.transfers.AcceptTransfer(source, &subscriptionsv1.AcceptTransferRequest{RequestId: uuid.NewString(),
		TransferId: tr.GetTransferId(), Etag: tr.GetEtag()})
	if err != nil {
		t.Fatal(err)
	}
	done := acc.GetTransfer()
	if done.GetState() != subscriptionsv1.TransferState_TRANSFER_STATE_COMPLETED || done.GetCompleteTime() == nil ||
		done.GetItems()[0].GetState() != subscriptionsv1.TransferItemState_TRANSFER_ITEM_STATE_MOVED ||
		done.GetItems()[0].GetTargetSubscriptionId() == "" || done.GetDecidedByUserId() != "u-admin" {
		t.Fatalf("accepted %v", done)
	}
	_, err = s.transfers.CancelTransfer(target, &subscriptionsv1.CancelTransferRequest{RequestId: uuid.NewString(),
		TransferId: tr.GetTransferId()})
	if md := metadataOf(wantStatus(t, err, codes.FailedPrecondition, "TRANSFER_NOT_PENDING")); md["state"] != "COMPLETED" {
		t.Errorf("metadata %v, want state COMPLETED", md)
	}
	list, err := s.transfers.ListTransfers(target, &subscriptionsv1.ListTransfersRequest{
		Direction: subscriptionsv1.TransferDirection_TRANSFER_DIRECTION_INCOMING,
		States:    []subscriptionsv1.TransferState{subscriptionsv1.TransferState_TRANSFER_STATE_COMPLETED}})
	if err != nil || len(list.GetTransfers()) != 1 || list.GetTransfers()[0].GetTransferId() != tr.GetTransferId() {
		t.Errorf("ListTransfers %v %v", list, err)
	}
	_, err = s.transfers.GetTransfer(s.as(auth.Principal{Subject: "c", OrgID: customerID, OrgKind: auth.OrgCustomer,
		Roles: []auth.Role{auth.CustomerGlobalAdmin}}), &subscriptionsv1.GetTransferRequest{TransferId: tr.GetTransferId()})
	wantStatus(t, err, codes.NotFound, "RESOURCE_NOT_FOUND")
	_, err = s.transfers.CreateTransfer(target, &subscriptionsv1.CreateTransferRequest{RequestId: uuid.NewString(), CustomerId: "x"})
	wantStatus(t, err, codes.InvalidArgument, "INVALID_REQUEST")
}
