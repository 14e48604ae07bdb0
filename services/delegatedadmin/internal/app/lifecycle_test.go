package app_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/internal/app"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/internal/domain"
)

// The DA lifecycle on the service clock, on both engines: offer, approve, CheckAccess
// allowed; 30 days before the end EXPIRING and still allowed; at the end EXPIRED and denied
// EXPIRED. Reads are exact before the sweeper runs, and the sweeper persists the very same
// resource (etag included).
func TestLifecycle_DA5_ApproveExpiringExpired(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn)
		r := h.create(roleOffer(customerX, 365, 0, domain.RoleUserAdministrator))
		if r.State != domain.StatePending || r.ApprovalLink != approvalURL+r.ID || r.PartnerID != partnerA ||
			r.CreatedByUserID != "a-admin" || !r.OfferExpireTime.Equal(t0.Add(90*domain.Day)) {
			t.Fatalf("created %+v", r)
		}
		if a := h.access(domain.RoleUserAdministrator); a.Allowed || a.Denial != domain.DenialPending || a.RelationshipID != r.ID {
			t.Fatalf("pending: %+v, want denied PENDING (DA-1)", a)
		}

		h.advance(domain.Day)
		approvedAt := h.clock.Now()
		r = h.approve(r.ID)
		end := approvedAt.Add(365 * domain.Day)
		if r.State != domain.StateActive || !r.ActivateTime.Equal(approvedAt) || !r.EndTime.Equal(end) || r.DecidedByUserID != "x-ga" {
			t.Fatalf("approved %+v", r)
		}
		a := h.access(domain.RoleUserAdministrator)
		if !a.Allowed || a.RelationshipID != r.ID || !a.GrantEnd.Equal(end) || a.CacheTTL != domain.MaxAccessCacheTTL {
			t.Fatalf("active: %+v, want allowed until %v", a, end)
		}

		h.set(end.Add(-30*domain.Day - time.Second))
		if got := h.get(r.ID); got.State != domain.StateActive {
			t.Fatalf("a second before the window: %s", got.State)
		}
		h.set(end.Add(-30 * domain.Day))
		expiring := h.get(r.ID) // computed, nothing persisted yet
		if expiring.State != domain.StateExpiring {
			t.Fatalf("30 days before the end: %s, want EXPIRING", expiring.State)
		}
		if a := h.access(domain.RoleUserAdministrator); !a.Allowed {
			t.Fatalf("EXPIRING: %+v, want still allowed", a)
		}
		if n, err := h.app.Sweep(t.Context()); err != nil || n != 1 {
			t.Fatalf("Sweep = %d, %v; want 1 change", n, err)
		}
		if got := h.get(r.ID); !reflect.DeepEqual(got, expiring) {
			t.Errorf("persisted %+v\ncomputed %+v", got, expiring)
		}
		page, err := h.app.ListRelationships(adminAgentA, app.ListQuery{States: []domain.State{domain.StateExpiring}})
		if err != nil || len(page.Relationships) != 1 || page.Relationships[0].ID != r.ID {
			t.Fatalf("list EXPIRING: %v, %v", page, err)
		}

		h.set(end.Add(-time.Second))
		if a := h.access(domain.RoleUserAdministrator); !a.Allowed || a.CacheTTL != time.Second {
			t.Fatalf("a second before the end: %+v, want allowed for that second", a)
		}
		h.set(end)
		a = h.access(domain.RoleUserAdministrator)
		if a.Allowed || a.Denial != domain.DenialExpired || a.RelationshipID != r.ID || !a.GrantEnd.IsZero() {
			t.Fatalf("at the end: %+v, want denied EXPIRED", a)
		}
		if got := h.get(r.ID); got.State != domain.StateExpired || !got.CloseTime.Equal(end) || got.DecidedByUserID != "x-ga" {
			t.Errorf("expired: %+v", got)
		}
		// EXPIRED is final: it cannot be terminated (contract: RELATIONSHIP_NOT_ACTIVE).
		_, err = h.app.TerminateRelationship(adminAgentA, r.ID, "", "")
		if e := wantErr(t, err, errs.FailedPrecondition, domain.ReasonRelationshipNotActive); e.Metadata["state"] != "EXPIRED" {
			t.Errorf("metadata %v", e.Metadata)
		}
	})
}

