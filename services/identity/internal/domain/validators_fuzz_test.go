package domain

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// FuzzParseMarkets: every market ParseMarkets returns is a built-in one with a well-formed country
// and currency code, listed once, in order; the list written back as a setting parses to the same
// markets; an empty setting is every built-in market.
func FuzzParseMarkets(f *testing.F) {
	for _, s := range []string{"", "DE,AT,US", " de , us ,DE", "XX", "DE,,AT", "D E", "ÄT", "GB;FR"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, setting string) {
		m, err := ParseMarkets(setting)
		if err != nil {
			return
		}
		list := m.List()
		if strings.TrimSpace(setting) == "" && len(list) != len(builtinMarkets()) {
			t.Fatalf("empty setting: %d markets", len(list))
		}
		var codes []string
		for i, x := range list {
			if !ValidCountryCode(x.CountryCode) || len(x.CurrencyCode) != 3 || strings.ToUpper(x.CurrencyCode) != x.CurrencyCode {
				t.Fatalf("ParseMarkets(%q): market %+v", setting, x)
			}
			if i > 0 && list[i-1].CountryCode >= x.CountryCode {
				t.Fatalf("ParseMarkets(%q): not ordered or listed twice: %v", setting, list)
			}
			if got, ok := m.Lookup(x.CountryCode); !ok || got != x {
				t.Fatalf("Lookup(%q) = %+v, %v", x.CountryCode, got, ok)
			}
			codes = append(codes, x.CountryCode)
		}
		again, err := ParseMarkets(strings.Join(codes, ","))
		if err != nil || !reflect.DeepEqual(again.List(), list) {
			t.Fatalf("ParseMarkets(%q) = %v, %v; want %v", strings.Join(codes, ","), again.List(), err, list)
		}
	})
}

// FuzzParseServiceCredentials: a setting written from names and secrets parses to their hashes
// exactly when every name is valid and unique and every secret long enough; an arbitrary setting
// never panics, and no error ever contains a secret (it may be logged).
func FuzzParseServiceCredentials(f *testing.F) {
	f.Add("orders", "s3cr3t-s3cr3t-s3cr3t", "keys", "another-secret-value", "")
	f.Add("Orders", "s3cr3t-s3cr3t-s3cr3t", "orders", "short", "")
	f.Add("9x", "sixteen-chars-ok", "a-b", "sixteen-chars-ok", "")
	f.Add("", "", "", "", "orders=s3cr3t-s3cr3t-s3cr3t,keys")
	f.Add("", "", "", "", "s3cr3t-s3cr3t-s3cr3t=orders")
	f.Add("", "", "", "", " orders = secretsecretsecret ")
	f.Fuzz(func(t *testing.T, n1, s1, n2, s2, raw string) {
		if raw != "" {
			out, err := ParseServiceCredentials(raw)
			if err == nil {
				for name := range out {
					if !validServiceName(name) {
						t.Fatalf("ParseServiceCredentials(%q) accepted the name %q", raw, name)
					}
				}
				return
			}
			for _, entry := range strings.Split(raw, ",") {
				name, secret, ok := strings.Cut(strings.TrimSpace(entry), "=")
				if ok && len(secret) >= 4 && !strings.Contains(name, secret) && !strings.Contains(fixedText, secret) &&
					strings.Contains(err.Error(), secret) {
					t.Fatalf("error %q contains the secret %q", err, secret)
				}
			}
			return
		}
		if strings.ContainsAny(n1+s1+n2+s2, ",") || strings.TrimSpace(s1) != s1 || strings.TrimSpace(s2) != s2 ||
			strings.TrimSpace(n1) != n1 || strings.TrimSpace(n2) != n2 || strings.Contains(n1+n2, "=") {
			return // not expressible in the setting's syntax
		}
		out, err := ParseServiceCredentials(n1 + "=" + s1 + "," + n2 + "=" + s2)
		want := validName(n1) && validName(n2) && n1 != n2 && len(s1) >= MinServiceSecretLen && len(s2) >= MinServiceSecretLen
		if (err == nil) != want {
			t.Fatalf("ParseServiceCredentials(%q=…, %q=…) = %v; want accepted=%v", n1, n2, err, want)
		}
		if err == nil && (len(out) != 2 || string(out[n1]) != string(HashSecret(s1)) || string(out[n2]) != string(HashSecret(s2))) {
			t.Fatalf("ParseServiceCredentials: %x", out)
		}
		if err != nil && (len(s1) >= 4 && strings.Contains(err.Error(), s1) && !strings.Contains(n1+n2+fixedText, s1) ||
			len(s2) >= 4 && strings.Contains(err.Error(), s2) && !strings.Contains(n1+n2+fixedText, s2)) {
			t.Fatalf("error %q contains a secret", err)
		}
	})
}

