package app

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/paging"
	"github.com/partnerhub/partnerhub/services/identity/internal/domain"
)

// invitationCodeAttempts bounds how often CreateRelationshipInvitation draws a new code after a
// collision. With 79-bit codes a single collision is already beyond belief; the bound only turns
// a broken random source into an error instead of a loop.
const invitationCodeAttempts = 3

func (a *App) invitationTTL() time.Duration {
	if a.opts.InvitationTTL <= 0 {
		return domain.DefaultInvitationTTL
	}
	return a.opts.InvitationTTL
}

func (a *App) invitationBaseURL() string {
	if a.opts.InvitationBaseURL == "" {
		return defaultInvitationBaseURL
	}
	return a.opts.InvitationBaseURL
}

// invitationView is an invitation as the viewer sees it at now: its link, its state at now
// (EXPIRED from expire_time on, whether or not that is stored, ID-4), and, for a customer
// previewing a code, nothing about other tenants or the partner's users: who accepted it and
// the resulting relationship are shown only to the tenant that accepted it (ID-8).
func (a *App) invitationView(inv domain.Invitation, v tenantViewer, now time.Time) domain.Invitation {
	inv.Link = a.invitationBaseURL() + inv.Code
	inv.State = inv.StateAt(now)
	if !v.all && v.partnerID != inv.PartnerID {
		inv.CreatedByUserID = ""
		if inv.AcceptedByCustomerID != v.customerID {
			inv.AcceptedByCustomerID, inv.RelationshipID = "", ""
		}
	}
	return inv
}

// CreateRelationshipInvitation creates a single-use invitation (code and link) that the caller's
// partner sends to a customer (ID-4). Only CSP partners invite (PROGRAM_NOT_ENROLLED, ID-1).
func (a *App) CreateRelationshipInvitation(ctx context.Context, message string) (domain.Invitation, error) {
	v, err := tenantViewerOf(ctx)
	if err != nil {
		return domain.Invitation{}, err
	}
	if err := v.require(auth.AccountAdmin, auth.SalesAgent, auth.AdminAgent); err != nil {
		return domain.Invitation{}, err
	}
	if v.partnerID == "" {
		return domain.Invitation{}, errs.New(errs.PermissionDenied, errs.ReasonRoleRequired, "only a partner's users invite customers")
	}
	if err := domain.CheckInvitationMessage(message); err != nil {
		return domain.Invitation{}, err
	}
	partner, err := a.repo.Partner(ctx, v.partnerID)
	if err != nil {
		return domain.Invitation{}, tenantNotFound(err, "partner", v.partnerID)
	}
	now := a.stamp()
	inv, err := domain.NewInvitation(partner, v.userID, message, now, a.invitationTTL())
	if err != nil {
		return domain.Invitation{}, err
	}
	for attempt := 1; ; attempt++ {
		err = a.repo.AddInvitation(ctx, inv)
		if errs.KindOf(err) != errs.AlreadyExists || attempt == invitationCodeAttempts {
			break
		}
		inv.Code = domain.NewInvitationCode() // a code collision: draw again
	}
	if errs.KindOf(err) == errs.AlreadyExists { // the random source keeps repeating itself
		return domain.Invitation{}, errs.Unexpected(fmt.Errorf("no free invitation code after %d draws: %w", invitationCodeAttempts, err))
	}
	if err != nil {
		return domain.Invitation{}, err
	}
	return a.invitationView(inv, v, now), nil
}

