package domain

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
)

const testSuffix = ".onmicrosoft.com"

func validDraft() CustomerDraft {
	return CustomerDraft{OrganisationName: " Contoso AG ", CountryCode: "DE", DomainPrefix: "contoso",
		AdminDisplayName: "Ada Admin", AdminEmail: "ada@contoso.example"}
}

func violationFields(t *testing.T, err error) []string {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.InvalidArgument || e.Reason != errs.ReasonInvalidRequest {
		t.Fatalf("err = %v; want INVALID_ARGUMENT / INVALID_REQUEST", err)
	}
	var fields []string
	for _, v := range e.Violations {
		fields = append(fields, v.Field)
	}
	slices.Sort(fields)
	return fields
}

// ID-2: a valid draft is normalised; the admin defaults to admin@<default domain>.
func TestCustomerDraft_ID2_DefaultsAndNormalises(t *testing.T) {
	d, err := validDraft().Validate(testSuffix)
	if err != nil {
		t.Fatal(err)
	}
	if d.OrganisationName != "Contoso AG" || d.AdminUserName != "admin@contoso.onmicrosoft.com" {
		t.Errorf("normalised draft %+v", d)
	}
	d2 := validDraft()
	d2.AdminUserName = "Ada.Lovelace@Contoso.onmicrosoft.com"
	if d2, err = d2.Validate(testSuffix); err != nil || d2.AdminUserName != "ada.lovelace@contoso.onmicrosoft.com" {
		t.Errorf("user name %q, %v; want it lower-cased", d2.AdminUserName, err)
	}
	c, admin := NewCustomerTenant(d, testSuffix, "p1", time.Unix(0, 0))
	if c.DefaultDomain != "contoso.onmicrosoft.com" || !c.PartnerManaged || c.AdminUserID != admin.ID ||
		admin.OrgID != c.ID || admin.OrgKind != auth.OrgCustomer || !slices.Equal(admin.Roles, []auth.Role{auth.CustomerGlobalAdmin}) {
		t.Errorf("tenant %+v admin %+v", c, admin)
	}
	if c, _ := NewCustomerTenant(d, testSuffix, "", time.Unix(0, 0)); c.PartnerManaged {
		t.Error("ID-6: a tenant created without a partner is partner-managed")
	}
}

// Every malformed field is reported at once, with its path.
func TestCustomerDraft_InvalidFields(t *testing.T) {
	d := CustomerDraft{OrganisationName: strings.Repeat("x", 257), CountryCode: "de", DomainPrefix: "1abc",
		AdminEmail: "not-an-address", Contact: &Contact{Name: "", Email: "", Phone: "0301234"}}
	_, err := d.Validate(testSuffix)
	want := []string{"admin.display_name", "admin.email", "country_code", "domain_prefix", "organisation_name",
		"primary_contact.email", "primary_contact.name", "primary_contact.phone"}
	if got := violationFields(t, err); !slices.Equal(got, want) {
		t.Errorf("violations %v, want %v", got, want)
	}

	d = validDraft()
	d.AdminUserName = "ada@fabrikam.onmicrosoft.com"
	if got := violationFields(t, func() error { _, err := d.Validate(testSuffix); return err }()); !slices.Equal(got, []string{"admin.user_name"}) {
		t.Errorf("user name of another domain: %v", got)
	}
}

func TestValidDomainPrefix_ID2(t *testing.T) {
	for p, want := range map[string]bool{
		"contoso": true, "c0": true, "a" + strings.Repeat("b", 26): true,
		"a": false, "a" + strings.Repeat("b", 27): false, "0contoso": false, "Contoso": false,
		"con-toso": false, "con.toso": false, "": false, "contosö": false,
	} {
		if got := ValidDomainPrefix(p); got != want {
			t.Errorf("ValidDomainPrefix(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestValidE164Phone(t *testing.T) {
	for p, want := range map[string]bool{
		"+4930123456": true, "+12025550123": true, "+1234567": true, "+123456789012345": true,
		"4930123456": false, "+0301234567": false, "+49 30 123456": false, "+123456": false, "+1234567890123456": false,
	} {
		if got := ValidE164Phone(p); got != want {
			t.Errorf("ValidE164Phone(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestCheckCustomerUpdate(t *testing.T) {
	var v errs.Violations
	name, contact := CheckCustomerUpdate(new(" Neu GmbH "), &Contact{Name: " Bob ", Email: "bob@x.example", Phone: "+4930123456"}, &v)
	if len(v) != 0 || *name != "Neu GmbH" || contact.Name != "Bob" {
		t.Errorf("valid update: %v %q %+v", v, *name, contact)
	}
	CheckCustomerUpdate(new(""), &Contact{Name: "Bob", Email: "bob"}, &v)
	if err := v.Err(); !slices.Equal(violationFields(t, err), []string{"organisation_name", "primary_contact.email"}) {
		t.Errorf("violations %v", err)
	}
}