// DA-5 auto-extend: at end_time an ACTIVE relationship is extended by 180 days, extend_count 1,
// and access goes on; it is never EXPIRING.
func TestLifecycle_DA5_AutoExtend(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn)
		r := h.approve(h.create(roleOffer(customerX, 60, 180, domain.RoleHelpdeskAdministrator)).ID)
		end := r.EndTime
		h.set(end.Add(-30 * domain.Day))
		if got := h.get(r.ID); got.State != domain.StateActive {
			t.Fatalf("30 days before the end with auto-extend: %s, want ACTIVE", got.State)
		}
		h.set(end)
		got := h.get(r.ID)
		if got.State != domain.StateActive || !got.EndTime.Equal(end.Add(180*domain.Day)) || got.ExtendCount != 1 || !got.LastExtendTime.Equal(end) {
			t.Fatalf("at the end: %+v, want ACTIVE, end +180 days, extend_count 1", got)
		}
		a := h.access(domain.RoleHelpdeskAdministrator)
		if !a.Allowed || !a.GrantEnd.Equal(end.Add(180*domain.Day)) {
			t.Fatalf("after the extension: %+v", a)
		}
		if n, err := h.app.Sweep(t.Context()); err != nil || n != 1 {
			t.Fatalf("Sweep = %d, %v", n, err)
		}
		if stored := h.get(r.ID); !reflect.DeepEqual(stored, got) {
			t.Errorf("persisted %+v\ncomputed %+v", stored, got)
		}
		h.set(end.Add(180 * domain.Day))
		if got := h.get(r.ID); got.ExtendCount != 2 || got.State != domain.StateActive {
			t.Errorf("second extension: %+v", got)
		}
	})
}

// DA-5: either side terminates; access stops at once (denied TERMINATED); terminating again
// returns the relationship unchanged.
func TestLifecycle_DA5_TerminateDenies(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn)
		for _, tt := range []struct {
			name    string
			by      domain.Party
			subject string
		}{
			{"by the partner", domain.PartyPartner, "a-account"},
			{"by the customer", domain.PartyCustomer, "x-ga"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := h.approve(h.create(roleOffer(customerX, 365, 180, domain.RoleLicenseAdministrator)).ID)
				h.advance(time.Hour)
				ctx := accountAdminA
				if tt.by == domain.PartyCustomer {
					ctx = globalAdminX
				}
				term, err := h.app.TerminateRelationship(ctx, r.ID, r.Etag, "no longer needed")
				if err != nil {
					t.Fatal(err)
				}
				if term.State != domain.StateTerminated || term.TerminatedBy != tt.by || term.DecidedByUserID != tt.subject ||
					term.CloseReason != "no longer needed" || !term.CloseTime.Equal(h.clock.Now()) {
					t.Fatalf("terminated %+v", term)
				}
				a := h.access(domain.RoleLicenseAdministrator)
				if a.Allowed || a.Denial != domain.DenialTerminated || a.RelationshipID != r.ID {
					t.Fatalf("after termination: %+v, want denied TERMINATED", a)
				}
				h.advance(time.Hour)
				again, err := h.app.TerminateRelationship(adminAgentA, r.ID, "", "again")
				if err != nil || !reflect.DeepEqual(again, term) {
					t.Errorf("terminating again: %+v, %v; want it unchanged", again, err)
				}
			})
		}
	})
}

