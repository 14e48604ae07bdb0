package app_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/internal/app"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/internal/domain"
)

// count is how many relationships the service holds, as a service sees them.
func (h *harness) count() int {
	h.t.Helper()
	n := 0
	for _, q := range []app.ListQuery{{PartnerID: partnerA}, {PartnerID: partnerB}, {PartnerID: partnerC}} {
		q.PageSize = 500
		page, err := h.app.ListRelationships(serviceAccount, q)
		if err != nil {
			h.t.Fatal(err)
		}
		n += len(page.Relationships)
	}
	return n
}

// Only a partner's Admin agent or Account admin sends offers (DOMAIN.md role table); a service
// acting for one may too.
func TestCreate_DA1_Roles(t *testing.T) {
	h := sqliteHarness(t)
	o := roleOffer(customerX, 90, 0, domain.RoleUserAdministrator)
	for name, ctx := range map[string]context.Context{
		"admin agent": adminAgentA, "account admin": accountAdminA, "service for the admin agent": onBehalfOf(adminAgentA),
	} {
		if r, err := h.app.CreateRelationship(ctx, o); err != nil || r.PartnerID != partnerA {
			t.Errorf("%s: %+v, %v", name, r, err)
		}
	}
	before := h.count()
	for name, ctx := range map[string]context.Context{
		"sales agent": salesAgentA, "customer global admin": globalAdminX, "service on its own account": serviceAccount,
		"service for the sales agent": onBehalfOf(salesAgentA),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := h.app.CreateRelationship(ctx, o)
			wantErr(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)
		})
	}
	if _, err := h.app.CreateRelationship(context.Background(), o); errs.KindOf(err) != errs.Unauthenticated {
		t.Errorf("no principal: %v", err)
	}
	if h.count() != before {
		t.Error("a refused offer was stored")
	}
}

// DA-2: a partner not enrolled in DELEGATED_ADMIN may not send offers. ID-4, ID-8: without an
// active reseller relationship, or for a customer that does not exist, RELATIONSHIP_REQUIRED.
func TestCreate_DA2_ID4_Preconditions(t *testing.T) {
	h := sqliteHarness(t)
	_, err := h.app.CreateRelationship(adminAgentC, roleOffer(customerX, 90, 0, domain.RoleUserAdministrator))
	if e := wantErr(t, err, errs.FailedPrecondition, domain.ReasonNotEligible); e.Metadata["partner_id"] != partnerC {
		t.Errorf("metadata %v", e.Metadata)
	}
	for name, customer := range map[string]string{"another partner's customer": customerY, "an unknown customer": nobody} {
		_, err := h.app.CreateRelationship(adminAgentA, roleOffer(customer, 90, 0, domain.RoleUserAdministrator))
		e := wantErr(t, err, errs.FailedPrecondition, domain.ReasonRelationshipRequired)
		if e.Metadata["customer_id"] != customer {
			t.Errorf("%s: metadata %v", name, e.Metadata)
		}
	}
	h.id.err = errs.Unavailablef("identity does not answer")
	_, err = h.app.CreateRelationship(adminAgentA, roleOffer(customerX, 90, 0, domain.RoleUserAdministrator))
	wantErr(t, err, errs.Unavailable, errs.ReasonDependencyUnavailable)
	if n := h.count(); n != 0 {
		t.Errorf("%d relationships stored by refused offers", n)
	}
}

