// Package domain holds delegatedadmin's entities and rules: the delegated-admin relationship
// (DA-1, DA-5), its clock-driven lifecycle, the validation of offers, and the access decision
// every administrative call relies on (DA-6). No proto, no SQL, no I/O: every function here is
// pure, and every time it reasons about is passed in.
package domain

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// Role is an admin role a relationship grants in the customer tenant (DA-5): the name of a
// partnerhub.delegatedadmin.v1.AdminRole value without its ADMIN_ROLE_ prefix.
type Role string

// The admin roles, in the order of the contract enum.
const (
	RoleGlobalAdministrator         Role = "GLOBAL_ADMINISTRATOR"
	RoleUserAdministrator           Role = "USER_ADMINISTRATOR"
	RoleLicenseAdministrator        Role = "LICENSE_ADMINISTRATOR"
	RoleHelpdeskAdministrator       Role = "HELPDESK_ADMINISTRATOR"
	RoleBillingAdministrator        Role = "BILLING_ADMINISTRATOR"
	RoleServiceSupportAdministrator Role = "SERVICE_SUPPORT_ADMINISTRATOR"
	RoleGlobalReader                Role = "GLOBAL_READER"
	RoleDirectoryReader             Role = "DIRECTORY_READER"
	RoleSecurityAdministrator       Role = "SECURITY_ADMINISTRATOR"
	RoleExchangeAdministrator       Role = "EXCHANGE_ADMINISTRATOR"
	RoleSharePointAdministrator     Role = "SHAREPOINT_ADMINISTRATOR"
	RoleTeamsAdministrator          Role = "TEAMS_ADMINISTRATOR"
)

// AllRoles returns every admin role in contract order: what a legacy full-admin (DAP)
// relationship grants (DA-5). The order is persisted (role bit masks), so new roles are only
// ever appended.
func AllRoles() []Role {
	return []Role{
		RoleGlobalAdministrator, RoleUserAdministrator, RoleLicenseAdministrator, RoleHelpdeskAdministrator,
		RoleBillingAdministrator, RoleServiceSupportAdministrator, RoleGlobalReader, RoleDirectoryReader,
		RoleSecurityAdministrator, RoleExchangeAdministrator, RoleSharePointAdministrator, RoleTeamsAdministrator,
	}
}

// RoleIndex is the role's position in AllRoles (its contract value minus one), or -1 for a name
// that is not a role.
func RoleIndex(r Role) int { return slices.Index(AllRoles(), r) }

// Valid reports whether r is an admin role (not UNSPECIFIED, not unknown).
func (r Role) Valid() bool { return RoleIndex(r) >= 0 }

// SortRoles orders roles as the contract enum does ("ordered by value").
func SortRoles(roles []Role) {
	slices.SortFunc(roles, func(a, b Role) int { return RoleIndex(a) - RoleIndex(b) })
}

// State is a relationship's lifecycle state: a partnerhub.delegatedadmin.v1.RelationshipState
// name without its prefix.
type State string

// The states of DA-5.
const (
	StatePending    State = "PENDING"
	StateActive     State = "ACTIVE"
	StateExpiring   State = "EXPIRING"
	StateExpired    State = "EXPIRED"
	StateTerminated State = "TERMINATED"
	StateRejected   State = "REJECTED"
)

// AllStates returns every state in contract order.
func AllStates() []State {
	return []State{StatePending, StateActive, StateExpiring, StateExpired, StateTerminated, StateRejected}
}

// Valid reports whether s is a lifecycle state.
func (s State) Valid() bool { return slices.Contains(AllStates(), s) }

// InForce reports whether a relationship in state s grants its roles (DA-6).
func (s State) InForce() bool { return s == StateActive || s == StateExpiring }

// Final reports whether nothing can change a relationship in state s any more.
func (s State) Final() bool {
	return s == StateExpired || s == StateTerminated || s == StateRejected
}

// Party is one side of a relationship (who terminated it).
type Party string

// The parties; PartyNone while not terminated.
const (
	PartyNone     Party = ""
	PartyPartner  Party = "PARTNER"
	PartyCustomer Party = "CUSTOMER"
)

