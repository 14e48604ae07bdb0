package errs_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// canonicalUUID is the 36-character 8-4-4-4-12 hex form, written out independently of uuid.Parse.
var canonicalUUID = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// FuzzCheckUUID: CheckUUID accepts exactly the canonical 36-character form (never braces, URNs or
// bare hex, so an ID has no second spelling beyond letter case); an accepted ID is, ignoring case,
// the UUID's own String, and a refusal is INVALID_ARGUMENT with one violation on the field.
func FuzzCheckUUID(f *testing.F) {
	for _, s := range []string{"3f0c2a4e-8d1b-4c5a-9e7f-1a2b3c4d5e6f", "3F0C2A4E-8D1B-4C5A-9E7F-1A2B3C4D5E6F",
		"{3f0c2a4e-8d1b-4c5a-9e7f-1a2b3c4d5e6f}", "urn:uuid:3f0c2a4e-8d1b-4c5a-9e7f-1a2b3c4d5e6f",
		"3f0c2a4e8d1b4c5a9e7f1a2b3c4d5e6f", "3f0c2a4e-8d1b-4c5a-9e7f-1a2b3c4d5e6", "", "00000000-0000-0000-0000-000000000000",
		"3f0c2a4e-8d1b-4c5a-9e7f+1a2b3c4d5e6f", "3f0c2a4e-8d1b-4c5a-9e7f-1a2b3c4d5e6g"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		err := errs.CheckUUID("customer_id", id)
		want := canonicalUUID.MatchString(id)
		if (err == nil) != want {
			t.Fatalf("CheckUUID(%q) = %v; want accepted=%v", id, err, want)
		}
		if err == nil {
			if u, perr := uuid.Parse(id); perr != nil || !strings.EqualFold(u.String(), id) {
				t.Fatalf("CheckUUID accepted %q, which is not the spelling of %v", id, u)
			}
			return
		}
		e, ok := errs.As(err)
		if !ok || e.Kind != errs.InvalidArgument || len(e.Violations) != 1 || e.Violations[0].Field != "customer_id" {
			t.Fatalf("CheckUUID(%q) = %v", id, err)
		}
	})
}