// Bad input is INVALID_ARGUMENT with a violation per field, before identity is asked, and
// nothing is stored (DA-5 limits).
func TestCreate_DA5_InvalidInput(t *testing.T) {
	h := sqliteHarness(t)
	tests := []struct {
		name   string
		o      domain.Offer
		reason errs.Reason
		fields []string
	}{
		{"no roles", roleOffer(customerX, 90, 0), errs.ReasonInvalidRequest, []string{"roles"}},
		{"duplicate roles", roleOffer(customerX, 90, 0, domain.RoleGlobalReader, domain.RoleGlobalReader), errs.ReasonInvalidRequest, []string{"roles[1]"}},
		{"unspecified role", roleOffer(customerX, 90, 0, "UNSPECIFIED"), errs.ReasonInvalidRequest, []string{"roles[0]"}},
		{"roles with legacy", domain.Offer{CustomerID: customerX, LegacyFullAdmin: true, Roles: []domain.Role{domain.RoleGlobalReader}}, errs.ReasonInvalidRequest, []string{"roles"}},
		{"duration 0", roleOffer(customerX, 0, 0, domain.RoleGlobalReader), domain.ReasonDurationOutOfRange, []string{"duration_days"}},
		{"duration 731", roleOffer(customerX, 731, 0, domain.RoleGlobalReader), domain.ReasonDurationOutOfRange, []string{"duration_days"}},
		{"auto-extend 30", roleOffer(customerX, 90, 30, domain.RoleGlobalReader), domain.ReasonDurationOutOfRange, []string{"auto_extend_days"}},
		{"legacy with a duration", domain.Offer{CustomerID: customerX, LegacyFullAdmin: true, DurationDays: 90}, domain.ReasonDurationOutOfRange, []string{"duration_days"}},
		{"long name", domain.Offer{CustomerID: customerX, Roles: []domain.Role{domain.RoleGlobalReader}, DurationDays: 1, DisplayName: strings.Repeat("n", 51)}, errs.ReasonInvalidRequest, []string{"display_name"}},
		{"long message", domain.Offer{CustomerID: customerX, Roles: []domain.Role{domain.RoleGlobalReader}, DurationDays: 1, Message: strings.Repeat("m", 1001)}, errs.ReasonInvalidRequest, []string{"message"}},
		{"no customer", roleOffer("", 90, 0, domain.RoleGlobalReader), errs.ReasonInvalidRequest, []string{"customer_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.app.CreateRelationship(adminAgentA, tt.o)
			if e := wantErr(t, err, errs.InvalidArgument, tt.reason); !reflect.DeepEqual(fields(e), tt.fields) {
				t.Errorf("violations on %v, want %v", fields(e), tt.fields)
			}
		})
	}
	if h.id.callCount() != 0 {
		t.Errorf("identity was asked %d times about invalid offers", h.id.callCount())
	}
	if n := h.count(); n != 0 {
		t.Errorf("%d relationships stored", n)
	}
	// An upper-case customer ID is the same customer.
	if r, err := h.app.CreateRelationship(adminAgentA, roleOffer(strings.ToUpper(customerX), 90, 0, domain.RoleGlobalReader)); err != nil || r.CustomerID != customerX {
		t.Errorf("upper-case customer ID: %+v, %v", r, err)
	}
}

// DA-1: only a PENDING offer is decided; the error names the state it is in.
func TestDecide_DA1_OfferNotPending(t *testing.T) {
	h := sqliteHarness(t)
	approved := h.approve(h.create(roleOffer(customerX, 90, 0, domain.RoleGlobalReader)).ID)
	rejected, err := h.app.RejectRelationship(globalAdminX, h.create(roleOffer(customerX, 90, 0, domain.RoleGlobalReader)).ID, "", "not now")
	if err != nil || rejected.State != domain.StateRejected || rejected.CloseReason != "not now" || rejected.DecidedByUserID != "x-ga" {
		t.Fatalf("reject: %+v, %v", rejected, err)
	}
	withdrawn, err := h.app.TerminateRelationship(adminAgentA, h.create(roleOffer(customerX, 90, 0, domain.RoleGlobalReader)).ID, "", "withdrawn")
	if err != nil || withdrawn.State != domain.StateTerminated || withdrawn.TerminatedBy != domain.PartyPartner {
		t.Fatalf("withdraw: %+v, %v", withdrawn, err)
	}
	for _, r := range []domain.Relationship{approved, rejected, withdrawn} {
		_, err := h.app.ApproveRelationship(globalAdminX, r.ID, "")
		if e := wantErr(t, err, errs.FailedPrecondition, domain.ReasonOfferNotPending); e.Metadata["state"] != string(r.State) {
			t.Errorf("approve %s: metadata %v", r.State, e.Metadata)
		}
		_, err = h.app.RejectRelationship(globalAdminX, r.ID, "", "")
		wantErr(t, err, errs.FailedPrecondition, domain.ReasonOfferNotPending)
		if got := h.get(r.ID); !reflect.DeepEqual(got, r) {
			t.Errorf("a refused decision changed %s", r.State)
		}
	}
	// REJECTED is final: it cannot be terminated.
	_, err = h.app.TerminateRelationship(globalAdminX, rejected.ID, "", "")
	if e := wantErr(t, err, errs.FailedPrecondition, domain.ReasonRelationshipNotActive); e.Metadata["state"] != "REJECTED" {
		t.Errorf("metadata %v", e.Metadata)
	}
}

