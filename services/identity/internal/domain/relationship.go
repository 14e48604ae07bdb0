package domain

import (
	"crypto/rand"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// RelationshipState is the lifecycle of a reseller relationship (ID-4), named as in
// partnerhub.identity.v1.ResellerRelationshipState without its prefix.
type RelationshipState string

// The relationship states. REMOVED and MOVED are final.
const (
	RelationshipActive  RelationshipState = "ACTIVE"
	RelationshipRemoved RelationshipState = "REMOVED"
	RelationshipMoved   RelationshipState = "MOVED"
)

// Valid reports whether s is one of the relationship states.
func (s RelationshipState) Valid() bool {
	return s == RelationshipActive || s == RelationshipRemoved || s == RelationshipMoved
}

// RelationshipOrigin says how a reseller relationship came to be.
type RelationshipOrigin string

// The origins.
const (
	OriginCustomerCreated    RelationshipOrigin = "CUSTOMER_CREATED"
	OriginInvitationAccepted RelationshipOrigin = "INVITATION_ACCEPTED"
)

// Relationship is a reseller relationship: the partner may sell to and provision for the customer
// while it is ACTIVE (ID-4). A customer may have several (multi-partner); a pair has at most one
// ACTIVE relationship at a time.
type Relationship struct {
	ID                       string
	PartnerID                string
	PartnerLegalName         string // for display; read from the partner, not stored with the relationship
	CustomerID               string
	CustomerOrganisationName string // for display; read from the customer
	State                    RelationshipState
	Origin                   RelationshipOrigin
	InvitationID             string // set when Origin is INVITATION_ACCEPTED
	StartTime                time.Time
	EndTime                  time.Time // zero while ACTIVE
	RemovedByUserID          string    // set when State is REMOVED
	Etag                     string
	CreateTime               time.Time
	UpdateTime               time.Time
}

// NewRelationship returns an ACTIVE relationship starting now.
func NewRelationship(p Partner, c Customer, origin RelationshipOrigin, invitationID string, now time.Time) Relationship {
	return Relationship{
		ID: uuid.NewString(), PartnerID: p.ID, PartnerLegalName: p.LegalName, CustomerID: c.ID,
		CustomerOrganisationName: c.OrganisationName, State: RelationshipActive, Origin: origin,
		InvitationID: invitationID, StartTime: now, Etag: uuid.NewString(), CreateTime: now, UpdateTime: now,
	}
}

// Remove ends an ACTIVE relationship by a user of either side. It reports whether anything
// changed: removing an ended (REMOVED or MOVED) relationship changes nothing, so a repeated
// removal answers what is already true instead of failing.
func (r *Relationship) Remove(byUserID string, now time.Time) bool {
	if r.State != RelationshipActive {
		return false
	}
	r.State, r.EndTime, r.RemovedByUserID = RelationshipRemoved, now, byUserID
	r.Etag, r.UpdateTime = uuid.NewString(), now
	return true
}

// EndByMove ends the source partner's ACTIVE relationship because another partner took the
// customer over (ID-5).
func (r *Relationship) EndByMove(now time.Time) {
	r.State, r.EndTime = RelationshipMoved, now
	r.Etag, r.UpdateTime = uuid.NewString(), now
}

// InvitationState is the lifecycle of a relationship invitation, named as in
// partnerhub.identity.v1.InvitationState without its prefix.
type InvitationState string

// The invitation states. All but PENDING are final.
const (
	InvitationPending   InvitationState = "PENDING"
	InvitationAccepted  InvitationState = "ACCEPTED"
	InvitationWithdrawn InvitationState = "WITHDRAWN"
	InvitationExpired   InvitationState = "EXPIRED"
)

// Valid reports whether s is one of the invitation states.
func (s InvitationState) Valid() bool {
	switch s {
	case InvitationPending, InvitationAccepted, InvitationWithdrawn, InvitationExpired:
		return true
	}
	return false
}

// InvitationMessageMax is the longest message a partner may send with an invitation.
const InvitationMessageMax = 1000

// DefaultInvitationTTL is how long an invitation is valid unless configured otherwise (ID-4).
const DefaultInvitationTTL = 30 * 24 * time.Hour

// Invitation is a partner's request for a reseller relationship (ID-4): a single-use code that
// the customer's Global admin accepts.
type Invitation struct {
	ID                   string
	PartnerID            string
	PartnerLegalName     string // for display; read from the partner
	PartnerCountryCode   string // for display; read from the partner
	Code                 string // InvitationCodeLen characters of InvitationCodeAlphabet
	Link                 string // base URL + code; derived, not stored
	Message              string
	State                InvitationState // as stored: PENDING stays PENDING past expiry, see StateAt
	ExpireTime           time.Time
	AcceptedByCustomerID string
	AcceptTime           time.Time
	RelationshipID       string
	CreatedByUserID      string
	Etag                 string
	CreateTime           time.Time
	UpdateTime           time.Time
}

// InvitationPrograms are the programs that let a partner request reseller relationships: the
// CSP programs (ID-1). Open partners buy key cards from a distributor and resell no
// subscriptions, so they invite no one.
func InvitationPrograms() []Program {
	return []Program{ProgramCSPDirect, ProgramCSPIndirectReseller}
}

// NewInvitation returns a PENDING invitation from partner p, created by user createdBy, valid
// for ttl from now. The partner must hold a CSP program (PROGRAM_NOT_ENROLLED, ID-1).
func NewInvitation(p Partner, createdBy, message string, now time.Time, ttl time.Duration) (Invitation, error) {
	if err := CheckInvitationMessage(message); err != nil {
		return Invitation{}, err
	}
	if !p.Enrolled(InvitationPrograms()...) {
		return Invitation{}, NotEnrolledIn(p.ID, InvitationPrograms()...)
	}
	return Invitation{
		ID: uuid.NewString(), PartnerID: p.ID, PartnerLegalName: p.LegalName, PartnerCountryCode: p.CountryCode,
		Code: NewInvitationCode(), Message: message, State: InvitationPending, ExpireTime: now.Add(ttl),
		CreatedByUserID: createdBy, Etag: uuid.NewString(), CreateTime: now, UpdateTime: now,
	}, nil
}

// CheckInvitationMessage validates an invitation message: 0..1000 characters of valid UTF-8.
func CheckInvitationMessage(message string) error {
	if !utf8.ValidString(message) || utf8.RuneCountInString(message) > InvitationMessageMax {
		return errs.Invalid("message", "at most %d characters of valid UTF-8", InvitationMessageMax)
	}
	return nil
}

// StateAt is the state as callers see it at now: a PENDING invitation is EXPIRED from its
// expire_time on (exactly create + TTL), whether or not anything has written that down yet.
func (i Invitation) StateAt(now time.Time) InvitationState {
	if i.State == InvitationPending && !now.Before(i.ExpireTime) {
		return InvitationExpired
	}
	return i.State
}

// usable returns nil if the invitation can still be accepted or withdrawn at now.
func (i Invitation) usable(now time.Time) error {
	switch i.StateAt(now) {
	case InvitationPending:
		return nil
	case InvitationExpired:
		return InvitationExpiredError(i.ExpireTime)
	}
	return InvitationAlreadyUsed(i.StateAt(now))
}

// Withdraw withdraws a PENDING invitation; its code stops working.
func (i *Invitation) Withdraw(now time.Time) error {
	if err := i.usable(now); err != nil {
		return err
	}
	i.State, i.Etag, i.UpdateTime = InvitationWithdrawn, uuid.NewString(), now
	return nil
}

// Accept accepts the invitation for customer c and returns the new ACTIVE relationship (ID-4).
// hasActive says whether the partner already holds an ACTIVE relationship with c
// (RELATIONSHIP_EXISTS: a pair has at most one). partner is the inviting partner.
func (i *Invitation) Accept(partner Partner, c Customer, hasActive bool, now time.Time) (Relationship, error) {
	if err := i.usable(now); err != nil {
		return Relationship{}, err
	}
	if hasActive {
		return Relationship{}, RelationshipExists(i.PartnerID, c.ID)
	}
	rel := NewRelationship(partner, c, OriginInvitationAccepted, i.ID, now)
	i.State, i.AcceptedByCustomerID, i.AcceptTime, i.RelationshipID = InvitationAccepted, c.ID, now, rel.ID
	i.Etag, i.UpdateTime = uuid.NewString(), now
	return rel, nil
}

// InvitationCodeAlphabet is the alphabet of invitation codes: A-Z and 2-9 without the
// characters people confuse when they read a code aloud or type it from paper: I and L (1),
// O (0). 0 and 1 are outside the alphabet anyway. 31 symbols, so a 16-character code carries
// 16·log2(31) ≈ 79 bits: unguessable within any rate limit.
const InvitationCodeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// InvitationCodeLen is the length of an invitation code.
const InvitationCodeLen = 16

// NewInvitationCode returns a fresh code from crypto/rand. Rejection sampling keeps every symbol
// equally likely (256 is not a multiple of 31).
func NewInvitationCode() string {
	const n = len(InvitationCodeAlphabet)
	const limit = 256 - 256%n // bytes at or above limit would favour the first symbols
	out := make([]byte, 0, InvitationCodeLen)
	buf := make([]byte, 2*InvitationCodeLen)
	for len(out) < InvitationCodeLen {
		_, _ = rand.Read(buf) // crypto/rand.Read never fails on supported platforms
		for _, b := range buf {
			if int(b) < limit && len(out) < InvitationCodeLen {
				out = append(out, InvitationCodeAlphabet[int(b)%n])
			}
		}
	}
	return string(out)
}

// NormaliseInvitationCode returns a code as stored (upper case, surrounding space trimmed) and
// whether it is well-formed; codes are case-insensitive for the customer typing them.
func NormaliseInvitationCode(code string) (string, bool) {
	c := strings.ToUpper(strings.TrimSpace(code))
	if len(c) != InvitationCodeLen {
		return c, false
	}
	for i := 0; i < len(c); i++ {
		if strings.IndexByte(InvitationCodeAlphabet, c[i]) < 0 {
			return c, false
		}
	}
	return c, true
}

// CustomerMove records that a partner took a customer over from another partner (ID-5). It is a
// record only: no tenant data moves (ID-7).
type CustomerMove struct {
	ID                   string
	CustomerID           string
	SourcePartnerID      string
	TargetPartnerID      string
	SourceRelationshipID string
	TargetRelationshipID string
	CountryCode          string
	MovedByUserID        string
	MoveTime             time.Time
}

// Move applies ID-5 and ID-7: target (the caller's partner, with its ACTIVE relationship
// targetRel) takes customer c over from the source partner's ACTIVE relationship sourceRel,
// which ends MOVED. The target partner must be in the customer's country.
func Move(c Customer, target Partner, targetRel Relationship, sourceRel *Relationship, byUserID string, now time.Time) (CustomerMove, error) {
	if target.CountryCode != c.CountryCode {
		return CustomerMove{}, errs.New(errs.FailedPrecondition, "NOT_SAME_COUNTRY",
			"a partner may take over only customers of its own country/region (ID-5)").
			With("partner_country", target.CountryCode).With("customer_country", c.CountryCode)
	}
	sourceRel.EndByMove(now)
	return CustomerMove{
		ID: uuid.NewString(), CustomerID: c.ID, SourcePartnerID: sourceRel.PartnerID, TargetPartnerID: target.ID,
		SourceRelationshipID: sourceRel.ID, TargetRelationshipID: targetRel.ID, CountryCode: c.CountryCode,
		MovedByUserID: byUserID, MoveTime: now,
	}, nil
}

// RelationshipDenial says why CheckRelationship found no ACTIVE relationship, named as in
// partnerhub.identity.v1.RelationshipDenialReason without its prefix; empty when active.
type RelationshipDenial string

// The denials.
const (
	DenialCustomerNotFound RelationshipDenial = "CUSTOMER_NOT_FOUND"
	DenialPartnerNotFound  RelationshipDenial = "PARTNER_NOT_FOUND"
	DenialNoRelationship   RelationshipDenial = "NO_RELATIONSHIP"
	DenialRemoved          RelationshipDenial = "REMOVED"
	DenialMoved            RelationshipDenial = "MOVED"
)

// RelationshipCheckTTL is how long a CheckRelationship answer may be cached: a removal takes at
// most that long to be seen everywhere (eventual consistency, as OR-4).
const RelationshipCheckTTL = 30 * time.Second

// RelationshipCheck is the answer of CheckRelationship (ID-4, DA-6).
type RelationshipCheck struct {
	Active                 bool
	Denial                 RelationshipDenial
	RelationshipID         string
	CustomerCountryCode    string
	PartnerCountryCode     string
	CustomerPartnerManaged bool
	CacheTTL               time.Duration
}

// CheckRelationshipOf answers CheckRelationship from what exists: the customer and partner (nil
// when they do not exist) and the pair's latest relationship (nil when there never was one).
func CheckRelationshipOf(c *Customer, p *Partner, latest *Relationship) RelationshipCheck {
	out := RelationshipCheck{CacheTTL: RelationshipCheckTTL}
	if c != nil {
		out.CustomerCountryCode, out.CustomerPartnerManaged = c.CountryCode, c.PartnerManaged
	}
	if p != nil {
		out.PartnerCountryCode = p.CountryCode
	}
	switch {
	case c == nil:
		out.Denial = DenialCustomerNotFound
	case p == nil:
		out.Denial = DenialPartnerNotFound
	case latest == nil:
		out.Denial = DenialNoRelationship
	case latest.State == RelationshipActive:
		out.Active, out.RelationshipID = true, latest.ID
	case latest.State == RelationshipMoved:
		out.Denial, out.RelationshipID = DenialMoved, latest.ID
	default:
		out.Denial, out.RelationshipID = DenialRemoved, latest.ID
	}
	return out
}

// InvitationExpiredError refuses an invitation past its expire_time.
func InvitationExpiredError(expiredAt time.Time) *errs.Error {
	return errs.New(errs.FailedPrecondition, "INVITATION_EXPIRED", "the invitation has expired").
		With("expired_at", expiredAt.UTC().Format(time.RFC3339Nano))
}

// InvitationAlreadyUsed refuses an invitation that was accepted or withdrawn: codes are single
// use (ID-4).
func InvitationAlreadyUsed(state InvitationState) *errs.Error {
	return errs.New(errs.FailedPrecondition, "INVITATION_ALREADY_USED", "the invitation was already %s",
		strings.ToLower(string(state))).With("state", string(state))
}

// RelationshipExists refuses a second ACTIVE relationship for a pair.
func RelationshipExists(partnerID, customerID string) *errs.Error {
	return errs.New(errs.FailedPrecondition, "RELATIONSHIP_EXISTS",
		"the customer already has an active relationship with this partner").
		With("partner_id", partnerID).With("customer_id", customerID)
}