// GetRelationshipInvitation returns an invitation by ID to its partner's users, or by code also
// to any customer Global admin (who previews it before accepting); services see any. Exactly one
// of id and code is given. Anyone else gets RESOURCE_NOT_FOUND (ID-8).
func (a *App) GetRelationshipInvitation(ctx context.Context, id, code string) (domain.Invitation, error) {
	v, err := tenantViewerOf(ctx)
	if err != nil {
		return domain.Invitation{}, err
	}
	var bad errs.Violations
	switch {
	case id == "" && code == "":
		bad.Add("invitation", "set invitation_id or code")
	case id != "" && code != "":
		bad.Add("invitation", "set only one of invitation_id and code")
	case id != "":
		checkID(&bad, "invitation_id", id)
	default:
		var ok bool
		if code, ok = domain.NormaliseInvitationCode(code); !ok {
			bad.Add("code", "must be %d characters of %s", domain.InvitationCodeLen, domain.InvitationCodeAlphabet)
		}
	}
	if err := bad.Err(); err != nil {
		return domain.Invitation{}, err
	}
	if err := v.require(append(tenantPartnerRoles(), auth.CustomerGlobalAdmin, auth.Service)...); err != nil {
		return domain.Invitation{}, err
	}
	var inv domain.Invitation
	if id != "" {
		inv, err = a.repo.Invitation(ctx, id)
		err = tenantNotFound(err, "invitation", id)
	} else {
		inv, err = a.repo.InvitationByCode(ctx, code)
		err = tenantNotFound(err, "invitation", code)
	}
	if err != nil {
		return domain.Invitation{}, err
	}
	visible := v.all || v.partnerID == inv.PartnerID ||
		code != "" && v.customerID != "" && v.principal.Effective().HasRole(auth.CustomerGlobalAdmin)
	if !visible {
		if id != "" {
			return domain.Invitation{}, errs.NotFoundf("invitation", id)
		}
		return domain.Invitation{}, errs.NotFoundf("invitation", code)
	}
	return a.invitationView(inv, v, a.stamp()), nil
}

// ListInvitationsInput is the query of ListRelationshipInvitations.
type ListInvitationsInput struct {
	PageSize  int32
	PageToken string
	State     domain.InvitationState // "" for all
	PartnerID string                 // "" for the caller's; only a service on its own account names one
}

// ListRelationshipInvitations lists a partner's invitations, newest first, each in its state at
// now.
func (a *App) ListRelationshipInvitations(ctx context.Context, in ListInvitationsInput) ([]domain.Invitation, string, error) {
	v, err := tenantViewerOf(ctx)
	if err != nil {
		return nil, "", err
	}
	if err := v.require(auth.AccountAdmin, auth.SalesAgent, auth.AdminAgent, auth.Service); err != nil {
		return nil, "", err
	}
	var bad errs.Violations
	if in.PageSize < 0 {
		bad.Add("page_size", "must not be negative")
	}
	if in.State != "" && !in.State.Valid() {
		bad.Add("state", "not an invitation state")
	}
	partnerID := v.partnerID
	switch {
	case v.all && in.PartnerID == "":
		bad.Add("partner_id", "required for a service acting on its own account")
	case v.all:
		checkID(&bad, "partner_id", in.PartnerID)
		partnerID = in.PartnerID
	case in.PartnerID != "" && in.PartnerID != v.partnerID:
		bad.Add("partner_id", "only a service on its own account may name another partner; leave it empty")
	}
	if err := bad.Err(); err != nil {
		return nil, "", err
	}
	if partnerID == "" {
		return nil, "", nil // not a partner: it has no invitations
	}
	size, _ := paging.Size(in.PageSize)
	query := paging.Fingerprint("invitations", v.key(), partnerID, in.State)
	before, err := paging.Decode(in.PageToken, query, 2)
	if err != nil {
		return nil, "", err
	}
	now := a.stamp()
	f := InvitationFilter{PartnerID: partnerID, State: in.State, Now: now}
	if before != nil {
		if f.BeforeCreateTime, err = paging.ParseTime(before[0]); err != nil {
			return nil, "", err
		}
		f.BeforeID = before[1]
	}
	rows, err := a.repo.ListInvitations(ctx, f, size+1)
	if err != nil {
		return nil, "", err
	}
	page, next := paging.Trim(rows, size, query, func(i domain.Invitation) []string {
		return []string{paging.Time(i.CreateTime), i.ID}
	})
	for i := range page {
		page[i] = a.invitationView(page[i], v, now)
	}
	return page, next, nil
}

// WithdrawRelationshipInvitation withdraws a PENDING invitation of the caller's partner; its
// code stops working. An accepted or withdrawn one is INVITATION_ALREADY_USED, an expired one
// INVITATION_EXPIRED.
func (a *App) WithdrawRelationshipInvitation(ctx context.Context, id, etag string) (domain.Invitation, error) {
	v, err := tenantViewerOf(ctx)
	if err != nil {
		return domain.Invitation{}, err
	}
	if err := v.require(auth.AccountAdmin, auth.SalesAgent, auth.AdminAgent); err != nil {
		return domain.Invitation{}, err
	}
	var bad errs.Violations
	checkID(&bad, "invitation_id", id)
	if err := bad.Err(); err != nil {
		return domain.Invitation{}, err
	}
	now := a.stamp()
	inv, err := a.repo.UpdateInvitation(ctx, id, func(inv *domain.Invitation) (bool, error) {
		if v.partnerID == "" || inv.PartnerID != v.partnerID {
			return false, errs.NotFoundf("invitation", id) // another partner's: invisible (ID-8)
		}
		if etag != "" && etag != inv.Etag {
			return false, staleEtag("invitation", id)
		}
		return true, inv.Withdraw(now)
	})
	if err != nil {
		return domain.Invitation{}, tenantNotFound(err, "invitation", id)
	}
	return a.invitationView(inv, v, now), nil
}

