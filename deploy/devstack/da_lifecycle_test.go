package main

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	delegatedadminv1 "github.com/partnerhub/partnerhub/gen/partnerhub/delegatedadmin/v1"
	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
)

const day = 24 * time.Hour

// The delegated-admin lifecycle through the running services on the shared fake clock (DA-5,
// DA-6): approve, EXPIRING 30 days before the end, EXPIRED at the end, auto-extension by 180 days,
// termination — and CheckAccess, and identity's delegated user administration built on it, follow
// every step.
func TestDelegatedAdminLifecycle_DA5_DA6(t *testing.T) {
	s := theSuite(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := s.newPartner(ctx, t, "Lifecycle Partner GmbH", "DE")
	agent := s.newUser(ctx, t, p, "lc-"+rid()[:8]+".example", commonv1.Role_ROLE_ADMIN_AGENT)
	c := s.newCustomer(ctx, t, agent.token, "Lifecycle Kunde AG", "DE")
	actx, cctx := as(ctx, agent.token), as(ctx, c.adminToken)
	da := s.delegated()

	offerAndApprove := func(days, extend int32) *delegatedadminv1.DelegatedAdminRelationship {
		t.Helper()
		o, err := da.CreateRelationship(actx, &delegatedadminv1.CreateRelationshipRequest{RequestId: rid(), CustomerId: c.id,
			DurationDays: days, AutoExtendDays: extend, Roles: []delegatedadminv1.AdminRole{delegatedadminv1.AdminRole_ADMIN_ROLE_USER_ADMINISTRATOR}})
		if err != nil {
			t.Fatalf("CreateRelationship: %v", err)
		}
		if o.GetRelationship().GetState() != delegatedadminv1.RelationshipState_RELATIONSHIP_STATE_PENDING {
			t.Fatalf("offer state %v, want PENDING", o.GetRelationship().GetState())
		}
		a, err := da.ApproveRelationship(cctx, &delegatedadminv1.ApproveRelationshipRequest{RequestId: rid(), RelationshipId: o.GetRelationship().GetRelationshipId()})
		if err != nil {
			t.Fatalf("ApproveRelationship: %v", err)
		}
		return a.GetRelationship()
	}
	get := func(id string) *delegatedadminv1.DelegatedAdminRelationship {
		t.Helper()
		r, err := da.GetRelationship(actx, &delegatedadminv1.GetRelationshipRequest{RelationshipId: id})
		if err != nil {
			t.Fatalf("GetRelationship: %v", err)
		}
		return r.GetRelationship()
	}
	access := func() *delegatedadminv1.CheckAccessResponse {
		t.Helper()
		r, err := da.CheckAccess(actx, &delegatedadminv1.CheckAccessRequest{PartnerId: p.id, CustomerId: c.id,
			Role: delegatedadminv1.AdminRole_ADMIN_ROLE_USER_ADMINISTRATOR})
		if err != nil {
			t.Fatalf("CheckAccess: %v", err)
		}
		return r
	}
	// createUser is identity's use of the grant: a partner Admin agent managing the tenant's users.
	createUser := func() error {
		_, err := s.users().CreateUser(actx, &identityv1.CreateUserRequest{RequestId: rid(), OrgId: c.id, UserName: "u" + rid()[:8] + "@" + c.domain,
			DisplayName: "U", Email: "u@lc.example", Roles: []commonv1.Role{commonv1.Role_ROLE_CUSTOMER_USER}})
		return err
	}
	// identity caches answers for at most their cache_ttl (30 s allowed, 5 s denied) of wall
	// time, so after an approval we wait out the cached denial.
	eventually := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(40 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not seen within the cache TTL", what)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	if a := access(); a.GetAllowed() || a.GetDenialReason() != delegatedadminv1.AccessDenialReason_ACCESS_DENIAL_REASON_NO_RELATIONSHIP {
		t.Fatalf("before any offer: %v, want NO_RELATIONSHIP", a)
	}
	if err := createUser(); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("CreateUser before any grant: %v, want PERMISSION_DENIED", err)
	}

	// A 60-day grant without auto-extend.
	r := offerAndApprove(60, 0)
	end := r.GetEndTime().AsTime()
	if r.GetState() != delegatedadminv1.RelationshipState_RELATIONSHIP_STATE_ACTIVE || !end.Equal(r.GetActivateTime().AsTime().Add(60*day)) {
		t.Fatalf("approved: %v", r)
	}
	if a := access(); !a.GetAllowed() || !a.GetGrantEndTime().AsTime().Equal(end) {
		t.Fatalf("after approval: %v, want allowed until %v", a, end)
	}
	eventually("identity allows delegated user administration", func() bool { return createUser() == nil })

	setClock(t, s, end.Add(-30*day))
	if got := get(r.GetRelationshipId()).GetState(); got != delegatedadminv1.RelationshipState_RELATIONSHIP_STATE_EXPIRING {
		t.Fatalf("30 days before the end: %v, want EXPIRING", got)
	}
	if !access().GetAllowed() {
		t.Fatal("EXPIRING must still grant its roles")
	}
	setClock(t, s, end.Add(-time.Second))
	if !access().GetAllowed() {
		t.Fatal("one second before the end: denied")
	}
	setClock(t, s, end)
	if got := get(r.GetRelationshipId()).GetState(); got != delegatedadminv1.RelationshipState_RELATIONSHIP_STATE_EXPIRED {
		t.Fatalf("at the end: %v, want EXPIRED", got)
	}
	if a := access(); a.GetAllowed() || a.GetDenialReason() != delegatedadminv1.AccessDenialReason_ACCESS_DENIAL_REASON_EXPIRED {
		t.Fatalf("at the end: %v, want denied EXPIRED", a)
	}

	// A 30-day grant with auto-extend: at its end it runs on for 180 days.
	r = offerAndApprove(30, 180)
	end = r.GetEndTime().AsTime()
	setClock(t, s, end.Add(time.Second))
	got := get(r.GetRelationshipId())
	if got.GetState() != delegatedadminv1.RelationshipState_RELATIONSHIP_STATE_ACTIVE || !got.GetEndTime().AsTime().Equal(end.Add(180*day)) || got.GetExtendCount() != 1 {
		t.Fatalf("after the end with auto-extend: state %v end %v extensions %d; want ACTIVE, %v, 1",
			got.GetState(), got.GetEndTime().AsTime(), got.GetExtendCount(), end.Add(180*day))
	}
	if !access().GetAllowed() {
		t.Fatal("an auto-extended grant must still allow")
	}

	// The customer terminates it: access stops at once for new answers. The reason is EXPIRED,
	// not TERMINATED: the pair also has the expired grant, and EXPIRED ranks first (the
	// AccessDenialReason order of the contract).
	term, err := da.TerminateRelationship(cctx, &delegatedadminv1.TerminateRelationshipRequest{RequestId: rid(), RelationshipId: r.GetRelationshipId(), Reason: "done"})
	if err != nil || term.GetRelationship().GetTerminatedBy() != delegatedadminv1.Party_PARTY_CUSTOMER {
		t.Fatalf("TerminateRelationship: %v, %v", term, err)
	}
	if a := access(); a.GetAllowed() || a.GetDenialReason() != delegatedadminv1.AccessDenialReason_ACCESS_DENIAL_REASON_EXPIRED {
		t.Fatalf("after termination: %v, want denied EXPIRED", a)
	}
}

// setClock moves the shared fake clock forward to at.
func setClock(t *testing.T, s *tenancySuite, at time.Time) {
	t.Helper()
	if _, err := s.clock.Set(at); err != nil {
		t.Fatalf("set the clock to %v: %v", at, err)
	}
}