// Only the Global admin of the relationship's customer decides (DA-1); either side's allowed
// roles terminate (DA-5); to anyone outside the pair the relationship does not exist (ID-8).
func TestDecide_ID8_Tenancy(t *testing.T) {
	h := sqliteHarness(t)
	r := h.create(roleOffer(customerX, 90, 0, domain.RoleGlobalReader))
	for name, c := range map[string]struct {
		ctx    context.Context
		kind   errs.Kind
		reason errs.Reason
	}{
		"another customer's global admin": {globalAdminY, errs.NotFound, errs.ReasonResourceNotFound},
		"another partner's admin agent":   {adminAgentB, errs.NotFound, errs.ReasonResourceNotFound},
		"the partner's admin agent":       {adminAgentA, errs.PermissionDenied, errs.ReasonRoleRequired},
		"the customer's plain user":       {plainUserX, errs.PermissionDenied, errs.ReasonRoleRequired},
		"a service on its own account":    {serviceAccount, errs.PermissionDenied, errs.ReasonRoleRequired},
	} {
		_, err := h.app.ApproveRelationship(c.ctx, r.ID, "")
		if errs.KindOf(err) != c.kind || errs.ReasonOf(err) != c.reason {
			t.Errorf("approve as %s: %v, want %s %s", name, err, c.kind, c.reason)
		}
		_, err = h.app.RejectRelationship(c.ctx, r.ID, "", "")
		if errs.KindOf(err) != c.kind || errs.ReasonOf(err) != c.reason {
			t.Errorf("reject as %s: %v, want %s %s", name, err, c.kind, c.reason)
		}
	}
	for name, c := range map[string]struct {
		ctx    context.Context
		kind   errs.Kind
		reason errs.Reason
	}{
		"another customer's global admin": {globalAdminY, errs.NotFound, errs.ReasonResourceNotFound},
		"another partner's admin agent":   {adminAgentB, errs.NotFound, errs.ReasonResourceNotFound},
		"the partner's sales agent":       {salesAgentA, errs.PermissionDenied, errs.ReasonRoleRequired},
		"the customer's plain user":       {plainUserX, errs.PermissionDenied, errs.ReasonRoleRequired},
	} {
		_, err := h.app.TerminateRelationship(c.ctx, r.ID, "", "")
		if errs.KindOf(err) != c.kind || errs.ReasonOf(err) != c.reason {
			t.Errorf("terminate as %s: %v, want %s %s", name, err, c.kind, c.reason)
		}
	}
	if got := h.get(r.ID); !reflect.DeepEqual(got, r) {
		t.Errorf("refused calls changed the offer: %+v", got)
	}
	// A service acting for the customer's Global admin decides as that admin.
	if got, err := h.app.ApproveRelationship(onBehalfOf(globalAdminX), r.ID, r.Etag); err != nil || got.State != domain.StateActive {
		t.Errorf("approve for the global admin: %+v, %v", got, err)
	}
	// An unknown ID and one of another tenant look the same; a malformed ID is bad input.
	_, err := h.app.GetRelationship(adminAgentA, "00000000-0000-4000-8000-000000000000")
	wantErr(t, err, errs.NotFound, errs.ReasonResourceNotFound)
	_, err = h.app.GetRelationship(adminAgentA, "not-a-uuid")
	if e := wantErr(t, err, errs.InvalidArgument, errs.ReasonInvalidRequest); !reflect.DeepEqual(fields(e), []string{"relationship_id"}) {
		t.Errorf("violations %v", fields(e))
	}
}

