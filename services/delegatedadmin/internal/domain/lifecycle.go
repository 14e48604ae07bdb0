package domain

import (
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// The lifecycle of DA-5, exactly as the RelationshipState contract defines it:
//
//	PENDING  → ACTIVE (approved) | REJECTED (customer) | TERMINATED (withdrawn)
//	         → EXPIRED at offer_expire_time (create + 90 days, not approved)
//	ACTIVE   → EXPIRING at end_time − 30 days (no auto-extend)
//	         → at end_time with auto-extend: stays ACTIVE, end_time += 180 days (repeatedly)
//	EXPIRING → EXPIRED at end_time
//	ACTIVE, EXPIRING → TERMINATED (either side)
//	legacy full admin (DAP): ACTIVE with no end_time, never expires
//
// Clock-driven transitions happen at their scheduled instant, whenever they are computed or
// persisted: update_time and close_time are that instant, and the etag is a hash of the
// content. So a read that computes the state at now (At) and the sweeper that persists it later
// produce the very same resource, etag included, and a client's etag stays valid across the
// sweep.

// NextTransition returns when the clock next changes the relationship, and false when it never
// will (final states, legacy full admin).
func (r Relationship) NextTransition() (time.Time, bool) {
	switch r.State {
	case StatePending:
		return r.OfferExpireTime, true
	case StateActive:
		switch {
		case r.LegacyFullAdmin:
			return time.Time{}, false
		case r.AutoExtendDays > 0:
			return r.EndTime, true
		default:
			return r.EndTime.Add(-ExpiringWindow), true
		}
	case StateExpiring:
		return r.EndTime, true
	}
	return time.Time{}, false
}

// At returns the relationship as of now: every clock-driven transition due at or before now
// applied, in order (a transition scheduled exactly at now has happened). It is total: any
// stored relationship and any instant give an answer, and At never moves a relationship
// backwards (a now before UpdateTime changes nothing that is already done).
func (r Relationship) At(now time.Time) Relationship {
	for {
		at, ok := r.NextTransition()
		if !ok || now.Before(at) {
			return r
		}
		r = r.transition(at)
	}
}

// transition applies the one clock-driven transition scheduled at at.
func (r Relationship) transition(at time.Time) Relationship {
	switch r.State {
	case StatePending:
		// The offer lapsed unapproved (DA-5, 90 days).
		r.State, r.CloseTime = StateExpired, at
	case StateActive:
		if r.AutoExtendDays > 0 {
			// DA-5 auto-extend: at end_time an ACTIVE relationship goes on for 180 more days
			// instead of expiring.
			r.LastExtendTime = r.EndTime
			r.EndTime = r.EndTime.Add(time.Duration(r.AutoExtendDays) * Day)
			r.ExtendCount++
		} else {
			r.State = StateExpiring
		}
	case StateExpiring:
		r.State, r.CloseTime = StateExpired, at
	}
	// A relationship approved with 30 days or less is EXPIRING at once: its window opened
	// before it was approved, and update_time never goes backwards.
	if at.After(r.UpdateTime) {
		r.UpdateTime = at
	}
	r.Etag = r.contentEtag()
	return r
}

// Approve makes a PENDING offer ACTIVE at now (DA-1): end_time is now + duration (none for
// legacy full admin). A relationship of 30 days or less without auto-extend is EXPIRING at once.
// Anything but PENDING (as of now) is OFFER_NOT_PENDING.
func (r Relationship) Approve(by string, now time.Time) (Relationship, error) {
	now = Instant(now)
	r = r.At(now)
	if r.State != StatePending {
		return r, offerNotPending(r)
	}
	r.State, r.ActivateTime, r.DecidedByUserID, r.UpdateTime = StateActive, now, by, now
	if !r.LegacyFullAdmin {
		r.EndTime = now.Add(time.Duration(r.DurationDays) * Day)
	}
	r.Etag = r.contentEtag()
	return r.At(now), nil
}

// Reject makes a PENDING offer REJECTED at now (DA-1); it grants nothing, ever.
func (r Relationship) Reject(by, reason string, now time.Time) (Relationship, error) {
	if err := ValidateReason(reason); err != nil {
		return r, err
	}
	now = Instant(now)
	r = r.At(now)
	if r.State != StatePending {
		return r, offerNotPending(r)
	}
	r.State, r.CloseTime, r.DecidedByUserID, r.CloseReason, r.UpdateTime = StateRejected, now, by, reason, now
	r.Etag = r.contentEtag()
	return r, nil
}

// Terminate ends a PENDING (withdrawn), ACTIVE or EXPIRING relationship at now, from either side
// (DA-5). A TERMINATED one is returned unchanged (changed false); EXPIRED or REJECTED is
// RELATIONSHIP_NOT_ACTIVE.
func (r Relationship) Terminate(by Party, userID, reason string, now time.Time) (rel Relationship, changed bool, err error) {
	if err := ValidateReason(reason); err != nil {
		return r, false, err
	}
	now = Instant(now)
	r = r.At(now)
	switch r.State {
	case StateTerminated:
		return r, false, nil
	case StateExpired, StateRejected:
		return r, false, errs.New(errs.FailedPrecondition, ReasonRelationshipNotActive,
			"the relationship is %s and can no longer be terminated", r.State).
			With("state", r.State).With("relationship_id", r.ID)
	}
	r.State, r.CloseTime, r.TerminatedBy, r.DecidedByUserID, r.CloseReason, r.UpdateTime =
		StateTerminated, now, by, userID, reason, now
	r.Etag = r.contentEtag()
	return r, true, nil
}

// CheckEtag returns ABORTED / ETAG_MISMATCH unless etag is empty (no check) or the
// relationship's current one.
func (r Relationship) CheckEtag(etag string) error {
	if etag == "" || etag == r.Etag {
		return nil
	}
	return errs.New(errs.Aborted, errs.ReasonEtagMismatch,
		"the relationship changed since it was read; read it again").With("relationship_id", r.ID)
}

func offerNotPending(r Relationship) error {
	return errs.New(errs.FailedPrecondition, ReasonOfferNotPending,
		"the offer is %s, no longer pending", r.State).With("state", r.State).With("relationship_id", r.ID)
}

// contentEtag is the etag of the relationship's current content: a hash of everything that can
// change. Deterministic, so a clock transition computed by a read and the one the sweeper
// persists carry the same etag; and no content repeats (states only move forward, update_time
// never goes back), so an etag never comes back either.
func (r Relationship) contentEtag() string {
	h := sha256.New()
	for _, s := range []string{
		r.ID, string(r.State), micros(r.ActivateTime), micros(r.EndTime), strconv.Itoa(r.ExtendCount),
		micros(r.LastExtendTime), micros(r.CloseTime), string(r.TerminatedBy), r.DecidedByUserID,
		r.CloseReason, micros(r.UpdateTime),
	} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:15])
}

func micros(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.UnixMicro(), 10)
}