// AcceptRelationshipInvitation accepts an invitation by its code for the caller's tenant: the
// partner gets an ACTIVE reseller relationship, origin INVITATION_ACCEPTED (ID-4). A customer may
// have several partners; a pair has at most one ACTIVE relationship (RELATIONSHIP_EXISTS). The
// code is single use even under concurrent accepts.
func (a *App) AcceptRelationshipInvitation(ctx context.Context, code string) (domain.Relationship, domain.Invitation, error) {
	v, err := tenantViewerOf(ctx)
	if err != nil {
		return domain.Relationship{}, domain.Invitation{}, err
	}
	if err := v.require(auth.CustomerGlobalAdmin); err != nil {
		return domain.Relationship{}, domain.Invitation{}, err
	}
	if v.customerID == "" {
		return domain.Relationship{}, domain.Invitation{}, errs.New(errs.PermissionDenied, errs.ReasonRoleRequired,
			"only a customer's Global admin accepts invitations")
	}
	code, ok := domain.NormaliseInvitationCode(code)
	if !ok {
		return domain.Relationship{}, domain.Invitation{}, errs.Invalid("code", "must be %d characters of %s",
			domain.InvitationCodeLen, domain.InvitationCodeAlphabet)
	}
	c, err := a.repo.Customer(ctx, v.customerID)
	if err != nil {
		return domain.Relationship{}, domain.Invitation{}, tenantNotFound(err, "customer", v.customerID)
	}
	now := a.stamp()
	inv, rel, err := a.repo.AcceptInvitation(ctx, code, c, func(inv *domain.Invitation, p domain.Partner, hasActive bool) (domain.Relationship, error) {
		return inv.Accept(p, c, hasActive, now)
	})
	if err != nil {
		return domain.Relationship{}, domain.Invitation{}, tenantNotFound(err, "invitation", code)
	}
	return rel, a.invitationView(inv, v, now), nil
}

// ListRelationshipsInput is the query of ListRelationships.
type ListRelationshipsInput struct {
	PageSize   int32
	PageToken  string
	PartnerID  string
	CustomerID string
	States     []domain.RelationshipState // empty: ACTIVE only
}

// ListRelationships lists reseller relationships, ordered by start time then ID: a partner's
// own (any customer filter), a customer's own (any partner filter), or, for a service on its own
// account, those of the partner and/or customer it names (ID-8).
func (a *App) ListRelationships(ctx context.Context, in ListRelationshipsInput) ([]domain.Relationship, string, error) {
	v, err := tenantViewerOf(ctx)
	if err != nil {
		return nil, "", err
	}
	if err := v.require(append(tenantPartnerRoles(), auth.CustomerGlobalAdmin, auth.Service)...); err != nil {
		return nil, "", err
	}
	var bad errs.Violations
	if in.PageSize < 0 {
		bad.Add("page_size", "must not be negative")
	}
	states := []domain.RelationshipState{domain.RelationshipActive}
	if len(in.States) > 0 {
		states = nil
		for i, s := range in.States {
			if !s.Valid() {
				bad.Add(fmt.Sprintf("states[%d]", i), "not a relationship state")
			} else if !slices.Contains(states, s) {
				states = append(states, s)
			}
		}
		slices.Sort(states) // the same set gives the same query, whatever the order asked
	}
	if in.PartnerID != "" {
		checkID(&bad, "partner_id", in.PartnerID)
	}
	if in.CustomerID != "" {
		checkID(&bad, "customer_id", in.CustomerID)
	}
	f := RelationshipFilter{PartnerID: in.PartnerID, CustomerID: in.CustomerID, States: states}
	switch {
	case v.all:
		if in.PartnerID == "" && in.CustomerID == "" {
			bad.Add("partner_id", "a service on its own account must set partner_id or customer_id")
		}
	case v.partnerID != "":
		if in.PartnerID != "" && in.PartnerID != v.partnerID {
			bad.Add("partner_id", "leave it empty or set your own partner ID")
		}
		f.PartnerID = v.partnerID
	case v.customerID != "":
		if in.CustomerID != "" && in.CustomerID != v.customerID {
			bad.Add("customer_id", "leave it empty or set your own tenant ID")
		}
		f.CustomerID = v.customerID
	}
	if err := bad.Err(); err != nil {
		return nil, "", err
	}
	if f.PartnerID == "" && f.CustomerID == "" {
		return nil, "", nil // neither partner nor customer nor service: nothing is theirs
	}
	size, _ := paging.Size(in.PageSize)
	query := paging.Fingerprint("relationships", v.key(), f.PartnerID, f.CustomerID, domain.JoinNames(states))
	after, err := paging.Decode(in.PageToken, query, 2)
	if err != nil {
		return nil, "", err
	}
	if after != nil {
		if f.AfterStartTime, err = paging.ParseTime(after[0]); err != nil {
			return nil, "", err
		}
		f.AfterID = after[1]
	}
	rows, err := a.repo.ListRelationships(ctx, f, size+1)
	if err != nil {
		return nil, "", err
	}
	page, next := paging.Trim(rows, size, query, func(r domain.Relationship) []string {
		return []string{paging.Time(r.StartTime), r.ID}
	})
	return page, next, nil
}

