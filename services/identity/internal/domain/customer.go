package domain

import (
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
)

// Limits of the customer contract (partnerhub.identity.v1.Customer, CreateCustomerRequest).
const (
	MaxOrganisationNameLen = 256 // characters (ID-2)
	MinDomainPrefixLen     = 2
	MaxDomainPrefixLen     = 27
)

// Contact is a person to reach at an organisation (e.g. for support requests, OR-6).
type Contact struct {
	Name  string
	Email string
	Phone string // E.164, may be empty
}

// IsZero reports whether no contact is set.
func (c Contact) IsZero() bool { return c == Contact{} }

// Customer is a customer tenant (ID-2). Country and default domain never change.
type Customer struct {
	ID                 string // tenant ID (UUID); the org ID of the tenant's users
	OrganisationName   string
	CountryCode        string
	DefaultDomain      string // "<prefix><suffix>", lower case, unique
	AdminUserID        string
	CreatedByPartnerID string // empty when no partner created the tenant (KD-2 self-redemption)
	PartnerManaged     bool   // ID-6: created by a partner, so the partner manages subscriptions
	Contact            Contact
	Etag               string
	CreateTime         time.Time
	UpdateTime         time.Time
}

// FoldOrganisationName is the case-folded organisation name the name_contains filter searches,
// so the search is case-insensitive on both SQL engines without relying on ILIKE or collations.
func FoldOrganisationName(s string) string { return strings.ToLower(s) }

// CustomerDraft is what a caller asks CreateCustomer for, before validation.
type CustomerDraft struct {
	OrganisationName string
	CountryCode      string
	DomainPrefix     string
	AdminUserName    string // empty: "admin@" + default domain (ID-2)
	AdminDisplayName string
	AdminEmail       string
	Contact          *Contact // nil: no contact
}

// Validate checks the draft's format (every problem at once, INVALID_ARGUMENT with field
// violations) and returns it normalised: names trimmed, user name lower case and defaulted.
// Whether the country is a market (ID-3) is the caller's next question: a well-formed but
// unserved country is COUNTRY_NOT_SUPPORTED, not bad input.
func (d CustomerDraft) Validate(domainSuffix string) (CustomerDraft, error) {
	var v errs.Violations
	d.OrganisationName = strings.TrimSpace(d.OrganisationName)
	CheckText("organisation_name", d.OrganisationName, false, MaxOrganisationNameLen, &v)
	if !ValidCountryCode(d.CountryCode) {
		v.Add("country_code", "must be ISO 3166-1 alpha-2, two upper-case letters, e.g. \"DE\"")
	}
	prefixOK := ValidDomainPrefix(d.DomainPrefix)
	if !prefixOK {
		v.Add("domain_prefix", "must be %d..%d characters a-z and 0-9, starting with a letter",
			MinDomainPrefixLen, MaxDomainPrefixLen)
	}
	d.AdminUserName = NormalizeUserName(d.AdminUserName)
	if prefixOK { // without a valid prefix there is no default domain to check the user name against
		dom := DefaultDomain(d.DomainPrefix, domainSuffix)
		if d.AdminUserName == "" {
			d.AdminUserName = "admin@" + dom
		}
		if UserNameDomain(d.AdminUserName) != dom {
			v.Add("admin.user_name", "must end in %q (ID-2)", "@"+dom)
		} else {
			CheckUserName("admin.user_name", d.AdminUserName, &v)
		}
	}
	d.AdminDisplayName = strings.TrimSpace(d.AdminDisplayName)
	CheckText("admin.display_name", d.AdminDisplayName, false, MaxDisplayNameLen, &v)
	d.AdminEmail = strings.TrimSpace(d.AdminEmail)
	CheckEmail("admin.email", d.AdminEmail, &v)
	if d.Contact != nil {
		c := checkCustomerContact(&v, "primary_contact", *d.Contact)
		d.Contact = &c
	}
	return d, v.Err()
}

// CheckCustomerUpdate validates the changes UpdateCustomer asks for (nil: unchanged), adds any
// problem to v and returns the changes normalised.
func CheckCustomerUpdate(name *string, contact *Contact, v *errs.Violations) (*string, *Contact) {
	if name != nil {
		n := strings.TrimSpace(*name)
		CheckText("organisation_name", n, false, MaxOrganisationNameLen, v)
		name = &n
	}
	if contact != nil {
		c := checkCustomerContact(v, "primary_contact", *contact)
		contact = &c
	}
	return name, contact
}

