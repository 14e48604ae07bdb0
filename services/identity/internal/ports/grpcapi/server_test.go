package grpcapi

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	idsql "github.com/partnerhub/partnerhub/services/identity/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/identity/internal/app"
	"github.com/partnerhub/partnerhub/services/identity/internal/domain"
	"github.com/partnerhub/partnerhub/services/identity/migrations"
)

// The mapping is engine-independent, so these tests run on SQLite only; the use cases and the
// repository are tested on both engines in their own packages.
func newTestServer(t *testing.T) *Server {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, testkit.SQLiteDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, migrations.FS, "identity_schema"); err != nil {
		t.Fatal(err)
	}
	markets, err := domain.ParseMarkets("")
	if err != nil {
		t.Fatal(err)
	}
	return &Server{app: app.New(idsql.New(db), clock.NewFake(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)), app.Options{
		Markets: markets, ServiceCredentials: map[string][]byte{"ops": domain.HashSecret("ops-secret-0123456789")},
	})}
}

func operatorCtx() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{
		Subject: "service:ops", OrgID: "partnerhub", OrgKind: auth.OrgService, Roles: []auth.Role{auth.Service},
	})
}

// Every RPC of PartnerService, UserService and TokenService is implemented: an empty request
// gets an answer of the use case (mostly INVALID_ARGUMENT), never UNIMPLEMENTED from the
// embedded forward-compatibility types.
func TestEveryRPCImplemented(t *testing.T) {
	s := newTestServer(t)
	for _, desc := range []grpc.ServiceDesc{
		identityv1.PartnerService_ServiceDesc, identityv1.UserService_ServiceDesc, identityv1.TokenService_ServiceDesc,
	} {
		for _, m := range desc.Methods {
			_, err := m.Handler(s, operatorCtx(), func(any) error { return nil }, nil)
			if status.Code(err) == codes.Unimplemented {
				t.Errorf("%s/%s is not implemented", desc.ServiceName, m.MethodName)
			}
		}
	}
}