// The limits of DA-5 and the contract.
const (
	// Day is a day of the lifecycle: 24 hours of UTC, so leap years and daylight saving never
	// change a duration.
	Day = 24 * time.Hour
	// MinDurationDays and MaxDurationDays bound a relationship's duration (DA-5: at most 730 days).
	MinDurationDays = 1
	MaxDurationDays = 730
	// ExtendDays is the one auto-extension period the contract allows (0 switches it off).
	ExtendDays = 180
	// OfferLifetime is how long a PENDING offer waits for approval before it lapses to EXPIRED.
	OfferLifetime = 90 * Day
	// ExpiringWindow is how long before end_time a relationship without auto-extend shows as
	// EXPIRING.
	ExpiringWindow = 30 * Day
	// MaxDisplayName, MaxMessage and MaxReason are the text limits, in characters.
	MaxDisplayName = 50
	MaxMessage     = 1000
	MaxReason      = 1000
)

// Reasons raised by delegatedadmin's rules (all exist in partnerhub.common.v1.ErrorReason).
const (
	ReasonNotEligible           errs.Reason = "DELEGATED_ADMIN_NOT_ELIGIBLE"
	ReasonRelationshipRequired  errs.Reason = "RELATIONSHIP_REQUIRED"
	ReasonRelationshipNotActive errs.Reason = "RELATIONSHIP_NOT_ACTIVE"
	ReasonDurationOutOfRange    errs.Reason = "DURATION_OUT_OF_RANGE"
	ReasonOfferNotPending       errs.Reason = "OFFER_NOT_PENDING"
)

// Relationship is a delegated-admin relationship between a partner and a customer tenant (DA-1,
// DA-5). The stored fields are facts as of UpdateTime; At gives the relationship as of any later
// instant, so the clock-driven part of the lifecycle never depends on when it was persisted.
// Change it only through NewRelationship, At, Approve, Reject and Terminate, which keep Etag in
// step with the content.
type Relationship struct {
	ID              string
	PartnerID       string
	CustomerID      string
	DisplayName     string
	Roles           []Role // contract order, no duplicates; every role for legacy full admin
	LegacyFullAdmin bool
	DurationDays    int // 1..730; 0 for legacy full admin
	AutoExtendDays  int // 0 or 180; 0 for legacy full admin
	Message         string
	State           State
	ApprovalLink    string
	OfferExpireTime time.Time // CreateTime + 90 days
	ActivateTime    time.Time // zero until approved
	EndTime         time.Time // zero until approved, and for legacy full admin
	ExtendCount     int
	LastExtendTime  time.Time // zero if never extended
	CloseTime       time.Time // zero while PENDING, ACTIVE or EXPIRING
	TerminatedBy    Party
	CreatedByUserID string
	DecidedByUserID string
	CloseReason     string
	Etag            string
	CreateTime      time.Time
	UpdateTime      time.Time
}

// Offer is what a partner asks for when it sends an offer (DA-1, DA-5).
type Offer struct {
	CustomerID      string
	DisplayName     string
	Roles           []Role
	DurationDays    int
	AutoExtendDays  int
	LegacyFullAdmin bool
	Message         string
}

