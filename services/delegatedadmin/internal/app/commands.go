package app

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/internal/domain"
)

// The roles of each side that may act on a relationship (DOMAIN.md role table: "send a
// delegated-admin offer"; the customer's Global admin decides, DA-1).
func partnerRoles() []auth.Role  { return []auth.Role{auth.AdminAgent, auth.AccountAdmin} }
func customerRoles() []auth.Role { return []auth.Role{auth.CustomerGlobalAdmin} }

// CreateRelationship sends a delegated-admin offer from the caller's partner to a customer
// (DA-1). The offer starts PENDING and grants nothing until approved.
func (a *App) CreateRelationship(ctx context.Context, o domain.Offer) (domain.Relationship, error) {
	c, err := callerOf(ctx)
	if err != nil {
		return domain.Relationship{}, err
	}
	if c.eff.OrgKind != auth.OrgPartner || !c.eff.HasRole(partnerRoles()...) {
		return domain.Relationship{}, roleRequired(partnerRoles()...)
	}
	o.CustomerID = domain.NormalizeID(o.CustomerID)
	if err := o.Validate(); err != nil {
		return domain.Relationship{}, err
	}
	partnerID := c.eff.OrgID
	facts, err := a.identity.Partner(ctx, partnerID)
	if err != nil {
		return domain.Relationship{}, fmt.Errorf("partner %s: %w", partnerID, err)
	}
	if !facts.Exists || !facts.DelegatedAdminEligible {
		// DA-2: only partners enrolled in DELEGATED_ADMIN may send offers.
		return domain.Relationship{}, errs.New(errs.FailedPrecondition, domain.ReasonNotEligible,
			"the partner is not enrolled in the delegated-admin program (DA-2)").With("partner_id", partnerID)
	}
	active, err := a.identity.ResellerRelationship(ctx, partnerID, o.CustomerID)
	if err != nil {
		return domain.Relationship{}, fmt.Errorf("reseller relationship %s/%s: %w", partnerID, o.CustomerID, err)
	}
	if !active {
		// ID-4: only a customer that accepted the partner as reseller gets offers; an unknown
		// customer gets the very same answer, so a partner learns nothing about other
		// organisations' tenants (ID-8).
		return domain.Relationship{}, errs.New(errs.FailedPrecondition, domain.ReasonRelationshipRequired,
			"the partner has no active reseller relationship with the customer (ID-4)").
			With("partner_id", partnerID).With("customer_id", o.CustomerID)
	}
	id := uuid.NewString()
	r, err := domain.NewRelationship(id, partnerID, c.eff.Subject, a.opts.ApprovalBaseURL+id, o, a.now())
	if err != nil {
		return domain.Relationship{}, err
	}
	if err := a.repo.Add(ctx, r); err != nil {
		return domain.Relationship{}, fmt.Errorf("add relationship: %w", err)
	}
	return r, nil
}

// ApproveRelationship approves a PENDING offer (DA-1): ACTIVE from now for its duration.
func (a *App) ApproveRelationship(ctx context.Context, id, etag string) (domain.Relationship, error) {
	return a.decide(ctx, id, etag, func(r domain.Relationship, by string, now time.Time) (domain.Relationship, error) {
		return r.Approve(by, now)
	})
}

// RejectRelationship rejects a PENDING offer (DA-1): REJECTED, it grants nothing.
func (a *App) RejectRelationship(ctx context.Context, id, etag, reason string) (domain.Relationship, error) {
	if err := domain.ValidateReason(reason); err != nil {
		return domain.Relationship{}, err
	}
	return a.decide(ctx, id, etag, func(r domain.Relationship, by string, now time.Time) (domain.Relationship, error) {
		return r.Reject(by, reason, now)
	})
}

// decide runs the customer's decision on an offer: only the Global admin of the relationship's
// customer may take it (DA-1).
func (a *App) decide(ctx context.Context, id, etag string,
	do func(r domain.Relationship, by string, now time.Time) (domain.Relationship, error)) (domain.Relationship, error) {
	c, err := callerOf(ctx)
	if err != nil {
		return domain.Relationship{}, err
	}
	if id, err = relationshipID(id); err != nil {
		return domain.Relationship{}, err
	}
	return a.update(ctx, c, id, etag, func(r domain.Relationship, now time.Time) (domain.Relationship, error) {
		if !c.isCustomer(r.CustomerID) || !c.eff.HasRole(customerRoles()...) {
			return r, roleRequired(customerRoles()...)
		}
		return do(r, c.eff.Subject, now)
	})
}

// TerminateRelationship ends a relationship from either side (DA-5): the partner's Admin agent
// or Account admin, or the customer's Global admin.
func (a *App) TerminateRelationship(ctx context.Context, id, etag, reason string) (domain.Relationship, error) {
	c, err := callerOf(ctx)
	if err != nil {
		return domain.Relationship{}, err
	}
	if id, err = relationshipID(id); err != nil {
		return domain.Relationship{}, err
	}
	if err := domain.ValidateReason(reason); err != nil {
		return domain.Relationship{}, err
	}
	return a.update(ctx, c, id, etag, func(r domain.Relationship, now time.Time) (domain.Relationship, error) {
		var side domain.Party
		switch {
		case c.isPartner(r.PartnerID) && c.eff.HasRole(partnerRoles()...):
			side = domain.PartyPartner
		case c.isCustomer(r.CustomerID) && c.eff.HasRole(customerRoles()...):
			side = domain.PartyCustomer
		default:
			return r, roleRequired(append(partnerRoles(), customerRoles()...)...)
		}
		r, _, err := r.Terminate(side, c.eff.Subject, reason, now)
		return r, err
	})
}

// update is the read-check-write of every command, in one transaction: NOT_FOUND unless the
// caller sees the relationship (ID-8), then the state as of now, then the etag, then fn. One now
// for the whole command, so a retried transaction decides exactly as the first attempt.
func (a *App) update(ctx context.Context, c caller, id, etag string,
	fn func(r domain.Relationship, now time.Time) (domain.Relationship, error)) (domain.Relationship, error) {
	now := a.now()
	r, err := a.repo.Update(ctx, id, func(r domain.Relationship) (domain.Relationship, error) {
		if !c.sees(r) {
			return r, errs.NotFoundf("relationship", id)
		}
		// The etag the caller holds is one of the relationship as of some now (reads compute
		// it), so compare against the relationship as of now too.
		r = r.At(now)
		if err := r.CheckEtag(etag); err != nil {
			return r, err
		}
		return fn(r, now)
	})
	if errs.KindOf(err) == errs.NotFound {
		return domain.Relationship{}, errs.NotFoundf("relationship", id)
	}
	if err != nil {
		return domain.Relationship{}, err
	}
	return r, nil
}