// A stale etag is ABORTED / ETAG_MISMATCH and changes nothing; the etag a read returns before a
// clock transition is persisted stays valid after the sweeper persisted it.
func TestDecide_EtagMismatch(t *testing.T) {
	h := sqliteHarness(t)
	r := h.create(roleOffer(customerX, 90, 0, domain.RoleGlobalReader))
	_, err := h.app.ApproveRelationship(globalAdminX, r.ID, "stale")
	wantErr(t, err, errs.Aborted, errs.ReasonEtagMismatch)
	_, err = h.app.RejectRelationship(globalAdminX, r.ID, "stale", "")
	wantErr(t, err, errs.Aborted, errs.ReasonEtagMismatch)
	if got := h.get(r.ID); !reflect.DeepEqual(got, r) {
		t.Fatalf("a stale etag changed the offer")
	}
	a := h.approve(r.ID)
	_, err = h.app.TerminateRelationship(adminAgentA, r.ID, r.Etag, "")
	wantErr(t, err, errs.Aborted, errs.ReasonEtagMismatch)

	h.set(a.EndTime.Add(-30 * domain.Day))
	read := h.get(r.ID) // EXPIRING, computed
	if _, err := h.app.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	if term, err := h.app.TerminateRelationship(globalAdminX, r.ID, read.Etag, "bye"); err != nil || term.State != domain.StateTerminated {
		t.Errorf("terminate with the etag read before the sweep: %+v, %v", term, err)
	}
}

// Reasons over 1000 characters are INVALID_ARGUMENT and change nothing.
func TestDecide_InvalidReason(t *testing.T) {
	h := sqliteHarness(t)
	r := h.create(roleOffer(customerX, 90, 0, domain.RoleGlobalReader))
	long := strings.Repeat("r", domain.MaxReason+1)
	_, err := h.app.RejectRelationship(globalAdminX, r.ID, "", long)
	if e := wantErr(t, err, errs.InvalidArgument, errs.ReasonInvalidRequest); !reflect.DeepEqual(fields(e), []string{"reason"}) {
		t.Errorf("violations %v", fields(e))
	}
	_, err = h.app.TerminateRelationship(adminAgentA, r.ID, "", long)
	wantErr(t, err, errs.InvalidArgument, errs.ReasonInvalidRequest)
	if got := h.get(r.ID); !reflect.DeepEqual(got, r) {
		t.Errorf("changed: %+v", got)
	}
}

