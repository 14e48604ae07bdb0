package grpcapi_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	keysql "github.com/partnerhub/partnerhub/services/keys/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/keys/internal/app"
	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
	"github.com/partnerhub/partnerhub/services/keys/internal/ports/grpcapi"
	"github.com/partnerhub/partnerhub/services/keys/internal/sealing"
	"github.com/partnerhub/partnerhub/services/keys/migrations"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const (
	partnerID  = "aaaaaaaa-0000-4000-8000-000000000001"
	customerID = "dddddddd-0000-4000-8000-000000000004"
	linkBase   = "https://dl.example.test/d/"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// rels: the partner resells to the customer.
type rels struct{}

func (rels) Related(_ context.Context, p, c string) (bool, error) {
	return p == partnerID && c == customerID, nil
}

// programs: the partner is enrolled in Open (ID-1), nobody else.
type programs struct{}

func (programs) OpenEnrolled(_ context.Context, p string) (bool, error) { return p == partnerID, nil }

type stack struct {
	t        *testing.T
	srv      *testkit.Served
	clock    *clock.Fake
	ents     keysv1.EntitlementServiceClient
	activity keysv1.ActivityLogServiceClient
	products keysv1.ProductKeyServiceClient
}

func newStack(t *testing.T) *stack {
	db := testkit.OpenDB(t, testkit.SQLiteDSN(t), migrations.FS, "keys_schema")
	keyring, err := sealing.NewKeyring("k1", map[string][]byte{"k1": bytes.Repeat([]byte{7}, sealing.KeyringKeySize)})
	if err != nil {
		t.Fatal(err)
	}
	links, err := sealing.NewLinkSigner("l1", map[string][]byte{"l1": bytes.Repeat([]byte{9}, sealing.MinLinkKeySize)})
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{t: t, clock: clock.NewFake(t0)}
	a := app.New(keysql.New(db), s.clock, rels{}, keyring, links, app.Options{LinkBase: linkBase,
		LookupKey: bytes.Repeat([]byte{5}, sealing.MinLookupKeySize), Programs: programs{}})
	s.srv = testkit.Serve(t, "keys", func(gs *grpc.Server) { grpcapi.Register(gs, a) })
	s.ents = keysv1.NewEntitlementServiceClient(s.srv.Conn)
	s.activity = keysv1.NewActivityLogServiceClient(s.srv.Conn)
	s.products = keysv1.NewProductKeyServiceClient(s.srv.Conn)
	return s
}

var (
	adminAgent    = auth.Principal{Subject: "u-admin", OrgID: partnerID, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent}}
	globalAdmin   = auth.Principal{Subject: "u-global", OrgID: partnerID, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.GlobalAdmin}}
	customerAdmin = auth.Principal{Subject: "u-cust", OrgID: customerID, OrgKind: auth.OrgCustomer,
		Roles: []auth.Role{auth.CustomerGlobalAdmin}}
)

func (s *stack) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	s.t.Cleanup(cancel)
	return ctx
}

func (s *stack) as(p auth.Principal) context.Context {
	return metadata.AppendToOutgoingContext(s.ctx(), "authorization", "Bearer "+s.srv.Token(s.t, p))
}

// saga is the order saga: the orders service acting for the partner's Admin agent.
func (s *stack) saga() context.Context {
	obo := adminAgent
	return s.as(auth.Principal{Subject: "svc_orders", OrgID: "partnerhub", OrgKind: auth.OrgService,
		Roles: []auth.Role{auth.Service}, OnBehalfOf: &obo})
}

// anonymous is a caller without a token (ResolveDownloadLink is public: the link is the credential).
func (s *stack) anonymous() context.Context { return s.ctx() }

func (s *stack) tick() {
	s.t.Helper()
	if _, err := s.clock.Advance(time.Second); err != nil {
		s.t.Fatal(err)
	}
}