// RemoveRelationship ends an ACTIVE relationship from either side: the partner's Account admin
// or Admin agent, or the customer's Global admin. The partner loses sight of the customer (ID-8);
// subscriptions are not cancelled (SU-8). A relationship that already ended (REMOVED, or MOVED
// by a take-over) is returned unchanged, without an etag check: the caller's goal, that the
// relationship is over, already holds.
func (a *App) RemoveRelationship(ctx context.Context, id, etag string) (domain.Relationship, error) {
	v, err := tenantViewerOf(ctx)
	if err != nil {
		return domain.Relationship{}, err
	}
	if err := v.require(auth.AccountAdmin, auth.AdminAgent, auth.CustomerGlobalAdmin); err != nil {
		return domain.Relationship{}, err
	}
	var bad errs.Violations
	checkID(&bad, "relationship_id", id)
	if err := bad.Err(); err != nil {
		return domain.Relationship{}, err
	}
	eff := v.principal.Effective()
	now := a.stamp()
	rel, err := a.repo.UpdateRelationship(ctx, id, func(r *domain.Relationship) (bool, error) {
		partnerSide := v.partnerID != "" && v.partnerID == r.PartnerID
		customerSide := v.customerID != "" && v.customerID == r.CustomerID
		switch {
		case !partnerSide && !customerSide:
			return false, errs.NotFoundf("relationship", id) // someone else's (ID-8)
		case partnerSide && !eff.HasRole(auth.AccountAdmin, auth.AdminAgent),
			customerSide && !eff.HasRole(auth.CustomerGlobalAdmin):
			return false, errs.New(errs.PermissionDenied, errs.ReasonRoleRequired,
				"removing a relationship needs ACCOUNT_ADMIN or ADMIN_AGENT of the partner, or CUSTOMER_GLOBAL_ADMIN of the customer")
		case r.State != domain.RelationshipActive:
			return false, nil
		case etag != "" && etag != r.Etag:
			return false, staleEtag("relationship", id)
		}
		return r.Remove(v.userID, now), nil
	})
	return rel, tenantNotFound(err, "relationship", id)
}