// ID-8: a partner sees its own relationships, a customer its tenant's, a service acting for
// nobody all of them (but must name a partner or customer to list); nobody else sees any.
func TestGetList_ID8_Visibility(t *testing.T) {
	h := sqliteHarness(t)
	ax := h.create(roleOffer(customerX, 90, 0, domain.RoleGlobalReader))
	by, err := h.app.CreateRelationship(adminAgentB, roleOffer(customerY, 90, 0, domain.RoleGlobalReader))
	if err != nil {
		t.Fatal(err)
	}
	stranger := user("x", auth.OrgKind("OTHER"), "?", auth.AdminAgent)
	for _, tt := range []struct {
		name    string
		ctx     context.Context
		sees    []domain.Relationship
		hidden  []domain.Relationship
		listAll app.ListQuery
	}{
		{"partner A", adminAgentA, []domain.Relationship{ax}, []domain.Relationship{by}, app.ListQuery{}},
		{"partner A's sales agent", salesAgentA, []domain.Relationship{ax}, []domain.Relationship{by}, app.ListQuery{}},
		{"service for partner A", onBehalfOf(salesAgentA), []domain.Relationship{ax}, []domain.Relationship{by}, app.ListQuery{}},
		{"customer X's plain user", plainUserX, []domain.Relationship{ax}, []domain.Relationship{by}, app.ListQuery{}},
		{"customer Y", globalAdminY, []domain.Relationship{by}, []domain.Relationship{ax}, app.ListQuery{}},
		{"a service", serviceAccount, []domain.Relationship{ax, by}, nil, app.ListQuery{CustomerID: customerX}},
		{"neither side", stranger, nil, []domain.Relationship{ax, by}, app.ListQuery{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range tt.sees {
				if got, err := h.app.GetRelationship(tt.ctx, r.ID); err != nil || got.ID != r.ID {
					t.Errorf("get %s: %v", r.ID, err)
				}
			}
			for _, r := range tt.hidden {
				_, err := h.app.GetRelationship(tt.ctx, r.ID)
				wantErr(t, err, errs.NotFound, errs.ReasonResourceNotFound)
			}
			page, err := h.app.ListRelationships(tt.ctx, tt.listAll)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.Relationships {
				for _, hid := range tt.hidden {
					if r.ID == hid.ID {
						t.Errorf("lists %s", r.ID)
					}
				}
			}
		})
	}
	for name, c := range map[string]struct {
		ctx   context.Context
		q     app.ListQuery
		field string
	}{
		"a service without partner or customer": {serviceAccount, app.ListQuery{}, "partner_id"},
		"a partner naming another partner":      {adminAgentA, app.ListQuery{PartnerID: partnerB}, "partner_id"},
		"a customer naming another customer":    {globalAdminX, app.ListQuery{CustomerID: customerY}, "customer_id"},
		"an unspecified state":                  {adminAgentA, app.ListQuery{States: []domain.State{"UNSPECIFIED"}}, "states[0]"},
		"a negative page size":                  {adminAgentA, app.ListQuery{PageSize: -1}, "page_size"},
	} {
		_, err := h.app.ListRelationships(c.ctx, c.q)
		if e, ok := errs.As(err); !ok || e.Kind != errs.InvalidArgument || !reflect.DeepEqual(fields(e), []string{c.field}) {
			t.Errorf("%s: %v, want INVALID_ARGUMENT on %s", name, err, c.field)
		}
	}
	// Filters within the caller's own scope are fine.
	page, err := h.app.ListRelationships(adminAgentA, app.ListQuery{PartnerID: partnerA, CustomerID: customerX})
	if err != nil || len(page.Relationships) != 1 {
		t.Errorf("partner A's own filters: %v, %v", page, err)
	}
}