func issueRequest(orderID string) *keysv1.IssueEntitlementsRequest {
	return &keysv1.IssueEntitlementsRequest{
		RequestId: uuid.NewString(), OrderId: orderID, OrderLineId: uuid.NewString(), CustomerId: customerID,
		PartnerId: partnerID, SkuId: "DG7GMGF0D7FV:0001", ProductId: "DG7GMGF0D7FV",
		ProductName: "Windows Server 2022 Standard", Quantity: 4, KeyType: keysv1.KeyType_KEY_TYPE_MAK, KeyCount: 2,
		DownloadVariants: []*keysv1.DownloadVariant{
			{VariantId: "de-iso", Version: "2022", Language: "de-DE", FileType: "ISO", OperatingSystem: "Windows x64",
				FileName: "SW_DVD9_Win_Server_2022_German.ISO", SizeBytes: 5 << 30, Sha256: "ab"},
			{VariantId: "en-iso", Version: "2022", Language: "en-US", FileType: "ISO", OperatingSystem: "Windows x64",
				FileName: "SW_DVD9_Win_Server_2022_English.ISO", SizeBytes: 5 << 30, Sha256: "cd"},
		},
		InstallationInstructions: "Mount the ISO and run setup.exe",
	}
}

func (s *stack) issue(orderID string) *keysv1.Entitlement {
	s.t.Helper()
	resp, err := s.ents.IssueEntitlements(s.saga(), issueRequest(orderID))
	if err != nil {
		s.t.Fatalf("IssueEntitlements: %v", err)
	}
	return resp.GetEntitlement()
}

func (s *stack) link(e *keysv1.Entitlement) *keysv1.DownloadLink {
	s.t.Helper()
	resp, err := s.ents.CreateDownloadLink(s.as(adminAgent), &keysv1.CreateDownloadLinkRequest{RequestId: uuid.NewString(),
		EntitlementId: e.GetEntitlementId(), VariantId: "de-iso", Ttl: durationpb.New(2 * time.Hour)})
	if err != nil {
		s.t.Fatalf("CreateDownloadLink: %v", err)
	}
	return resp.GetLink()
}

func details(st *status.Status) (reason string, fields []string) {
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			reason = d.GetReason()
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return reason, fields
}

// wantStatus checks an error's code and reason ("" for any).
func wantStatus(t *testing.T, err error, code codes.Code, reason string) *status.Status {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != code {
		t.Fatalf("status %v, want %s %s", err, code, reason)
	}
	if got, _ := details(st); reason != "" && got != reason {
		t.Fatalf("reason %q (%v), want %s", got, err, reason)
	}
	return st
}

// wantField checks an INVALID_ARGUMENT naming field.
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	st := wantStatus(t, err, codes.InvalidArgument, "")
	if _, fields := details(st); len(fields) != 1 || fields[0] != field {
		t.Fatalf("field violations %q (%v), want %s", fields, err, field)
	}
}

