package grpcapi

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	delegatedadminv1 "github.com/partnerhub/partnerhub/gen/partnerhub/delegatedadmin/v1"
	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	dasql "github.com/partnerhub/partnerhub/services/delegatedadmin/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/internal/app"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/internal/domain"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/migrations"
)

const (
	partnerID  = "aaaaaaaa-0000-4000-8000-000000000001"
	customerID = "eeeeeeee-0000-4000-8000-000000000003"
)

type allowAll struct{}

func (allowAll) Partner(context.Context, string) (app.PartnerFacts, error) {
	return app.PartnerFacts{Exists: true, DelegatedAdminEligible: true}, nil
}

func (allowAll) ResellerRelationship(context.Context, string, string) (bool, error) { return true, nil }

// stack runs the service behind the real server stack (authentication, the contract's access
// rules, error mapping) on a fake clock, and mints tokens for callers.
type stack struct {
	client delegatedadminv1.DelegatedAdminServiceClient
	clock  *clock.Fake
	token  func(p auth.Principal) string
}

func newStack(t *testing.T) *stack {
	t.Helper()
	db := testkit.OpenDB(t, "sqlite::memory:", migrations.FS, "delegatedadmin_schema")
	clk := clock.NewFake(time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC))
	a := app.New(dasql.New(db), allowAll{}, clk, app.Options{ApprovalBaseURL: "https://partnerhub.example/delegated-admin/"})
	served := testkit.Serve(t, "delegatedadmin", func(gs *grpc.Server) { Register(gs, a) })
	return &stack{
		client: delegatedadminv1.NewDelegatedAdminServiceClient(served.Conn),
		clock:  clk,
		token:  func(p auth.Principal) string { return served.Token(t, p) },
	}
}

func (s *stack) as(p auth.Principal) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+s.token(p))
}

var (
	adminAgent  = auth.Principal{Subject: "u-admin", OrgID: partnerID, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent}}
	salesAgent  = auth.Principal{Subject: "u-sales", OrgID: partnerID, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.SalesAgent}}
	globalAdmin = auth.Principal{Subject: "u-ga", OrgID: customerID, OrgKind: auth.OrgCustomer, Roles: []auth.Role{auth.CustomerGlobalAdmin}}
	service     = auth.Principal{Subject: "svc_orders", OrgID: "orders", OrgKind: auth.OrgService, Roles: []auth.Role{auth.Service}}
)

func rid() string { return uuid.NewString() }

