package tenancy

import (
	"testing"

	delegatedadminv1 "github.com/partnerhub/partnerhub/gen/partnerhub/delegatedadmin/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
)

// FuzzParseRole: ParseRole accepts exactly the names RoleName writes for the defined roles
// (never UNSPECIFIED), and RoleName(ParseRole(s)) == s.
func FuzzParseRole(f *testing.F) {
	for v := range delegatedadminv1.AdminRole_name {
		f.Add(RoleName(delegatedadminv1.AdminRole(v)))
	}
	for _, s := range []string{"", "UNSPECIFIED", "ADMIN_ROLE_GLOBAL_ADMIN", "global_admin", "GLOBAL_ADMIN "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRole(s)
		_, defined := delegatedadminv1.AdminRole_value["ADMIN_ROLE_"+s]
		want := defined && s != "UNSPECIFIED"
		if (err == nil) != want {
			t.Fatalf("ParseRole(%q) = %v, %v; want accepted=%v", s, r, err, want)
		}
		if err != nil {
			if r != 0 {
				t.Fatalf("ParseRole(%q) refused but returned %v", s, r)
			}
			if e, ok := errs.As(err); !ok || e.Kind != errs.Internal {
				t.Fatalf("ParseRole(%q) = %v", s, err)
			}
			return
		}
		if RoleName(r) != s || r == delegatedadminv1.AdminRole_ADMIN_ROLE_UNSPECIFIED {
			t.Fatalf("RoleName(ParseRole(%q)) = %q", s, RoleName(r))
		}
	})
}
