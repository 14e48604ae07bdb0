package domain

import (
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
)

// Reasons of partnerhub.common.v1.ErrorReason raised by the user and credential rules.
const (
	ReasonUserNameTaken     errs.Reason = "USER_NAME_TAKEN"
	ReasonLastGlobalAdmin   errs.Reason = "LAST_GLOBAL_ADMIN"
	ReasonUserDisabled      errs.Reason = "USER_DISABLED"
	ReasonCredentialInvalid errs.Reason = "CREDENTIAL_INVALID" //nolint:gosec // G101: an error reason code, no credential
)

// Limits of the user fields (partnerhub.identity.v1.User).
const (
	MaxUserNameLen     = 113
	MaxDisplayNameLen  = 256
	MaxEmailLen        = 254
	MaxCredentialLabel = 100
)

// Org is an organisation users belong to: a partner (ID-1) or a customer tenant (ID-2).
type Org struct {
	ID            string
	Kind          auth.OrgKind
	DefaultDomain string // customers only: the domain of every user name of the tenant (ID-2)
}

// roleRank is a role's position in the contract enum partnerhub.common.v1.Role, which orders the
// roles of a user and a token ("ordered by value"); -1 for a name that is no role.
func roleRank(r auth.Role) int {
	return slices.Index([]auth.Role{
		auth.AdminAgent, auth.SalesAgent, auth.BillingAgent, auth.AccountAdmin, auth.GlobalAdmin,
		auth.ReferralAdmin, auth.MarketingContentAdmin, auth.HelpdeskAgent,
		auth.CustomerGlobalAdmin, auth.CustomerUser, auth.Service,
	}, r)
}

// ValidRole reports whether r names a role of the contract.
func ValidRole(r auth.Role) bool { return roleRank(r) >= 0 }

// RolesFor is the set of roles a user of an organisation kind may hold ("Actors and roles"):
// partner roles for a partner user, CUSTOMER_GLOBAL_ADMIN and CUSTOMER_USER for a customer user.
// SERVICE is held by no user.
func RolesFor(kind auth.OrgKind) []auth.Role {
	switch kind {
	case auth.OrgPartner:
		return []auth.Role{auth.AdminAgent, auth.SalesAgent, auth.BillingAgent, auth.AccountAdmin, auth.GlobalAdmin,
			auth.ReferralAdmin, auth.MarketingContentAdmin, auth.HelpdeskAgent}
	case auth.OrgCustomer:
		return []auth.Role{auth.CustomerGlobalAdmin, auth.CustomerUser}
	}
	return nil
}

// TopAdminRole is the role an organisation must never lose its last active holder of
// (LAST_GLOBAL_ADMIN): the partner's GLOBAL_ADMIN, the tenant's CUSTOMER_GLOBAL_ADMIN.
func TopAdminRole(kind auth.OrgKind) auth.Role {
	if kind == auth.OrgCustomer {
		return auth.CustomerGlobalAdmin
	}
	return auth.GlobalAdmin
}

// SortRoles orders roles by their contract value, in place, and returns them.
func SortRoles(roles []auth.Role) []auth.Role {
	slices.SortFunc(roles, func(a, b auth.Role) int { return roleRank(a) - roleRank(b) })
	return roles
}

// CheckRoles validates a role set on its own: at least one, each a real role, no duplicates,
// never SERVICE. It returns a sorted copy.
func CheckRoles(field string, roles []auth.Role, v *errs.Violations) []auth.Role {
	if len(roles) == 0 {
		v.Add(field, "at least one role is required")
		return nil
	}
	seen := map[auth.Role]bool{}
	for i, r := range roles {
		switch {
		case !ValidRole(r):
			v.Add(indexed(field, i), "not a role")
		case r == auth.Service:
			v.Add(indexed(field, i), "SERVICE is never assignable to a user")
		case seen[r]:
			v.Add(indexed(field, i), "duplicate role %s", r)
		}
		seen[r] = true
	}
	return SortRoles(slices.Clone(roles))
}