// The saga issues an order line's entitlement; the partner lists it, narrows its downloads,
// reveals a key and creates a link; a downloader resolves the link; the log shows the three
// actions with who, what, when and from where (KD-3…KD-8).
func TestServer_IssueRevealDownloadFlow(t *testing.T) {
	s := newStack(t)
	orderID := uuid.NewString()
	req := issueRequest(orderID)
	issued, err := s.ents.IssueEntitlements(s.saga(), req)
	if err != nil {
		t.Fatal(err)
	}
	e := issued.GetEntitlement()
	switch {
	case e.GetState() != keysv1.EntitlementState_ENTITLEMENT_STATE_ACTIVE,
		e.GetFulfilmentKind() != keysv1.FulfilmentKind_FULFILMENT_KIND_KEY_AND_DOWNLOAD,
		e.GetCustomerId() != customerID, e.GetPartnerId() != partnerID, e.GetOrderId() != orderID,
		e.GetOrderLineId() != req.GetOrderLineId(), e.GetSkuId() != req.GetSkuId(), e.GetQuantity() != 4,
		len(e.GetKeys()) != 2, len(e.GetDownloadVariants()) != 2, e.GetInstallationInstructions() != req.GetInstallationInstructions(),
		e.GetEtag() != "v1", !e.GetCreateTime().AsTime().Equal(t0), e.GetRevokeTime() != nil,
		e.GetRevocationReason() != keysv1.RevocationReason_REVOCATION_REASON_UNSPECIFIED:
		t.Fatalf("issued %v", e)
	}
	for _, k := range e.GetKeys() {
		if k.GetKeyType() != keysv1.KeyType_KEY_TYPE_MAK || !strings.HasPrefix(k.GetMaskedKey(), "*****-*****-*****-*****-") ||
			len(k.GetMaskedKey()) != 29 || k.GetActivationLimit() != 4 || k.GetKeyId() == "" {
			t.Errorf("key %v", k)
		}
	}
	// The saga's retry of the step returns the same entitlement.
	again, err := s.ents.IssueEntitlements(s.saga(), req)
	if err != nil || again.GetEntitlement().GetEntitlementId() != e.GetEntitlementId() {
		t.Fatalf("retried IssueEntitlements %v %v", again, err)
	}

	for _, who := range []auth.Principal{adminAgent, customerAdmin} {
		list, err := s.ents.ListSoftware(s.as(who), &keysv1.ListSoftwareRequest{CustomerId: customerID})
		if err != nil || len(list.GetEntitlements()) != 1 || list.GetEntitlements()[0].GetEntitlementId() != e.GetEntitlementId() ||
			len(list.GetEntitlements()[0].GetKeys()) != 2 || list.GetNextPageToken() != "" {
			t.Fatalf("ListSoftware as %s: %v %v", who.Subject, list, err)
		}
	}

	opts, err := s.ents.GetDownloadOptions(s.as(customerAdmin), &keysv1.GetDownloadOptionsRequest{
		EntitlementId: e.GetEntitlementId(), Language: "de-DE"})
	if err != nil {
		t.Fatal(err)
	}
	if o := opts.GetOptions(); len(o.GetLanguages()) != 2 || len(o.GetVersions()) != 1 || len(o.GetFileTypes()) != 1 ||
		len(o.GetOperatingSystems()) != 1 || len(opts.GetVariants()) != 1 || opts.GetVariants()[0].GetVariantId() != "de-iso" ||
		opts.GetInstallationInstructions() != req.GetInstallationInstructions() || len(opts.GetKeys()) != 2 {
		t.Fatalf("GetDownloadOptions %v", opts)
	}

	s.tick()
	masked := e.GetKeys()[0]
	rev, err := s.ents.RevealKey(s.as(adminAgent), &keysv1.RevealKeyRequest{RequestId: uuid.NewString(), KeyId: masked.GetKeyId()})
	if err != nil {
		t.Fatal(err)
	}
	k, err := domain.ParseKey(rev.GetKey())
	if err != nil || k.Reveal() != rev.GetKey() || k.Masked() != masked.GetMaskedKey() || rev.GetKeyId() != masked.GetKeyId() ||
		rev.GetKeyType() != keysv1.KeyType_KEY_TYPE_MAK || rev.GetEntitlementId() != e.GetEntitlementId() || rev.GetActivityId() == "" {
		t.Fatalf("RevealKey: key of %d characters, masked %q, %v (%v)", len(rev.GetKey()), k.Masked(), err,
			[]string{rev.GetKeyId(), rev.GetKeyType().String(), rev.GetEntitlementId(), rev.GetActivityId()})
	}

	s.tick()
	l := s.link(e)
	if !strings.HasPrefix(l.GetUrl(), linkBase) || l.GetLinkId() == "" || l.GetEntitlementId() != e.GetEntitlementId() ||
		l.GetVariantId() != "de-iso" || l.GetCreatedByUserId() != "u-admin" ||
		!l.GetExpireTime().AsTime().Equal(t0.Add(2*time.Second+2*time.Hour)) || !l.GetCreateTime().AsTime().Equal(t0.Add(2*time.Second)) {
		t.Fatalf("link %v", l)
	}

	s.tick()
	d, err := s.ents.ResolveDownloadLink(s.anonymous(), &keysv1.ResolveDownloadLinkRequest{RequestId: uuid.NewString(),
		Link: l.GetUrl(), ClientAddress: "203.0.113.7:50123", UserAgent: "Mozilla/5.0 (test)"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(d.GetFetchUrl(), "/SW_DVD9_Win_Server_2022_German.ISO") || d.GetVariant().GetVariantId() != "de-iso" ||
		d.GetVariant().GetSizeBytes() != 5<<30 || d.GetEntitlementId() != e.GetEntitlementId() || d.GetActivityId() == "" ||
		!d.GetFetchExpireTime().AsTime().After(t0) {
		t.Fatalf("resolved %v", d)
	}
	// Without the front end's address and user agent the call's own are recorded.
	s.tick()
	if _, err := s.ents.ResolveDownloadLink(s.as(customerAdmin), &keysv1.ResolveDownloadLinkRequest{RequestId: uuid.NewString(),
		Link: l.GetUrl()}); err != nil {
		t.Fatal(err)
	}

	log, err := s.activity.ListActivity(s.as(globalAdmin), withRange(&keysv1.ListActivityRequest{
		StartTime: timestamppb.New(t0), EndTime: timestamppb.New(t0.Add(time.Hour))}))
	if err != nil {
		t.Fatal(err)
	}
	recs := log.GetRecords()
	if len(recs) != 4 {
		t.Fatalf("ListActivity: %d records %v", len(recs), recs)
	}
	r := recs[0]
	a := r.GetActor()
	if r.GetAction() != keysv1.ActivityAction_ACTIVITY_ACTION_KEY_REVEALED || r.GetActivityId() != rev.GetActivityId() ||
		r.GetKeyId() != masked.GetKeyId() || r.GetMaskedKey() != masked.GetMaskedKey() || r.GetCustomerId() != customerID ||
		r.GetEntitlementId() != e.GetEntitlementId() || r.GetProductName() != req.GetProductName() ||
		!r.GetOccurTime().AsTime().Equal(t0.Add(time.Second)) || !strings.HasPrefix(r.GetPeerAddress(), "127.0.0.1:") ||
		!strings.Contains(r.GetUserAgent(), "grpc-go") || r.GetRefusalReason() != commonv1.ErrorReason_ERROR_REASON_UNSPECIFIED ||
		a.GetUserId() != "u-admin" || a.GetOrgId() != partnerID || a.GetOrgKind() != commonv1.OrgKind_ORG_KIND_PARTNER ||
		len(a.GetRoles()) != 1 || a.GetRoles()[0] != commonv1.Role_ROLE_ADMIN_AGENT {
		t.Errorf("reveal record %v", r)
	}
	if strings.Contains(log.String(), rev.GetKey()) {
		t.Error("the activity log holds the whole key")
	}
	if r := recs[1]; r.GetAction() != keysv1.ActivityAction_ACTIVITY_ACTION_DOWNLOAD_LINK_CREATED || r.GetLinkId() != l.GetLinkId() ||
		r.GetVariantId() != "de-iso" || r.GetKeyId() != "" || r.GetMaskedKey() != "" {
		t.Errorf("link record %v", r)
	}
	if r := recs[2]; r.GetAction() != keysv1.ActivityAction_ACTIVITY_ACTION_DOWNLOAD_STARTED || r.GetActivityId() != d.GetActivityId() ||
		r.GetPeerAddress() != "203.0.113.7:50123" || r.GetUserAgent() != "Mozilla/5.0 (test)" || r.GetLinkId() != l.GetLinkId() ||
		r.GetActor().GetUserId() != "" || r.GetActor().GetOrgKind() != commonv1.OrgKind_ORG_KIND_UNSPECIFIED {
		t.Errorf("anonymous download record %v", r)
	}
	if r := recs[3]; r.GetAction() != keysv1.ActivityAction_ACTIVITY_ACTION_DOWNLOAD_STARTED ||
		!strings.HasPrefix(r.GetPeerAddress(), "127.0.0.1:") || !strings.Contains(r.GetUserAgent(), "grpc-go") ||
		r.GetActor().GetUserId() != "u-cust" || r.GetActor().GetOrgKind() != commonv1.OrgKind_ORG_KIND_CUSTOMER ||
		r.GetActor().GetRoles()[0] != commonv1.Role_ROLE_CUSTOMER_GLOBAL_ADMIN {
		t.Errorf("customer download record %v", r)
	}

	// Filters: actions, customer, range, paging.
	only, err := s.activity.ListActivity(s.as(globalAdmin), withRange(&keysv1.ListActivityRequest{CustomerId: customerID,
		Actions: []keysv1.ActivityAction{keysv1.ActivityAction_ACTIVITY_ACTION_DOWNLOAD_LINK_CREATED}}))
	if err != nil || len(only.GetRecords()) != 1 || only.GetRecords()[0].GetLinkId() != l.GetLinkId() {
		t.Errorf("ListActivity by action %v %v", only, err)
	}
	later, err := s.activity.ListActivity(s.as(globalAdmin), withRange(&keysv1.ListActivityRequest{StartTime: timestamppb.New(t0.Add(3 * time.Second))}))
	if err != nil || len(later.GetRecords()) != 2 {
		t.Errorf("ListActivity from the download on %v %v", later, err)
	}
	page, err := s.activity.ListActivity(s.as(globalAdmin), withRange(&keysv1.ListActivityRequest{PageSize: 3}))
	if err != nil || len(page.GetRecords()) != 3 || page.GetNextPageToken() == "" {
		t.Fatalf("first page %v %v", page, err)
	}
	rest, err := s.activity.ListActivity(s.as(globalAdmin), withRange(&keysv1.ListActivityRequest{PageSize: 3, PageToken: page.GetNextPageToken()}))
	if err != nil || len(rest.GetRecords()) != 1 || rest.GetRecords()[0].GetActivityId() != recs[3].GetActivityId() || rest.GetNextPageToken() != "" {
		t.Errorf("second page %v %v", rest, err)
	}
}

// Bad input gets a clear error: malformed IDs INVALID_ARGUMENT naming the field, an unknown
// entitlement NOT_FOUND, a KMS key FAILED_PRECONDITION / KMS_NOT_ALLOWED (CA-8), a reversed or
// invalid date range and bad enums or durations INVALID_ARGUMENT.
func TestServer_BadInput(t *testing.T) {
	s := newStack(t)
	e := s.issue(uuid.NewString())
	agent := s.as(adminAgent)

	_, err := s.ents.RevealKey(agent, &keysv1.RevealKeyRequest{RequestId: uuid.NewString(), KeyId: "key-1"})
	wantField(t, err, "key_id")
	_, err = s.ents.GetDownloadOptions(agent, &keysv1.GetDownloadOptionsRequest{EntitlementId: "ent-1"})
	wantField(t, err, "entitlement_id")
	_, err = s.ents.CreateDownloadLink(agent, &keysv1.CreateDownloadLinkRequest{RequestId: uuid.NewString(), EntitlementId: "x",
		VariantId: "de-iso"})
	wantField(t, err, "entitlement_id")
	_, err = s.ents.ListSoftware(agent, &keysv1.ListSoftwareRequest{CustomerId: "cust-1"})
	wantField(t, err, "customer_id")
	req := issueRequest("order-1")
	_, err = s.ents.IssueEntitlements(s.saga(), req)
	wantField(t, err, "order_id")
	_, err = s.ents.RevokeEntitlements(s.saga(), &keysv1.RevokeEntitlementsRequest{RequestId: uuid.NewString(), OrderId: "o"})
	wantField(t, err, "order_id")

	_, err = s.ents.GetDownloadOptions(agent, &keysv1.GetDownloadOptionsRequest{EntitlementId: uuid.NewString()})
	wantStatus(t, err, codes.NotFound, "RESOURCE_NOT_FOUND")
	_, err = s.ents.RevealKey(agent, &keysv1.RevealKeyRequest{RequestId: uuid.NewString(), KeyId: uuid.NewString()})
	wantStatus(t, err, codes.NotFound, "RESOURCE_NOT_FOUND")
	_, err = s.ents.CreateDownloadLink(agent, &keysv1.CreateDownloadLinkRequest{RequestId: uuid.NewString(),
		EntitlementId: e.GetEntitlementId(), VariantId: "no-such-variant"})
	wantStatus(t, err, codes.NotFound, "RESOURCE_NOT_FOUND")

	kms := issueRequest(uuid.NewString())
	kms.KeyType, kms.KeyCount = keysv1.KeyType_KEY_TYPE_KMS, 0
	_, err = s.ents.IssueEntitlements(s.saga(), kms)
	wantStatus(t, err, codes.FailedPrecondition, "KMS_NOT_ALLOWED")
	card := issueRequest(uuid.NewString())
	card.KeyType, card.KeyCount = keysv1.KeyType_KEY_TYPE_PRODUCT_KEY_CARD, 0
	_, err = s.ents.IssueEntitlements(s.saga(), card)
	wantField(t, err, "key_type")
	unknown := issueRequest(uuid.NewString())
	unknown.KeyType = 99
	_, err = s.ents.IssueEntitlements(s.saga(), unknown)
	wantField(t, err, "key_type")

	reader := s.as(globalAdmin)
	_, err = s.activity.ListActivity(reader, withRange(&keysv1.ListActivityRequest{StartTime: timestamppb.New(t0.Add(time.Hour)),
		EndTime: timestamppb.New(t0)}))
	wantField(t, err, "end_time")
	_, err = s.activity.ListActivity(reader, withRange(&keysv1.ListActivityRequest{StartTime: &timestamppb.Timestamp{Seconds: 1, Nanos: -1}}))
	wantField(t, err, "start_time")
	_, err = s.activity.ListActivity(reader, withRange(&keysv1.ListActivityRequest{Actions: []keysv1.ActivityAction{42}}))
	wantField(t, err, "actions")
	_, err = s.activity.ListActivity(reader, withRange(&keysv1.ListActivityRequest{CustomerId: "c"}))
	wantField(t, err, "customer_id")
	_, err = s.activity.ListActivity(reader, withRange(&keysv1.ListActivityRequest{PageToken: "garbage"}))
	wantStatus(t, err, codes.InvalidArgument, "INVALID_PAGE_TOKEN")
	_, err = s.activity.ListActivity(agent, withRange(&keysv1.ListActivityRequest{}))
	wantStatus(t, err, codes.PermissionDenied, "ROLE_REQUIRED")

	for _, ttl := range []*durationpb.Duration{durationpb.New(-time.Minute), {Seconds: 1, Nanos: -1}, durationpb.New(8 * 24 * time.Hour)} {
		_, err = s.ents.CreateDownloadLink(agent, &keysv1.CreateDownloadLinkRequest{RequestId: uuid.NewString(),
			EntitlementId: e.GetEntitlementId(), VariantId: "de-iso", Ttl: ttl})
		wantField(t, err, "ttl")
	}
	_, err = s.ents.ListSoftware(agent, &keysv1.ListSoftwareRequest{CustomerId: customerID, State: 7})
	wantField(t, err, "state")
	_, err = s.ents.RevokeEntitlements(s.saga(), &keysv1.RevokeEntitlementsRequest{RequestId: uuid.NewString(),
		OrderId: e.GetOrderId(), Reason: 42})
	wantField(t, err, "reason")
	_, err = s.ents.ResolveDownloadLink(s.anonymous(), &keysv1.ResolveDownloadLinkRequest{RequestId: uuid.NewString(),
		Link: linkBase + "not-a-token"})
	wantStatus(t, err, codes.InvalidArgument, "LINK_INVALID")

	// The access rules of the contract apply before the handler.
	_, err = s.ents.IssueEntitlements(agent, issueRequest(uuid.NewString()))
	wantStatus(t, err, codes.PermissionDenied, "SERVICE_TOKEN_REQUIRED")

	// None of it changed the entitlement.
	list, err := s.ents.ListSoftware(agent, &keysv1.ListSoftwareRequest{CustomerId: customerID})
	if err != nil || len(list.GetEntitlements()) != 1 || list.GetEntitlements()[0].GetEtag() != e.GetEtag() {
		t.Errorf("after the refused calls: %v %v", list, err)
	}
}

// After RevokeEntitlements (OR-3, KD-7) a key is not revealed, a link is refused (and the refusal
// recorded), and ListSoftware still lists the item, REVOKED, with its keys masked.
func TestServer_Revocation(t *testing.T) {
	s := newStack(t)
	e := s.issue(uuid.NewString())
	kept := s.issue(uuid.NewString()) // another order's: untouched
	l := s.link(e)
	s.tick()

	rv, err := s.ents.RevokeEntitlements(s.saga(), &keysv1.RevokeEntitlementsRequest{RequestId: uuid.NewString(),
		OrderId: e.GetOrderId(), Reason: keysv1.RevocationReason_REVOCATION_REASON_ORDER_COMPENSATED})
	if err != nil {
		t.Fatal(err)
	}
	if len(rv.GetEntitlements()) != 1 || rv.GetRevokedLinkCount() != 1 {
		t.Fatalf("RevokeEntitlements %v", rv)
	}
	r := rv.GetEntitlements()[0]
	if r.GetEntitlementId() != e.GetEntitlementId() || r.GetState() != keysv1.EntitlementState_ENTITLEMENT_STATE_REVOKED ||
		r.GetRevocationReason() != keysv1.RevocationReason_REVOCATION_REASON_ORDER_COMPENSATED ||
		!r.GetRevokeTime().AsTime().Equal(t0.Add(time.Second)) || r.GetEtag() == e.GetEtag() {
		t.Fatalf("revoked %v", r)
	}
	again, err := s.ents.RevokeEntitlements(s.saga(), &keysv1.RevokeEntitlementsRequest{RequestId: uuid.NewString(),
		OrderId: e.GetOrderId()})
	if err != nil || len(again.GetEntitlements()) != 1 || again.GetRevokedLinkCount() != 0 ||
		again.GetEntitlements()[0].GetEtag() != r.GetEtag() {
		t.Errorf("revoking again %v %v", again, err)
	}

	_, err = s.ents.RevealKey(s.as(adminAgent), &keysv1.RevealKeyRequest{RequestId: uuid.NewString(), KeyId: e.GetKeys()[0].GetKeyId()})
	wantStatus(t, err, codes.FailedPrecondition, "ENTITLEMENT_REVOKED")
	_, err = s.ents.ResolveDownloadLink(s.anonymous(), &keysv1.ResolveDownloadLinkRequest{RequestId: uuid.NewString(), Link: l.GetUrl()})
	wantStatus(t, err, codes.FailedPrecondition, "ENTITLEMENT_REVOKED")
	_, err = s.ents.CreateDownloadLink(s.as(adminAgent), &keysv1.CreateDownloadLinkRequest{RequestId: uuid.NewString(),
		EntitlementId: e.GetEntitlementId(), VariantId: "de-iso"})
	wantStatus(t, err, codes.FailedPrecondition, "ENTITLEMENT_REVOKED")
	_, err = s.ents.GetDownloadOptions(s.as(adminAgent), &keysv1.GetDownloadOptionsRequest{EntitlementId: e.GetEntitlementId()})
	wantStatus(t, err, codes.FailedPrecondition, "ENTITLEMENT_REVOKED")

	list, err := s.ents.ListSoftware(s.as(customerAdmin), &keysv1.ListSoftwareRequest{})
	if err != nil || len(list.GetEntitlements()) != 2 {
		t.Fatalf("ListSoftware %v %v", list, err)
	}
	for _, got := range list.GetEntitlements() {
		if got.GetEntitlementId() != e.GetEntitlementId() {
			continue
		}
		// Listed, without its keys (OR-3, KD-7).
		if got.GetState() != keysv1.EntitlementState_ENTITLEMENT_STATE_REVOKED || len(got.GetKeys()) != 0 ||
			len(got.GetDownloadVariants()) != 2 {
			t.Errorf("revoked item %v", got)
		}
	}
	for state, want := range map[keysv1.EntitlementState]string{
		keysv1.EntitlementState_ENTITLEMENT_STATE_REVOKED: e.GetEntitlementId(),
		keysv1.EntitlementState_ENTITLEMENT_STATE_ACTIVE:  kept.GetEntitlementId(),
	} {
		l, err := s.ents.ListSoftware(s.as(adminAgent), &keysv1.ListSoftwareRequest{CustomerId: customerID, State: state})
		if err != nil || len(l.GetEntitlements()) != 1 || l.GetEntitlements()[0].GetEntitlementId() != want {
			t.Errorf("ListSoftware %s: %v %v", state, l, err)
		}
	}

	log, err := s.activity.ListActivity(s.as(globalAdmin), withRange(&keysv1.ListActivityRequest{
		Actions: []keysv1.ActivityAction{keysv1.ActivityAction_ACTIVITY_ACTION_DOWNLOAD_REFUSED}}))
	if err != nil || len(log.GetRecords()) != 1 ||
		log.GetRecords()[0].GetRefusalReason() != commonv1.ErrorReason_ERROR_REASON_ENTITLEMENT_REVOKED ||
		log.GetRecords()[0].GetLinkId() != l.GetLinkId() {
		t.Errorf("refusal record %v %v", log, err)
	}
}

// Every RPC of EntitlementService, ProductKeyService and ActivityLogService is implemented: none
// answers UNIMPLEMENTED (or fails inside).
func TestServer_EveryRPCImplemented(t *testing.T) {
	s := newStack(t)
	agent := s.as(adminAgent)
	e := s.issue(uuid.NewString())
	l := s.link(e)
	cards := s.mint(3)
	keys := s.keysOf(cards)
	toConfirm, toRelease := s.reserve(keys[0]), s.reserve(keys[1])
	calls := map[string]func() error{
		"IssueEntitlements": func() error {
			_, err := s.ents.IssueEntitlements(s.saga(), issueRequest(uuid.NewString()))
			return err
		},
		"RevokeEntitlements": func() error {
			_, err := s.ents.RevokeEntitlements(s.saga(), &keysv1.RevokeEntitlementsRequest{RequestId: uuid.NewString(),
				OrderId: uuid.NewString()})
			return err
		},
		"ListSoftware": func() error {
			_, err := s.ents.ListSoftware(agent, &keysv1.ListSoftwareRequest{CustomerId: customerID})
			return err
		},
		"GetDownloadOptions": func() error {
			_, err := s.ents.GetDownloadOptions(agent, &keysv1.GetDownloadOptionsRequest{EntitlementId: e.GetEntitlementId()})
			return err
		},
		"RevealKey": func() error {
			_, err := s.ents.RevealKey(agent, &keysv1.RevealKeyRequest{RequestId: uuid.NewString(), KeyId: e.GetKeys()[0].GetKeyId()})
			return err
		},
		"CreateDownloadLink": func() error {
			_, err := s.ents.CreateDownloadLink(agent, &keysv1.CreateDownloadLinkRequest{RequestId: uuid.NewString(),
				EntitlementId: e.GetEntitlementId(), VariantId: "en-iso"})
			return err
		},
		"ResolveDownloadLink": func() error {
			_, err := s.ents.ResolveDownloadLink(s.anonymous(), &keysv1.ResolveDownloadLinkRequest{RequestId: uuid.NewString(),
				Link: l.GetUrl()})
			return err
		},
		"ListActivity": func() error {
			_, err := s.activity.ListActivity(s.as(globalAdmin), withRange(&keysv1.ListActivityRequest{}))
			return err
		},
		"MintKeyCards": func() error {
			_, err := s.products.MintKeyCards(agent, mintRequest(1))
			return err
		},
		"ListKeyCards": func() error {
			_, err := s.products.ListKeyCards(s.as(salesAgent), &keysv1.ListKeyCardsRequest{})
			return err
		},
		"ValidateProductKeys": func() error {
			_, err := s.products.ValidateProductKeys(s.as(customerAdmin), &keysv1.ValidateProductKeysRequest{ProductKeys: keys})
			return err
		},
		"ReserveProductKeys": func() error {
			_, err := s.products.ReserveProductKeys(s.service(), &keysv1.ReserveProductKeysRequest{RequestId: uuid.NewString(),
				RedemptionId: uuid.NewString(), ProductKeys: keys[2:]})
			return err
		},
		"ConfirmRedemption": func() error {
			_, err := s.products.ConfirmRedemption(s.service(), &keysv1.ConfirmRedemptionRequest{RequestId: uuid.NewString(),
				ReservationId: toConfirm.GetReservationId(), CustomerId: customerID, SubscriptionId: uuid.NewString()})
			return err
		},
		"ReleaseReservation": func() error {
			_, err := s.products.ReleaseReservation(s.service(), &keysv1.ReleaseReservationRequest{RequestId: uuid.NewString(),
				ReservationId: toRelease.GetReservationId()})
			return err
		},
	}
	for _, sd := range []grpc.ServiceDesc{keysv1.EntitlementService_ServiceDesc, keysv1.ProductKeyService_ServiceDesc,
		keysv1.ActivityLogService_ServiceDesc} {
		for _, m := range sd.Methods {
			call, ok := calls[m.MethodName]
			if !ok {
				t.Errorf("%s.%s is not called by this test", sd.ServiceName, m.MethodName)
				continue
			}
			if err := call(); err != nil {
				t.Errorf("%s.%s: %v", sd.ServiceName, m.MethodName, err)
			}
		}
	}
}

// withRange gives a ListActivity request the range of the tests' first two days where it has no
// start or end of its own (both are required).
func withRange(r *keysv1.ListActivityRequest) *keysv1.ListActivityRequest {
	if r.StartTime == nil {
		r.StartTime = timestamppb.New(t0.Add(-time.Hour))
	}
	if r.EndTime == nil {
		r.EndTime = timestamppb.New(t0.Add(48 * time.Hour))
	}
	return r
}
