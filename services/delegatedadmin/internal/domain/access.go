package domain

import (
	"slices"
	"time"
)

// Denial says why an access check did not allow the access: an
// partnerhub.delegatedadmin.v1.AccessDenialReason name without its prefix.
type Denial string

// The denial reasons, and DenialNone for an allowed access.
const (
	DenialNone           Denial = ""
	DenialNoRelationship Denial = "NO_RELATIONSHIP"
	DenialPending        Denial = "PENDING"
	DenialExpired        Denial = "EXPIRED"
	DenialTerminated     Denial = "TERMINATED"
	DenialRejected       Denial = "REJECTED"
	DenialRoleNotGranted Denial = "ROLE_NOT_GRANTED"
)

// MaxAccessCacheTTL is the longest a caller may cache an access answer: termination stops
// access "at once" for new answers, so cached ones must not outlive this (DA-6).
const MaxAccessCacheTTL = 30 * time.Second

// MaxDenialCacheTTL is the longest a caller may cache a denial. A denial turns into a grant the
// moment the customer's Global admin approves an offer, and a partner who was just told "approved"
// should not wait half a minute to use it; a short denial cache still absorbs a burst of retries.
const MaxDenialCacheTTL = 5 * time.Second

// Access is the answer to "may this partner act in this tenant with this role now?" (DA-6).
type Access struct {
	Allowed bool
	Denial  Denial
	// RelationshipID is the granting relationship (the one ending last), or the one the denial
	// refers to (the most recently updated of its kind); empty for NO_RELATIONSHIP.
	RelationshipID string
	// GrantEnd is the granting relationship's end_time, a coming auto-extension not counted;
	// zero when denied and for legacy full admin.
	GrantEnd time.Time
	// CacheTTL is how long the answer holds: at most MaxAccessCacheTTL, and never past the next
	// clock-driven change of any relationship of the pair (the grant end among them), since
	// that is when the answer can next change without anyone acting.
	CacheTTL time.Duration
}

// denialOrder is the precedence of the AccessDenialReason contract: the first reason that any
// relationship of the pair gives wins.
func denialOrder() []Denial {
	return []Denial{DenialRoleNotGranted, DenialPending, DenialExpired, DenialTerminated, DenialRejected}
}

// denialOf is the reason a relationship in state s gives for not granting a role.
func denialOf(s State) Denial {
	switch s {
	case StateActive, StateExpiring:
		return DenialRoleNotGranted
	case StatePending:
		return DenialPending
	case StateExpired:
		return DenialExpired
	case StateTerminated:
		return DenialTerminated
	case StateRejected:
		return DenialRejected
	}
	return DenialNoRelationship
}

// DecideAccess answers an access check for role at now from every relationship between one
// partner and one customer (DA-6): allowed when an ACTIVE or EXPIRING relationship grants the
// role or GLOBAL_ADMINISTRATOR (legacy full admin grants all). rels are stored facts; each is
// taken as of now first, so the answer is exact whether or not the sweeper has run.
func DecideAccess(rels []Relationship, role Role, now time.Time) Access {
	ttl := MaxAccessCacheTTL
	var granting, denying []Relationship
	best := DenialNoRelationship
	for _, r := range rels {
		r = r.At(now)
		if next, ok := r.NextTransition(); ok {
			ttl = min(ttl, next.Sub(now))
		}
		if r.State.InForce() && r.Grants(role) {
			granting = append(granting, r)
			continue
		}
		d := denialOf(r.State)
		if rank(d) < rank(best) {
			best, denying = d, denying[:0]
		}
		if d == best {
			denying = append(denying, r)
		}
	}
	if len(granting) > 0 {
		g := slices.MaxFunc(granting, endsLater)
		a := Access{Allowed: true, RelationshipID: g.ID, CacheTTL: ttl}
		if !g.LegacyFullAdmin {
			a.GrantEnd = g.EndTime
			a.CacheTTL = min(ttl, g.EndTime.Sub(now))
		}
		return a
	}
	a := Access{Denial: best, CacheTTL: min(ttl, MaxDenialCacheTTL)}
	if len(denying) > 0 {
		a.RelationshipID = slices.MaxFunc(denying, updatedLater).ID
	}
	return a
}

// rank is a denial's precedence; NO_RELATIONSHIP comes last.
func rank(d Denial) int {
	if i := slices.Index(denialOrder(), d); i >= 0 {
		return i
	}
	return len(denialOrder())
}

// endsLater orders granting relationships by how long they grant: no end (legacy full admin)
// beats any end_time; ties go to the most recently updated, then the greater ID, so the choice
// never depends on row order.
func endsLater(a, b Relationship) int {
	switch {
	case a.LegacyFullAdmin != b.LegacyFullAdmin:
		if a.LegacyFullAdmin {
			return 1
		}
		return -1
	case !a.EndTime.Equal(b.EndTime):
		return a.EndTime.Compare(b.EndTime)
	}
	return updatedLater(a, b)
}

// updatedLater orders relationships by update_time, then ID.
func updatedLater(a, b Relationship) int {
	if c := a.UpdateTime.Compare(b.UpdateTime); c != 0 {
		return c
	}
	switch {
	case a.ID < b.ID:
		return -1
	case a.ID > b.ID:
		return 1
	}
	return 0
}