// CheckRolesFor validates that every role belongs to the role set of the organisation kind
// (call after CheckRoles).
func CheckRolesFor(kind auth.OrgKind, field string, roles []auth.Role, v *errs.Violations) {
	allowed := RolesFor(kind)
	for _, r := range roles {
		if ValidRole(r) && r != auth.Service && !slices.Contains(allowed, r) {
			v.Add(field, "%s is not a role of a %s user (allowed: %s)", r, strings.ToLower(string(kind)), JoinNames(allowed))
		}
	}
}

func indexed(field string, i int) string { return field + "[" + strconv.Itoa(i) + "]" }

// NormalizeUserName is the stored form of a sign-in name: trimmed, lower case (unique across
// partnerhub regardless of case).
func NormalizeUserName(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// CheckUserName validates a normalized sign-in name: local@domain, at most 113 characters, a
// local part of letters, digits and . _ + - ' (no leading, trailing or double dot), and a DNS
// domain of at least two labels.
func CheckUserName(field, name string, v *errs.Violations) {
	if name == "" {
		v.Add(field, "required")
		return
	}
	if len(name) > MaxUserNameLen {
		v.Add(field, "at most %d characters", MaxUserNameLen)
		return
	}
	local, dom, ok := strings.Cut(name, "@")
	if !ok || !validLocalPart(local) || !ValidDomainName(dom) {
		v.Add(field, "must be local@domain (letters, digits and . _ + - ' before the @, a DNS domain after it)")
	}
}

// UserNameDomain returns the domain of a sign-in name.
func UserNameDomain(name string) string {
	_, dom, _ := strings.Cut(name, "@")
	return dom
}

func validLocalPart(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("._+-'", r)) {
			return false
		}
	}
	return true
}

// ValidDomainName reports whether s is a lower-case DNS name of at least two labels.
func ValidDomainName(s string) bool {
	labels := strings.Split(s, ".")
	if len(labels) < 2 || len(s) > 253 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// CheckText validates a trimmed free text such as a display name: valid UTF-8, required unless
// optional, at most maxLen characters.
func CheckText(field, s string, optional bool, maxLen int, v *errs.Violations) {
	switch {
	case !utf8.ValidString(s):
		v.Add(field, "must be valid UTF-8")
	case s == "" && !optional:
		v.Add(field, "required")
	case utf8.RuneCountInString(s) > maxLen:
		v.Add(field, "at most %d characters", maxLen)
	}
}

// CheckEmail validates a contact e-mail address: required, a bare address (no display name).
func CheckEmail(field, s string, v *errs.Violations) {
	if s == "" {
		v.Add(field, "required")
		return
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || len(s) > MaxEmailLen {
		v.Add(field, "must be an e-mail address such as name@example.com")
	}
}

// HasRole reports whether the user holds the role.
func (u User) HasRole(r auth.Role) bool { return slices.Contains(u.Roles, r) }

// ActiveTopAdmin reports whether the user is an active holder of its organisation's top admin
// role, the role LAST_GLOBAL_ADMIN protects.
func (u User) ActiveTopAdmin() bool { return !u.Disabled && u.HasRole(TopAdminRole(u.OrgKind)) }

// ErrLastGlobalAdmin refuses a change that would leave an organisation without an active holder
// of its top admin role.
func ErrLastGlobalAdmin(u User) error {
	role := TopAdminRole(u.OrgKind)
	return errs.New(errs.FailedPrecondition, ReasonLastGlobalAdmin,
		"the change would leave the organisation without an active %s", role).
		With("org_id", u.OrgID).With("role", role)
}

// ErrUserNameTaken is the answer to a user name already in use anywhere in partnerhub.
func ErrUserNameTaken(name string) error {
	return errs.New(errs.AlreadyExists, ReasonUserNameTaken, "the user name is already in use").With("user_name", name)
}

// ErrUserDisabled refuses an operation on (or a token for) a disabled user.
func ErrUserDisabled() error {
	return errs.New(errs.PermissionDenied, ReasonUserDisabled, "the user is disabled")
}