// The contract over the wire: an offer, its approval, the access check, and the lifecycle on the
// service clock, with every field mapped.
func TestServer_DA1_DA6_OverTheWire(t *testing.T) {
	s := newStack(t)
	created, err := s.client.CreateRelationship(s.as(adminAgent), &delegatedadminv1.CreateRelationshipRequest{
		RequestId: rid(), CustomerId: customerID, DisplayName: "Helpdesk", Message: "hi",
		Roles: []delegatedadminv1.AdminRole{
			delegatedadminv1.AdminRole_ADMIN_ROLE_TEAMS_ADMINISTRATOR, delegatedadminv1.AdminRole_ADMIN_ROLE_USER_ADMINISTRATOR,
		},
		DurationDays: 60,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := created.GetRelationship()
	now := s.clock.Now()
	if r.GetState() != delegatedadminv1.RelationshipState_RELATIONSHIP_STATE_PENDING || r.GetPartnerId() != partnerID ||
		r.GetApprovalLink() != "https://partnerhub.example/delegated-admin/"+r.GetRelationshipId() ||
		!reflect.DeepEqual(r.GetRoles(), []delegatedadminv1.AdminRole{delegatedadminv1.AdminRole_ADMIN_ROLE_USER_ADMINISTRATOR, delegatedadminv1.AdminRole_ADMIN_ROLE_TEAMS_ADMINISTRATOR}) ||
		!r.GetOfferExpireTime().AsTime().Equal(now.Add(90*24*time.Hour)) || r.GetActivateTime() != nil || r.GetEndTime() != nil ||
		r.GetTerminatedBy() != delegatedadminv1.Party_PARTY_UNSPECIFIED || r.GetEtag() == "" || r.GetCreatedByUserId() != "u-admin" {
		t.Fatalf("created %v", r)
	}
	approved, err := s.client.ApproveRelationship(s.as(globalAdmin), &delegatedadminv1.ApproveRelationshipRequest{
		RequestId: rid(), RelationshipId: r.GetRelationshipId(), Etag: r.GetEtag(),
	})
	if err != nil {
		t.Fatal(err)
	}
	end := now.Add(60 * 24 * time.Hour)
	if a := approved.GetRelationship(); a.GetState() != delegatedadminv1.RelationshipState_RELATIONSHIP_STATE_ACTIVE ||
		!a.GetEndTime().AsTime().Equal(end) || !a.GetActivateTime().AsTime().Equal(now) {
		t.Fatalf("approved %v", a)
	}
	check := func(role delegatedadminv1.AdminRole) *delegatedadminv1.CheckAccessResponse {
		t.Helper()
		resp, err := s.client.CheckAccess(s.as(service), &delegatedadminv1.CheckAccessRequest{PartnerId: partnerID, CustomerId: customerID, Role: role})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if a := check(delegatedadminv1.AdminRole_ADMIN_ROLE_USER_ADMINISTRATOR); !a.GetAllowed() || a.GetRelationshipId() != r.GetRelationshipId() ||
		!a.GetGrantEndTime().AsTime().Equal(end) || a.GetCacheTtl().AsDuration() != 30*time.Second ||
		a.GetDenialReason() != delegatedadminv1.AccessDenialReason_ACCESS_DENIAL_REASON_UNSPECIFIED {
		t.Errorf("allowed: %v", a)
	}
	if a := check(delegatedadminv1.AdminRole_ADMIN_ROLE_EXCHANGE_ADMINISTRATOR); a.GetAllowed() ||
		a.GetDenialReason() != delegatedadminv1.AccessDenialReason_ACCESS_DENIAL_REASON_ROLE_NOT_GRANTED || a.GetGrantEndTime() != nil {
		t.Errorf("role not granted: %v", a)
	}
	if _, err := s.clock.Set(end); err != nil {
		t.Fatal(err)
	}
	if a := check(delegatedadminv1.AdminRole_ADMIN_ROLE_USER_ADMINISTRATOR); a.GetAllowed() ||
		a.GetDenialReason() != delegatedadminv1.AccessDenialReason_ACCESS_DENIAL_REASON_EXPIRED {
		t.Errorf("at the end: %v", a)
	}
	got, err := s.client.GetRelationship(s.as(globalAdmin), &delegatedadminv1.GetRelationshipRequest{RelationshipId: r.GetRelationshipId()})
	if err != nil || got.GetRelationship().GetState() != delegatedadminv1.RelationshipState_RELATIONSHIP_STATE_EXPIRED ||
		!got.GetRelationship().GetCloseTime().AsTime().Equal(end) {
		t.Errorf("get at the end: %v, %v", got, err)
	}
	list, err := s.client.ListRelationships(s.as(adminAgent), &delegatedadminv1.ListRelationshipsRequest{
		States: []delegatedadminv1.RelationshipState{delegatedadminv1.RelationshipState_RELATIONSHIP_STATE_EXPIRED},
		Role:   delegatedadminv1.AdminRole_ADMIN_ROLE_TEAMS_ADMINISTRATOR,
	})
	if err != nil || len(list.GetRelationships()) != 1 {
		t.Errorf("list EXPIRED: %v, %v", list, err)
	}
}

// Errors reach the client with their kind, reason, metadata and field violations; the
// contract's access rule refuses a Sales agent before the use case runs.
func TestServer_ErrorsOverTheWire(t *testing.T) {
	s := newStack(t)
	_, err := s.client.CreateRelationship(s.as(adminAgent), &delegatedadminv1.CreateRelationshipRequest{
		RequestId: rid(), CustomerId: customerID, Roles: []delegatedadminv1.AdminRole{delegatedadminv1.AdminRole_ADMIN_ROLE_GLOBAL_READER},
		DurationDays: 731,
	})
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.InvalidArgument || e.Reason != domain.ReasonDurationOutOfRange || e.Metadata["max_days"] != "730" ||
		len(e.Violations) != 1 || e.Violations[0].Field != "duration_days" {
		t.Errorf("duration 731: %v", err)
	}
	_, err = s.client.CreateRelationship(s.as(adminAgent), &delegatedadminv1.CreateRelationshipRequest{
		RequestId: rid(), CustomerId: customerID, DurationDays: 30,
		Roles: []delegatedadminv1.AdminRole{delegatedadminv1.AdminRole_ADMIN_ROLE_UNSPECIFIED, delegatedadminv1.AdminRole(99)},
	})
	if e, ok := errs.As(err); !ok || e.Reason != errs.ReasonInvalidRequest || len(e.Violations) != 2 {
		t.Errorf("unspecified and unknown roles: %v", err)
	}
	_, err = s.client.CreateRelationship(s.as(salesAgent), &delegatedadminv1.CreateRelationshipRequest{
		RequestId: rid(), CustomerId: customerID, DurationDays: 30,
		Roles: []delegatedadminv1.AdminRole{delegatedadminv1.AdminRole_ADMIN_ROLE_GLOBAL_READER},
	})
	if errs.KindOf(err) != errs.PermissionDenied || errs.ReasonOf(err) != errs.ReasonRoleRequired {
		t.Errorf("sales agent: %v", err)
	}
	_, err = s.client.CheckAccess(s.as(service), &delegatedadminv1.CheckAccessRequest{PartnerId: partnerID, CustomerId: customerID})
	if e, ok := errs.As(err); !ok || e.Kind != errs.InvalidArgument || len(e.Violations) != 1 || e.Violations[0].Field != "role" {
		t.Errorf("unspecified role: %v", err)
	}
}

// Every enum value maps to the domain and back, and every reason the domain raises exists in
// the contract's ErrorReason.
func TestConvert_Enums(t *testing.T) {
	for v := range delegatedadminv1.AdminRole_name {
		r := delegatedadminv1.AdminRole(v)
		if r == delegatedadminv1.AdminRole_ADMIN_ROLE_UNSPECIFIED {
			if roleOf(r).Valid() {
				t.Error("UNSPECIFIED maps to a valid role")
			}
			continue
		}
		if !roleOf(r).Valid() || rolePB(roleOf(r)) != r {
			t.Errorf("%s does not round-trip", r)
		}
		if domain.RoleIndex(roleOf(r)) != int(v)-1 {
			t.Errorf("%s is at position %d of AllRoles, want %d (role masks are persisted)", r, domain.RoleIndex(roleOf(r)), v-1)
		}
	}
	if len(domain.AllRoles()) != len(delegatedadminv1.AdminRole_name)-1 {
		t.Errorf("the domain has %d roles, the contract %d", len(domain.AllRoles()), len(delegatedadminv1.AdminRole_name)-1)
	}
	if roleOf(delegatedadminv1.AdminRole(99)).Valid() {
		t.Error("an unknown number maps to a valid role")
	}
	for _, st := range domain.AllStates() {
		if pb := statePB(st); pb == delegatedadminv1.RelationshipState_RELATIONSHIP_STATE_UNSPECIFIED || stateOf(pb) != st {
			t.Errorf("state %s does not round-trip", st)
		}
	}
	for _, p := range []domain.Party{domain.PartyPartner, domain.PartyCustomer} {
		if partyPB(p) == delegatedadminv1.Party_PARTY_UNSPECIFIED {
			t.Errorf("party %s has no contract value", p)
		}
	}
	for _, d := range []domain.Denial{domain.DenialNoRelationship, domain.DenialPending, domain.DenialExpired,
		domain.DenialTerminated, domain.DenialRejected, domain.DenialRoleNotGranted} {
		if denialPB(d) == delegatedadminv1.AccessDenialReason_ACCESS_DENIAL_REASON_UNSPECIFIED {
			t.Errorf("denial %s has no contract value", d)
		}
	}
	for _, r := range []errs.Reason{domain.ReasonNotEligible, domain.ReasonRelationshipRequired, domain.ReasonRelationshipNotActive,
		domain.ReasonDurationOutOfRange, domain.ReasonOfferNotPending} {
		if _, ok := commonv1.ErrorReason_value["ERROR_REASON_"+string(r)]; !ok {
			t.Errorf("reason %s is not in partnerhub.common.v1.ErrorReason", r)
		}
	}
}