// CheckRelationship answers whether a partner may sell to and provision for a customer now (ID-4,
// DA-6). Services may ask about any pair; a partner's users only about their own partner
// (TENANT_MISMATCH). To a partner user, a customer it never had a relationship with looks exactly
// like one that does not exist: NO_RELATIONSHIP and no facts about the customer (ID-8).
func (a *App) CheckRelationship(ctx context.Context, partnerID, customerID string) (domain.RelationshipCheck, error) {
	v, err := tenantViewerOf(ctx)
	if err != nil {
		return domain.RelationshipCheck{}, err
	}
	if err := v.require(append(tenantPartnerRoles(), auth.Service)...); err != nil {
		return domain.RelationshipCheck{}, err
	}
	var bad errs.Violations
	checkID(&bad, "partner_id", partnerID)
	checkID(&bad, "customer_id", customerID)
	if err := bad.Err(); err != nil {
		return domain.RelationshipCheck{}, err
	}
	if !v.all && (v.partnerID == "" || v.partnerID != partnerID) {
		return domain.RelationshipCheck{}, errs.New(errs.PermissionDenied, errs.ReasonTenantMismatch,
			"a partner's users may check only their own partner's relationships")
	}
	var cust *domain.Customer
	var partner *domain.Partner
	var latest *domain.Relationship
	if c, err := a.repo.Customer(ctx, customerID); err == nil {
		cust = &c
	} else if errs.KindOf(err) != errs.NotFound {
		return domain.RelationshipCheck{}, err
	}
	if p, err := a.repo.Partner(ctx, partnerID); err == nil {
		partner = &p
	} else if errs.KindOf(err) != errs.NotFound {
		return domain.RelationshipCheck{}, err
	}
	if cust != nil && partner != nil {
		if r, err := a.repo.LatestRelationship(ctx, partnerID, customerID); err == nil {
			latest = &r
		} else if errs.KindOf(err) != errs.NotFound {
			return domain.RelationshipCheck{}, err
		}
	}
	out := domain.CheckRelationshipOf(cust, partner, latest)
	if !v.all && latest == nil {
		out.Denial, out.CustomerCountryCode, out.CustomerPartnerManaged = domain.DenialNoRelationship, "", false
	}
	return out, nil
}

// MoveCustomer lets the caller's partner take a customer over from another partner (ID-5). The
// customer consented by accepting the caller's invitation, so the caller must hold an ACTIVE
// relationship with it: a customer it never had one with is invisible (RESOURCE_NOT_FOUND,
// ID-8), one whose relationship ended is RELATIONSHIP_REQUIRED. The source must hold an ACTIVE
// relationship (else RESOURCE_NOT_FOUND), and the caller's partner must be in the customer's
// country (NOT_SAME_COUNTRY). The source relationship ends MOVED and the move is recorded; no
// tenant data moves (ID-7).
func (a *App) MoveCustomer(ctx context.Context, customerID, sourcePartnerID string) (domain.CustomerMove, domain.Relationship, error) {
	v, err := tenantViewerOf(ctx)
	if err != nil {
		return domain.CustomerMove{}, domain.Relationship{}, err
	}
	if err := v.require(auth.AccountAdmin, auth.SalesAgent, auth.AdminAgent); err != nil {
		return domain.CustomerMove{}, domain.Relationship{}, err
	}
	if v.partnerID == "" {
		return domain.CustomerMove{}, domain.Relationship{}, errs.New(errs.PermissionDenied, errs.ReasonRoleRequired,
			"only a partner's users take customers over")
	}
	var bad errs.Violations
	checkID(&bad, "customer_id", customerID)
	checkID(&bad, "source_partner_id", sourcePartnerID)
	if sourcePartnerID == v.partnerID {
		bad.Add("source_partner_id", "must differ from the caller's partner")
	}
	if err := bad.Err(); err != nil {
		return domain.CustomerMove{}, domain.Relationship{}, err
	}
	c, err := a.repo.Customer(ctx, customerID)
	if err != nil {
		return domain.CustomerMove{}, domain.Relationship{}, tenantNotFound(err, "customer", customerID)
	}
	target, err := a.repo.Partner(ctx, v.partnerID)
	if err != nil {
		return domain.CustomerMove{}, domain.Relationship{}, tenantNotFound(err, "partner", v.partnerID)
	}
	now := a.stamp()
	move, rel, err := a.repo.MoveCustomer(ctx, customerID, sourcePartnerID, v.partnerID,
		func(targetLatest, sourceActive *domain.Relationship) (domain.CustomerMove, error) {
			switch {
			case targetLatest == nil:
				return domain.CustomerMove{}, errs.NotFoundf("customer", customerID)
			case targetLatest.State != domain.RelationshipActive:
				return domain.CustomerMove{}, domain.RelationshipRequired(target.ID, customerID)
			case sourceActive == nil:
				return domain.CustomerMove{}, errs.NotFoundf("relationship", sourcePartnerID+"/"+customerID)
			}
			return domain.Move(c, target, *targetLatest, sourceActive, v.userID, now)
		})
	if err != nil {
		return domain.CustomerMove{}, domain.Relationship{}, err
	}
	return move, rel, nil
}