// fixedText is the constant part of ParseServiceCredentials' messages.
const fixedText = `service-credentials: entry "=…" is not name=secret with a lower-case name; the secret of "" has fewer than 16 characters; "" is given twice`

// validName is the documented name rule: lower-case letters, digits and '-', starting with a letter.
func validName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == ""
}

// FuzzCustomerDraftValidate: Validate's normal form is a fixed point — a draft it accepts,
// validated again, is accepted unchanged — and an accepted draft has a trimmed organisation name
// and admin name, a country code, a domain prefix, and an admin user name (lower case) in the
// default domain. A refusal is INVALID_ARGUMENT with field violations.
func FuzzCustomerDraftValidate(f *testing.F) {
	f.Add("Contoso Ltd", "DE", "contoso", "", "Ada Lovelace", "ada@contoso.example", false, "Bob", "bob@contoso.example", "+4930123456")
	f.Add(" Fabrikam ", "US", "fabrikam2", "Admin@FABRIKAM2.onmicrosoft.com ", " Admin ", " a@b.example ", true, "", "", "")
	f.Add("", "de", "2contoso", "admin@other.onmicrosoft.com", "", "not-an-email", true, "x", "y", "12345")
	f.Add("Ǆ", "ZZ", "ab", "a..b@ab.onmicrosoft.com", "\xff", "a@b", true, "Name", "n@example.com", "+0123")
	f.Fuzz(func(t *testing.T, org, country, prefix, user, adminName, adminEmail string, hasContact bool, cName, cEmail, cPhone string) {
		d := CustomerDraft{OrganisationName: org, CountryCode: country, DomainPrefix: prefix, AdminUserName: user,
			AdminDisplayName: adminName, AdminEmail: adminEmail}
		if hasContact {
			d.Contact = &Contact{Name: cName, Email: cEmail, Phone: cPhone}
		}
		const suffix = ".onmicrosoft.com"
		got, err := d.Validate(suffix)
		if err != nil {
			if e, ok := errs.As(err); !ok || e.Kind != errs.InvalidArgument || len(e.Violations) == 0 {
				t.Fatalf("Validate = %v", err)
			}
			return
		}
		again, err := got.Validate(suffix)
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("Validate is not a fixed point: %+v → %+v, %v", got, again, err)
		}
		dom := DefaultDomain(got.DomainPrefix, suffix)
		switch {
		case strings.TrimSpace(got.OrganisationName) != got.OrganisationName || !utf8.ValidString(got.OrganisationName),
			strings.TrimSpace(got.AdminDisplayName) != got.AdminDisplayName,
			!ValidCountryCode(got.CountryCode), !ValidDomainPrefix(got.DomainPrefix),
			got.AdminUserName != strings.ToLower(got.AdminUserName), !strings.HasSuffix(got.AdminUserName, "@"+dom),
			strings.Count(got.AdminUserName, "@") != 1:
			t.Fatalf("Validate accepted %+v", got)
		}
	})
}