// NewCustomerTenant builds a validated draft into the tenant and its first admin user, who holds
// CUSTOMER_GLOBAL_ADMIN in the tenant (ID-2). createdByPartnerID is the creating partner, or
// empty when no partner creates it; a tenant created by a partner is partner-managed (ID-6).
func NewCustomerTenant(d CustomerDraft, domainSuffix, createdByPartnerID string, now time.Time) (Customer, User) {
	c := Customer{
		ID: uuid.NewString(), OrganisationName: d.OrganisationName, CountryCode: d.CountryCode,
		DefaultDomain: DefaultDomain(d.DomainPrefix, domainSuffix), CreatedByPartnerID: createdByPartnerID,
		PartnerManaged: createdByPartnerID != "", Etag: uuid.NewString(), CreateTime: now, UpdateTime: now,
	}
	if d.Contact != nil {
		c.Contact = *d.Contact
	}
	admin := User{
		ID: uuid.NewString(), OrgID: c.ID, OrgKind: auth.OrgCustomer, UserName: d.AdminUserName,
		DisplayName: d.AdminDisplayName, Email: d.AdminEmail, Roles: []auth.Role{auth.CustomerGlobalAdmin},
		Etag: uuid.NewString(), CreateTime: now, UpdateTime: now,
	}
	c.AdminUserID = admin.ID
	return c, admin
}

// ValidDomainPrefix reports whether p is a well-formed default domain prefix: 2..27 characters
// a-z and 0-9, starting with a letter (ID-2).
func ValidDomainPrefix(p string) bool {
	if len(p) < MinDomainPrefixLen || len(p) > MaxDomainPrefixLen || p[0] < 'a' || p[0] > 'z' {
		return false
	}
	for i := 0; i < len(p); i++ {
		if !(p[i] >= 'a' && p[i] <= 'z' || p[i] >= '0' && p[i] <= '9') {
			return false
		}
	}
	return true
}

// DefaultDomain is the tenant's default domain for a prefix, e.g. "contoso.onmicrosoft.com".
func DefaultDomain(prefix, suffix string) string { return strings.ToLower(prefix + suffix) }

// ValidE164Phone reports whether s is a phone number in E.164 form: "+", a non-zero digit, and
// 7 to 15 digits in all.
func ValidE164Phone(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkCustomerContact validates a contact (name 1..256, e-mail required, phone E.164 if set) and
// returns it trimmed.
func checkCustomerContact(v *errs.Violations, field string, c Contact) Contact {
	c = Contact{Name: strings.TrimSpace(c.Name), Email: strings.TrimSpace(c.Email), Phone: strings.TrimSpace(c.Phone)}
	CheckText(field+".name", c.Name, false, MaxDisplayNameLen, v)
	CheckEmail(field+".email", c.Email, v)
	if c.Phone != "" && !ValidE164Phone(c.Phone) {
		v.Add(field+".phone", "must be E.164, e.g. \"+4930123456\"")
	}
	return c
}

// CustomerCountryNotSupported is the ID-3 refusal: the country is well-formed but not a market.
func CustomerCountryNotSupported(countryCode string) *errs.Error {
	return errs.New(errs.FailedPrecondition, "COUNTRY_NOT_SUPPORTED",
		"the service is not offered in %q (ID-3)", countryCode).With("country_code", countryCode)
}

// CustomerDomainTaken is the ID-2 refusal of a default domain another tenant uses.
func CustomerDomainTaken(defaultDomain string) *errs.Error {
	return errs.New(errs.AlreadyExists, "DOMAIN_TAKEN",
		"the default domain %q is taken (ID-2)", defaultDomain).With("default_domain", defaultDomain)
}

// RelationshipRequired refuses an operation that needs the caller's partner to hold an ACTIVE
// reseller relationship with the customer (ID-4).
func RelationshipRequired(partnerID, customerID string) *errs.Error {
	return errs.New(errs.FailedPrecondition, "RELATIONSHIP_REQUIRED",
		"the partner has no active reseller relationship with the customer (ID-4)").
		With("partner_id", partnerID).With("customer_id", customerID)
}

// NotEnrolledIn refuses an operation the partner's programs do not allow (ID-1).
func NotEnrolledIn(partnerID string, anyOf ...Program) *errs.Error {
	return errs.New(errs.FailedPrecondition, ReasonProgramNotEnrolled,
		"the partner is enrolled in none of the programs %s (ID-1)", JoinNames(anyOf)).
		With("partner_id", partnerID).With("requires", JoinNames(anyOf))
}

// CustomerCreatePrograms are the programs that let a partner create customer tenants: the CSP
// programs and Open, whose key redemption creates tenants (ID-1, KD-2).
func CustomerCreatePrograms() []Program {
	return []Program{ProgramCSPDirect, ProgramCSPIndirectReseller, ProgramOpen}
}