func TestMapping_PartnerUserTokenRoundTrip(t *testing.T) {
	s := newTestServer(t)
	ctx := operatorCtx()
	created, err := s.CreatePartner(ctx, &identityv1.CreatePartnerRequest{
		LegalName: "Fabrikam", CountryCode: "DE",
		Programs: []identityv1.PartnerProgram{identityv1.PartnerProgram_PARTNER_PROGRAM_OPEN, identityv1.PartnerProgram_PARTNER_PROGRAM_CSP_DIRECT},
		Admin:    &identityv1.InitialAdmin{UserName: "ada@fabrikam.example", DisplayName: "Ada", Email: "ada@fabrikam.example"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if e := created.GetPartner().GetEnrolments(); len(e) != 2 || e[0].GetProgram() != identityv1.PartnerProgram_PARTNER_PROGRAM_CSP_DIRECT ||
		e[1].GetProgram() != identityv1.PartnerProgram_PARTNER_PROGRAM_OPEN {
		t.Errorf("enrolments %v", e)
	}
	if created.GetAdminClientSecret() == "" || created.GetAdminCredential().GetState() != identityv1.ApiCredentialState_API_CREDENTIAL_STATE_ACTIVE ||
		created.GetAdminCredential().GetLastUseTime() != nil || created.GetAdminCredential().GetRevokeTime() != nil {
		t.Errorf("credential %v", created.GetAdminCredential())
	}
	if r := created.GetAdminUser().GetRoles(); len(r) != 2 || r[0] != commonv1.Role_ROLE_ACCOUNT_ADMIN || r[1] != commonv1.Role_ROLE_GLOBAL_ADMIN {
		t.Errorf("admin roles %v", r)
	}

	// UNSPECIFIED and unknown enum values reach the app, which refuses them by field.
	_, err = s.CreatePartner(ctx, &identityv1.CreatePartnerRequest{
		LegalName: "X", CountryCode: "DE", Programs: []identityv1.PartnerProgram{0, 99},
		Admin: &identityv1.InitialAdmin{UserName: "x@x.example", DisplayName: "X", Email: "x@x.example"},
	})
	if e, ok := errs.As(err); !ok || len(e.Violations) != 2 || e.Violations[0].Field != "programs[0]" || e.Violations[1].Field != "programs[1]" {
		t.Errorf("UNSPECIFIED and unknown programs: %v", err)
	}
	listed, err := s.ListPartners(ctx, &identityv1.ListPartnersRequest{Program: identityv1.PartnerProgram_PARTNER_PROGRAM_OPEN})
	if err != nil || len(listed.GetPartners()) != 1 {
		t.Errorf("ListPartners(OPEN): %v, %v", listed, err)
	}

	// A service acting on behalf of the admin: on_behalf_of comes back on the access token.
	tok, err := s.IssueServiceToken(context.Background(), &identityv1.IssueServiceTokenRequest{
		ClientId: "svc_ops", ClientSecret: "ops-secret-0123456789", Lifetime: durationpb.New(5 * time.Minute),
		OnBehalfOf: &identityv1.Principal{
			Subject: created.GetAdminUser().GetUserId(), OrgId: created.GetPartner().GetPartnerId(),
			OrgKind: commonv1.OrgKind_ORG_KIND_PARTNER, Roles: []commonv1.Role{commonv1.Role_ROLE_GLOBAL_ADMIN},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	at := tok.GetAccessToken()
	if at.GetPrincipal().GetSubject() != "service:ops" || at.GetPrincipal().GetOrgKind() != commonv1.OrgKind_ORG_KIND_SERVICE ||
		at.GetOnBehalfOf().GetOrgId() != created.GetPartner().GetPartnerId() || at.GetTokenType() != "Bearer" ||
		at.GetExpireTime().AsTime().Sub(at.GetIssueTime().AsTime()) != 5*time.Minute {
		t.Errorf("access token %v", at)
	}
	user, err := s.IssueToken(context.Background(), &identityv1.IssueTokenRequest{
		ClientId: created.GetAdminCredential().GetClientId(), ClientSecret: created.GetAdminClientSecret(),
	})
	if err != nil || user.GetAccessToken().GetOnBehalfOf() != nil || user.GetAccessToken().GetPrincipal().GetOrgKind() != commonv1.OrgKind_ORG_KIND_PARTNER {
		t.Errorf("user token: %v, %v", user, err)
	}
	_, err = s.IssueToken(context.Background(), &identityv1.IssueTokenRequest{ClientId: "a", ClientSecret: "b", Lifetime: &durationpb.Duration{Seconds: 1, Nanos: -1}})
	if e, ok := errs.As(err); !ok || e.Violations[0].Field != "lifetime" {
		t.Errorf("invalid duration: %v", err)
	}

	// Users and credentials, with enum filters.
	admin := auth.WithPrincipal(context.Background(), auth.Principal{
		Subject: created.GetAdminUser().GetUserId(), OrgID: created.GetPartner().GetPartnerId(), OrgKind: auth.OrgPartner,
		Roles: []auth.Role{auth.AccountAdmin, auth.GlobalAdmin},
	})
	u, err := s.CreateUser(admin, &identityv1.CreateUserRequest{
		UserName: "bo@fabrikam.example", DisplayName: "Bo", Email: "bo@fabrikam.example",
		Roles: []commonv1.Role{commonv1.Role_ROLE_SALES_AGENT},
	})
	if err != nil || u.GetUser().GetState() != identityv1.UserState_USER_STATE_ACTIVE {
		t.Fatalf("CreateUser: %v, %v", u, err)
	}
	users, err := s.ListUsers(admin, &identityv1.ListUsersRequest{Role: commonv1.Role_ROLE_SALES_AGENT, State: identityv1.UserState_USER_STATE_ACTIVE})
	if err != nil || len(users.GetUsers()) != 1 || users.GetUsers()[0].GetUserName() != "bo@fabrikam.example" {
		t.Errorf("ListUsers: %v, %v", users, err)
	}
	_, err = s.CreateApiCredential(admin, &identityv1.CreateApiCredentialRequest{
		UserId: u.GetUser().GetUserId(), ExpireTime: &timestamppb.Timestamp{Seconds: 1, Nanos: 2_000_000_000},
	})
	if e, ok := errs.As(err); !ok || e.Violations[0].Field != "expire_time" {
		t.Errorf("invalid timestamp: %v", err)
	}
	c, err := s.CreateApiCredential(admin, &identityv1.CreateApiCredentialRequest{UserId: u.GetUser().GetUserId(), DisplayName: "job"})
	if err != nil || c.GetClientSecret() == "" {
		t.Fatalf("CreateApiCredential: %v", err)
	}
	if _, err := s.RevokeApiCredential(admin, &identityv1.RevokeApiCredentialRequest{CredentialId: c.GetCredential().GetCredentialId()}); err != nil {
		t.Fatal(err)
	}
	revoked, err := s.ListApiCredentials(admin, &identityv1.ListApiCredentialsRequest{
		UserId: u.GetUser().GetUserId(), State: identityv1.ApiCredentialState_API_CREDENTIAL_STATE_REVOKED,
	})
	if err != nil || len(revoked.GetCredentials()) != 1 || revoked.GetCredentials()[0].GetState() != identityv1.ApiCredentialState_API_CREDENTIAL_STATE_REVOKED ||
		revoked.GetCredentials()[0].GetRevokeTime() == nil {
		t.Errorf("ListApiCredentials(REVOKED): %v, %v", revoked, err)
	}
	d, err := s.DisableUser(admin, &identityv1.DisableUserRequest{UserId: u.GetUser().GetUserId()})
	if err != nil || d.GetUser().GetState() != identityv1.UserState_USER_STATE_DISABLED || d.GetUser().GetDisableTime() == nil {
		t.Errorf("DisableUser: %v, %v", d, err)
	}
}
