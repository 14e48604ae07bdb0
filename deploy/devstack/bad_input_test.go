package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	delegatedadminv1 "github.com/partnerhub/partnerhub/gen/partnerhub/delegatedadmin/v1"
	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
)

// details returns the ErrorInfo reason and the BadRequest field names of a gRPC error.
func details(err error) (reason string, fields []string) {
	for _, d := range status.Convert(err).Details() {
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

// Bad input over the wire — malformed country, domain, UUID, duration, roles — gets
// INVALID_ARGUMENT naming the bad field, and changes nothing: the caller's customers, users and
// delegated-admin relationships are the same afterwards. A well-formed country that is not a
// market is a different answer: FAILED_PRECONDITION COUNTRY_NOT_SUPPORTED (ID-3).
func TestBadInput_InvalidArgumentChangesNothing(t *testing.T) {
	s := theSuite(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := s.newPartner(ctx, t, "Bad Input GmbH", "DE")
	agent := s.newUser(ctx, t, p, "bad-"+rid()[:8]+".example", commonv1.Role_ROLE_ADMIN_AGENT)
	c := s.newCustomer(ctx, t, agent.token, "Bad Input Kunde", "DE")
	actx := as(ctx, agent.token)

	customer := func(mod func(r *identityv1.CreateCustomerRequest)) func() error {
		return func() error {
			r := &identityv1.CreateCustomerRequest{RequestId: rid(), OrganisationName: "Fine Org", CountryCode: "DE",
				DomainPrefix: "fine" + rid()[:6], Admin: &identityv1.InitialAdmin{DisplayName: "Admin", Email: "a@fine.example"}}
			mod(r)
			_, err := s.customers().CreateCustomer(actx, r)
			return err
		}
	}
	offer := func(mod func(r *delegatedadminv1.CreateRelationshipRequest)) func() error {
		return func() error {
			r := &delegatedadminv1.CreateRelationshipRequest{RequestId: rid(), CustomerId: c.id, DurationDays: 90,
				Roles: []delegatedadminv1.AdminRole{delegatedadminv1.AdminRole_ADMIN_ROLE_USER_ADMINISTRATOR}}
			mod(r)
			_, err := s.delegated().CreateRelationship(actx, r)
			return err
		}
	}
	user := func(roles ...commonv1.Role) func() error {
		return func() error {
			_, err := s.users().CreateUser(as(ctx, p.adminToken), &identityv1.CreateUserRequest{RequestId: rid(), OrgId: p.id,
				UserName: "x" + rid()[:8] + "@bad.example", DisplayName: "X", Email: "x@bad.example", Roles: roles})
			return err
		}
	}
	for _, tc := range []struct {
		name   string
		call   func() error
		code   codes.Code
		reason string
		field  string
	}{
		{"country not ISO alpha-2", customer(func(r *identityv1.CreateCustomerRequest) { r.CountryCode = "Germany" }), codes.InvalidArgument, "INVALID_REQUEST", "country_code"},
		{"country lower case", customer(func(r *identityv1.CreateCustomerRequest) { r.CountryCode = "de" }), codes.InvalidArgument, "INVALID_REQUEST", "country_code"},
		{"country well-formed but not a market (ID-3)", customer(func(r *identityv1.CreateCustomerRequest) { r.CountryCode = "KP" }), codes.FailedPrecondition, "COUNTRY_NOT_SUPPORTED", ""},
		{"domain prefix with symbols", customer(func(r *identityv1.CreateCustomerRequest) { r.DomainPrefix = "bad_prefix!" }), codes.InvalidArgument, "INVALID_REQUEST", "domain_prefix"},
		{"domain prefix starting with a digit", customer(func(r *identityv1.CreateCustomerRequest) { r.DomainPrefix = "1contoso" }), codes.InvalidArgument, "INVALID_REQUEST", "domain_prefix"},
		{"domain prefix too long", customer(func(r *identityv1.CreateCustomerRequest) { r.DomainPrefix = "abcdefghijklmnopqrstuvwxyz01" }), codes.InvalidArgument, "INVALID_REQUEST", "domain_prefix"},
		{"request_id not a UUID", customer(func(r *identityv1.CreateCustomerRequest) { r.RequestId = "retry-1" }), codes.InvalidArgument, "INVALID_REQUEST", "request_id"},
		{"customer ID not a UUID", func() error {
			_, err := s.customers().GetCustomer(actx, &identityv1.GetCustomerRequest{CustomerId: "contoso"})
			return err
		}, codes.InvalidArgument, "INVALID_REQUEST", "customer_id"},
		{"user ID not a UUID", func() error {
			_, err := s.users().GetUser(actx, &identityv1.GetUserRequest{UserId: "jane"})
			return err
		}, codes.InvalidArgument, "INVALID_REQUEST", "user_id"},
		{"partner ID not a UUID", func() error {
			_, err := s.partners().GetPartner(actx, &identityv1.GetPartnerRequest{PartnerId: "partner-1"})
			return err
		}, codes.InvalidArgument, "INVALID_REQUEST", "partner_id"},
		{"credential ID not a UUID", func() error {
			_, err := s.users().RevokeApiCredential(as(ctx, p.adminToken), &identityv1.RevokeApiCredentialRequest{RequestId: rid(), CredentialId: "phc_1"})
			return err
		}, codes.InvalidArgument, "INVALID_REQUEST", "credential_id"},
		{"duration above 730 days (DA-5)", offer(func(r *delegatedadminv1.CreateRelationshipRequest) { r.DurationDays = 731 }), codes.InvalidArgument, "DURATION_OUT_OF_RANGE", "duration_days"},
		{"duration of 0 days with roles (DA-5)", offer(func(r *delegatedadminv1.CreateRelationshipRequest) { r.DurationDays = 0 }), codes.InvalidArgument, "DURATION_OUT_OF_RANGE", "duration_days"},
		{"auto-extend neither 0 nor 180 (DA-5)", offer(func(r *delegatedadminv1.CreateRelationshipRequest) { r.AutoExtendDays = 90 }), codes.InvalidArgument, "DURATION_OUT_OF_RANGE", "auto_extend_days"},
		{"offer without roles", offer(func(r *delegatedadminv1.CreateRelationshipRequest) { r.Roles = nil }), codes.InvalidArgument, "INVALID_REQUEST", "roles"},
		{"offer with a duplicate role", offer(func(r *delegatedadminv1.CreateRelationshipRequest) { r.Roles = append(r.Roles, r.Roles[0]) }), codes.InvalidArgument, "INVALID_REQUEST", "roles"},
		{"offer for a malformed customer ID", offer(func(r *delegatedadminv1.CreateRelationshipRequest) { r.CustomerId = "C-1" }), codes.InvalidArgument, "INVALID_REQUEST", "customer_id"},
		{"user without roles", user(), codes.InvalidArgument, "INVALID_REQUEST", "roles"},
		{"user with the SERVICE role", user(commonv1.Role_ROLE_SERVICE), codes.InvalidArgument, "INVALID_REQUEST", "roles"},
		{"partner user with a customer role", user(commonv1.Role_ROLE_CUSTOMER_USER), codes.InvalidArgument, "INVALID_REQUEST", "roles"},
		{"CheckAccess without a role", func() error {
			_, err := s.delegated().CheckAccess(actx, &delegatedadminv1.CheckAccessRequest{PartnerId: p.id, CustomerId: c.id})
			return err
		}, codes.InvalidArgument, "INVALID_REQUEST", "role"},
		{"partner in a malformed country", func() error {
			_, err := s.partners().CreatePartner(as(ctx, s.operator), &identityv1.CreatePartnerRequest{RequestId: rid(), LegalName: "X", CountryCode: "D1",
				Admin: &identityv1.InitialAdmin{UserName: "a@x" + rid()[:6] + ".example", DisplayName: "A", Email: "a@x.example"}})
			return err
		}, codes.InvalidArgument, "INVALID_REQUEST", "country_code"},
	} {
		before := snapshot(ctx, t, s, actx, p.id)
		err := tc.call()
		reason, fields := details(err)
		if status.Code(err) != tc.code || reason != tc.reason || (tc.field != "" && !slices.ContainsFunc(fields, func(f string) bool {
			return f == tc.field || strings.HasPrefix(f, tc.field+"[") || strings.HasPrefix(f, tc.field+".")
		})) {
			t.Errorf("%s: %v (reason %s, fields %v); want %v %s on %q", tc.name, err, reason, fields, tc.code, tc.reason, tc.field)
		}
		if after := snapshot(ctx, t, s, actx, p.id); after != before {
			t.Errorf("%s changed something: %+v → %+v", tc.name, before, after)
		}
	}
}

// counts is what a partner's agent can count of its world.
type counts struct{ customers, users, offers, partners int }

func snapshot(ctx context.Context, t *testing.T, s *tenancySuite, actx context.Context, partnerID string) counts {
	t.Helper()
	cs, err := s.customers().ListCustomers(actx, &identityv1.ListCustomersRequest{PageSize: 500})
	if err != nil {
		t.Fatal(err)
	}
	us, err := s.users().ListUsers(actx, &identityv1.ListUsersRequest{PageSize: 500, OrgId: partnerID})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := s.delegated().ListRelationships(actx, &delegatedadminv1.ListRelationshipsRequest{PageSize: 500})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := s.partners().ListPartners(as(ctx, s.operator), &identityv1.ListPartnersRequest{PageSize: 500})
	if err != nil {
		t.Fatal(err)
	}
	return counts{len(cs.GetCustomers()), len(us.GetUsers()), len(ds.GetRelationships()), len(ps.GetPartners())}
}