// Lists are newest first in pages; a page token only continues the query it came from; a state
// filter sees transitions the clock made even before the sweeper ran (it sweeps first).
func TestList_PagesAndStateFilter(t *testing.T) {
	h := sqliteHarness(t)
	var ids []string
	for i := range 5 {
		r := h.create(roleOffer(customerX, 90, 0, domain.RoleGlobalReader))
		ids = append([]string{r.ID}, ids...) // newest first
		h.advance(time.Duration(i+1) * time.Minute)
	}
	var got []string
	q := app.ListQuery{PageSize: 2}
	for {
		page, err := h.app.ListRelationships(adminAgentA, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Relationships {
			got = append(got, r.ID)
		}
		if page.NextPageToken == "" {
			break
		}
		q.PageToken = page.NextPageToken
		if _, err := h.app.ListRelationships(adminAgentA, app.ListQuery{PageSize: 2, PageToken: q.PageToken, Role: domain.RoleGlobalReader}); errs.ReasonOf(err) != errs.ReasonInvalidPageToken {
			t.Errorf("token with other filters: %v, want INVALID_PAGE_TOKEN", err)
		}
		if _, err := h.app.ListRelationships(globalAdminX, q); errs.ReasonOf(err) != errs.ReasonInvalidPageToken {
			t.Errorf("token by another caller: %v, want INVALID_PAGE_TOKEN", err)
		}
	}
	if !reflect.DeepEqual(got, ids) {
		t.Errorf("paged %v\nwant %v", got, ids)
	}

	// The first two offers lapse; nothing has swept yet.
	h.set(t0.Add(domain.OfferLifetime + 2*time.Minute))
	expired, err := h.app.ListRelationships(adminAgentA, app.ListQuery{States: []domain.State{domain.StateExpired}})
	if err != nil || len(expired.Relationships) != 2 {
		t.Fatalf("EXPIRED: %d, %v; want the two lapsed offers", len(expired.Relationships), err)
	}
	pending, err := h.app.ListRelationships(adminAgentA, app.ListQuery{States: []domain.State{domain.StatePending}})
	if err != nil || len(pending.Relationships) != 3 {
		t.Fatalf("PENDING: %d, %v; want three", len(pending.Relationships), err)
	}
	for _, r := range pending.Relationships {
		if r.State != domain.StatePending {
			t.Errorf("PENDING filter returned %s", r.State)
		}
	}
	if roles, err := h.app.ListRelationships(adminAgentA, app.ListQuery{Role: domain.RoleTeamsAdministrator}); err != nil || len(roles.Relationships) != 0 {
		t.Errorf("role filter: %d, %v", len(roles.Relationships), err)
	}
}

// DA-6 CheckAccess: a service asks about anyone, a user only about a pair its organisation is
// part of (TENANT_MISMATCH otherwise); bad input is INVALID_ARGUMENT; a denial is an answer.
func TestCheckAccess_DA6_TenancyAndInput(t *testing.T) {
	h := sqliteHarness(t)
	h.approve(h.create(roleOffer(customerX, 90, 0, domain.RoleUserAdministrator)).ID)
	for name, ctx := range map[string]context.Context{
		"a service": serviceAccount, "the partner's sales agent": salesAgentA, "the customer's plain user": plainUserX,
		"a service for the partner": onBehalfOf(salesAgentA),
	} {
		if a, err := h.app.CheckAccess(ctx, partnerA, customerX, domain.RoleUserAdministrator); err != nil || !a.Allowed {
			t.Errorf("%s: %+v, %v", name, a, err)
		}
	}
	for name, ctx := range map[string]context.Context{
		"another partner": adminAgentB, "another customer": globalAdminY, "a service for another partner": onBehalfOf(adminAgentB),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := h.app.CheckAccess(ctx, partnerA, customerX, domain.RoleUserAdministrator)
			wantErr(t, err, errs.PermissionDenied, errs.ReasonTenantMismatch)
		})
	}
	// Partner B asks about itself and customer X: no relationship, an answer (not an error).
	if a, err := h.app.CheckAccess(adminAgentB, partnerB, customerX, domain.RoleUserAdministrator); err != nil || a.Allowed ||
		a.Denial != domain.DenialNoRelationship || a.RelationshipID != "" || a.CacheTTL != domain.MaxDenialCacheTTL {
		t.Errorf("no relationship: %+v, %v", a, err)
	}
	if a, err := h.app.CheckAccess(serviceAccount, partnerA, customerX, domain.RoleTeamsAdministrator); err != nil || a.Denial != domain.DenialRoleNotGranted {
		t.Errorf("role not granted: %+v, %v", a, err)
	}
	_, err := h.app.CheckAccess(serviceAccount, "", "bad", "UNSPECIFIED")
	if e := wantErr(t, err, errs.InvalidArgument, errs.ReasonInvalidRequest); !reflect.DeepEqual(fields(e), []string{"partner_id", "customer_id", "role"}) {
		t.Errorf("violations %v", fields(e))
	}
}
