package app

import (
	"context"
	"time"

	"github.com/partnerhub/partnerhub/services/identity/internal/domain"
)

// TenantRepo is the persistence of customers, reseller relationships, invitations and moves.
// As in OrgRepo, the Update methods run the closure inside one transaction over the current row
// and write only when it reports a change; closures may run more than once (a conflicting
// transaction is retried), so they must be free of side effects. Missing rows are ErrNotFound.
// Relationships and invitations come back with the display names of their partner and customer
// (read at the time of the call, not stored).
type TenantRepo interface {
	// CreateCustomer stores a new tenant, its first admin user, that user's API credential and,
	// when a partner creates the tenant, the partner's ACTIVE relationship, in one transaction
	// (ID-2, ID-4, ID-6). A default domain in use gives DOMAIN_TAKEN, a user name in use
	// USER_NAME_TAKEN; nothing is then stored.
	CreateCustomer(ctx context.Context, c domain.Customer, admin domain.User, cred domain.Credential, rel *domain.Relationship) error
	Customer(ctx context.Context, id string) (domain.Customer, error)
	// DefaultDomainInUse reports whether a tenant has the default domain.
	DefaultDomainInUse(ctx context.Context, defaultDomain string) (bool, error)
	// ListCustomers returns up to limit customers after the filter's cursor, ordered by
	// organisation name, then ID.
	ListCustomers(ctx context.Context, f CustomerFilter, limit int) ([]domain.Customer, error)
	UpdateCustomer(ctx context.Context, id string, update func(c *domain.Customer) (bool, error)) (domain.Customer, error)

	Relationship(ctx context.Context, id string) (domain.Relationship, error)
	// LatestRelationship returns the pair's ACTIVE relationship if it has one, else the one that
	// ended last; ErrNotFound when the pair never had one.
	LatestRelationship(ctx context.Context, partnerID, customerID string) (domain.Relationship, error)
	// ListRelationships returns up to limit relationships after the filter's cursor, ordered by
	// start time, then ID.
	ListRelationships(ctx context.Context, f RelationshipFilter, limit int) ([]domain.Relationship, error)
	UpdateRelationship(ctx context.Context, id string, update func(r *domain.Relationship) (bool, error)) (domain.Relationship, error)

	// AddInvitation stores a new invitation. A code already in use (a collision of random codes)
	// gives an ALREADY_EXISTS error, so the caller can draw another.
	AddInvitation(ctx context.Context, inv domain.Invitation) error
	Invitation(ctx context.Context, id string) (domain.Invitation, error)
	// InvitationByCode returns the invitation with a normalised (upper-case) code.
	InvitationByCode(ctx context.Context, code string) (domain.Invitation, error)
	// ListInvitations returns up to limit invitations of one partner before the filter's cursor,
	// newest first.
	ListInvitations(ctx context.Context, f InvitationFilter, limit int) ([]domain.Invitation, error)
	UpdateInvitation(ctx context.Context, id string, update func(inv *domain.Invitation) (bool, error)) (domain.Invitation, error)
	// AcceptInvitation accepts the invitation with a code for customer c in one transaction:
	// accept gets the invitation, its partner and whether the pair already has an ACTIVE
	// relationship, and returns the new relationship after changing the invitation. The
	// invitation is written with a conditional update on state PENDING, so under concurrent
	// accepts of one code exactly one wins (ID-4: single use); the losers get
	// INVITATION_ALREADY_USED.
	AcceptInvitation(ctx context.Context, code string, c domain.Customer,
		accept func(inv *domain.Invitation, p domain.Partner, hasActive bool) (domain.Relationship, error)) (domain.Invitation, domain.Relationship, error)
	// MoveCustomer runs a take-over in one transaction (ID-5, ID-7): move gets the target
	// partner's latest relationship with the customer and the source partner's ACTIVE one (nil
	// when there is none), ends the source relationship and returns the move record; the repo
	// then stores both. It returns the move and the target's relationship.
	MoveCustomer(ctx context.Context, customerID, sourcePartnerID, targetPartnerID string,
		move func(targetLatest, sourceActive *domain.Relationship) (domain.CustomerMove, error)) (domain.CustomerMove, domain.Relationship, error)
}

// CustomerFilter selects customers for ListCustomers; the zero value selects all from the start.
type CustomerFilter struct {
	PartnerID     string // only customers with an ACTIVE relationship with this partner (ID-8); "" for all
	CustomerID    string // only this tenant (a customer caller's own, ID-8); "" for all
	CountryCode   string // "" for all
	DefaultDomain string // exact; "" for all
	NameContains  string // substring of the folded organisation name (domain.FoldOrganisationName); "" for all
	// The cursor: only customers after (AfterName, AfterID); both empty for the first page.
	AfterName string
	AfterID   string
}

// RelationshipFilter selects relationships for ListRelationships.
type RelationshipFilter struct {
	PartnerID  string                     // "" for all
	CustomerID string                     // "" for all
	States     []domain.RelationshipState // at least one
	// The cursor: only relationships after (AfterStartTime, AfterID); zero for the first page.
	AfterStartTime time.Time
	AfterID        string
}

// InvitationFilter selects the invitations of one partner for ListInvitations.
type InvitationFilter struct {
	PartnerID string
	// State as callers see it at Now (domain.Invitation.StateAt: PENDING past its expiry is
	// EXPIRED); "" for all.
	State domain.InvitationState
	Now   time.Time
	// The cursor: only invitations before (BeforeCreateTime, BeforeID) in newest-first order;
	// zero for the first page.
	BeforeCreateTime time.Time
	BeforeID         string
}