// Validate checks an offer: INVALID_ARGUMENT with a field violation per bad field. When the only
// problems are the duration or auto-extension, the reason is DURATION_OUT_OF_RANGE (DA-5);
// otherwise INVALID_REQUEST, listing every violation.
func (o Offer) Validate() error {
	var general, duration errs.Violations
	if !ValidID(o.CustomerID) {
		general.Add("customer_id", "required: the customer's tenant ID (a UUID)")
	}
	if n := utf8.RuneCountInString(o.DisplayName); n > MaxDisplayName {
		general.Add("display_name", "at most %d characters, got %d", MaxDisplayName, n)
	}
	if n := utf8.RuneCountInString(o.Message); n > MaxMessage {
		general.Add("message", "at most %d characters, got %d", MaxMessage, n)
	}
	if o.LegacyFullAdmin {
		// DA-5: the legacy form grants every role with no end, so it names no roles and no
		// duration.
		if len(o.Roles) > 0 {
			general.Add("roles", "must be empty with legacy_full_admin, which grants every role")
		}
		if o.DurationDays != 0 {
			duration.Add("duration_days", "must be 0 with legacy_full_admin (no end date), got %d", o.DurationDays)
		}
		if o.AutoExtendDays != 0 {
			duration.Add("auto_extend_days", "must be 0 with legacy_full_admin, got %d", o.AutoExtendDays)
		}
	} else {
		if len(o.Roles) == 0 {
			general.Add("roles", "at least one role is required (or legacy_full_admin)")
		}
		for i, r := range o.Roles {
			switch {
			case r == "" || r == "UNSPECIFIED":
				general.Add(roleField(i), "ADMIN_ROLE_UNSPECIFIED is not a role")
			case !r.Valid():
				general.Add(roleField(i), "unknown role %s", string(r))
			default:
				if j := slices.Index(o.Roles[:i], r); j >= 0 {
					general.Add(roleField(i), "duplicate of %s", roleField(j))
				}
			}
		}
		if o.DurationDays < MinDurationDays || o.DurationDays > MaxDurationDays {
			duration.Add("duration_days", "must be %d..%d days, got %d", MinDurationDays, MaxDurationDays, o.DurationDays)
		}
		if o.AutoExtendDays != 0 && o.AutoExtendDays != ExtendDays {
			duration.Add("auto_extend_days", "must be 0 (off) or %d days, got %d", ExtendDays, o.AutoExtendDays)
		}
	}
	if len(general) > 0 {
		return append(general, duration...).Err()
	}
	if len(duration) > 0 {
		e := errs.New(errs.InvalidArgument, ReasonDurationOutOfRange,
			"the duration must be %d..%d days and auto-extend 0 or %d days (DA-5)", MinDurationDays, MaxDurationDays, ExtendDays).
			With("duration_days", o.DurationDays).With("auto_extend_days", o.AutoExtendDays).
			With("min_days", MinDurationDays).With("max_days", MaxDurationDays).With("extend_days", ExtendDays)
		e.Violations = duration
		return e
	}
	return nil
}

func roleField(i int) string { return "roles[" + strconv.Itoa(i) + "]" }

// ValidateReason checks the free-text reason of a rejection or termination.
func ValidateReason(reason string) error {
	if n := utf8.RuneCountInString(reason); n > MaxReason {
		return errs.Invalid("reason", "at most %d characters, got %d", MaxReason, n)
	}
	return nil
}

// ValidID reports whether s is a UUID in its canonical 36-character form, the form every
// partnerhub ID takes (so one ID has one spelling).
func ValidID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

// NormalizeID lower-cases an ID, so a UUID written in upper case finds the same resource.
func NormalizeID(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// NewRelationship makes the PENDING relationship an offer creates (DA-1): the offer lapses 90
// days after now. The caller has checked eligibility (DA-2) and the reseller relationship (ID-4).
func NewRelationship(id, partnerID, createdBy, approvalLink string, o Offer, now time.Time) (Relationship, error) {
	if err := o.Validate(); err != nil {
		return Relationship{}, err
	}
	now = Instant(now)
	roles := slices.Clone(o.Roles)
	if o.LegacyFullAdmin {
		roles = AllRoles() // DA-5: DAP is every role
	}
	SortRoles(roles)
	r := Relationship{
		ID: id, PartnerID: partnerID, CustomerID: o.CustomerID, DisplayName: o.DisplayName,
		Roles: roles, LegacyFullAdmin: o.LegacyFullAdmin, DurationDays: o.DurationDays,
		AutoExtendDays: o.AutoExtendDays, Message: o.Message, State: StatePending,
		ApprovalLink: approvalLink, OfferExpireTime: now.Add(OfferLifetime),
		CreatedByUserID: createdBy, CreateTime: now, UpdateTime: now,
	}
	r.Etag = r.contentEtag()
	return r, nil
}

// Grants reports whether the relationship's roles include role: directly, through
// GLOBAL_ADMINISTRATOR (which satisfies every role), or as legacy full admin. It says nothing
// about the state; see InForce.
func (r Relationship) Grants(role Role) bool {
	return r.LegacyFullAdmin || slices.Contains(r.Roles, role) || slices.Contains(r.Roles, RoleGlobalAdministrator)
}

// Instant normalizes a time to what both database engines keep (UTC, microseconds), so a
// relationship computed in memory and the same one read back compare equal and hash to the
// same etag.
func Instant(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