// DA-5: legacy full admin (DAP) grants every role, has no end and never expires.
func TestLifecycle_DA5_LegacyFullAdminNeverExpires(t *testing.T) {
	h := sqliteHarness(t)
	r := h.approve(h.create(domain.Offer{CustomerID: customerX, LegacyFullAdmin: true}).ID)
	if !reflect.DeepEqual(r.Roles, domain.AllRoles()) || !r.EndTime.IsZero() {
		t.Fatalf("legacy: %+v", r)
	}
	h.advance(20 * 365 * domain.Day)
	if n, err := h.app.Sweep(t.Context()); err != nil || n != 0 {
		t.Errorf("Sweep = %d, %v; nothing is ever due", n, err)
	}
	if got := h.get(r.ID); got.State != domain.StateActive || !reflect.DeepEqual(got, r) {
		t.Errorf("after 20 years: %+v", got)
	}
	for _, role := range domain.AllRoles() {
		if a := h.access(role); !a.Allowed || !a.GrantEnd.IsZero() || a.RelationshipID != r.ID {
			t.Errorf("%s: %+v", role, a)
		}
	}
}

// DA-5: an offer not approved within 90 days lapses to EXPIRED and can no longer be approved.
func TestLifecycle_DA5_OfferLapsesAfter90Days(t *testing.T) {
	h := sqliteHarness(t)
	r := h.create(roleOffer(customerX, 30, 0, domain.RoleGlobalReader))
	h.set(r.OfferExpireTime.Add(-time.Second))
	if a := h.access(domain.RoleGlobalReader); a.Denial != domain.DenialPending || a.CacheTTL != time.Second {
		t.Fatalf("a second before the lapse: %+v", a)
	}
	h.set(r.OfferExpireTime)
	_, err := h.app.ApproveRelationship(globalAdminX, r.ID, "")
	if e := wantErr(t, err, errs.FailedPrecondition, domain.ReasonOfferNotPending); e.Metadata["state"] != "EXPIRED" {
		t.Errorf("metadata %v, want state EXPIRED", e.Metadata)
	}
	if a := h.access(domain.RoleGlobalReader); a.Denial != domain.DenialExpired {
		t.Errorf("after the lapse: %+v, want denied EXPIRED", a)
	}
	if got := h.get(r.ID); got.State != domain.StateExpired || !got.CloseTime.Equal(r.OfferExpireTime) {
		t.Errorf("lapsed: %+v", got)
	}
}

// DA-5 approval of 30 days or less without auto-extend is EXPIRING at once (the contract of
// ApproveRelationshipResponse).
func TestLifecycle_DA5_ShortRelationshipExpiringAtOnce(t *testing.T) {
	h := sqliteHarness(t)
	r := h.approve(h.create(roleOffer(customerX, 30, 0, domain.RoleGlobalReader)).ID)
	if r.State != domain.StateExpiring {
		t.Errorf("30 days approved: %s, want EXPIRING", r.State)
	}
	if a := h.access(domain.RoleGlobalReader); !a.Allowed {
		t.Errorf("EXPIRING: %+v, want allowed", a)
	}
}

// Several replicas sweeping the same database at once apply every transition exactly once.
func TestSweep_DA5_ReplicasApplyEachTransitionOnce(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn)
		const n = 11
		for range n {
			h.create(roleOffer(customerX, 30, 0, domain.RoleGlobalReader))
		}
		h.advance(90 * domain.Day)
		replicas := []*app.App{h.app, h.replica(), h.replica()}
		results := make(chan int, len(replicas))
		for _, a := range replicas {
			go func() {
				c, err := a.Sweep(t.Context())
				if err != nil {
					t.Errorf("Sweep: %v", err)
				}
				results <- c
			}()
		}
		total := 0
		for range replicas {
			total += <-results
		}
		if total != n {
			t.Errorf("the replicas changed %d relationships, want %d", total, n)
		}
		page, err := h.app.ListRelationships(adminAgentA, app.ListQuery{States: []domain.State{domain.StatePending}})
		if err != nil || len(page.Relationships) != 0 {
			t.Errorf("still PENDING after the sweep: %d, %v", len(page.Relationships), err)
		}
	})
}
