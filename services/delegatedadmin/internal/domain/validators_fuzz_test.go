package domain

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"
)

// FuzzValidID: an ID that NormalizeID makes valid is the UUID's canonical lower-case String (one
// spelling per ID), NormalizeID is idempotent, and ValidID accepts only 36-character UUIDs.
func FuzzValidID(f *testing.F) {
	for _, s := range []string{"3f0c2a4e-8d1b-4c5a-9e7f-1a2b3c4d5e6f", " 3F0C2A4E-8D1B-4C5A-9E7F-1A2B3C4D5E6F\n",
		"{3f0c2a4e-8d1b-4c5a-9e7f-1a2b3c4d5e6f}", "3f0c2a4e8d1b4c5a9e7f1a2b3c4d5e6f", "", "İ", "3f0c2a4e-8d1b-4c5a-9e7f-1a2b3c4d5e6K"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeID(s)
		if NormalizeID(n) != n {
			t.Fatalf("NormalizeID is not idempotent: %q → %q → %q", s, n, NormalizeID(n))
		}
		if ValidID(s) {
			if u, err := uuid.Parse(s); err != nil || len(s) != 36 || !strings.EqualFold(u.String(), s) {
				t.Fatalf("ValidID(%q) but it is not a canonical UUID", s)
			}
		}
		if ValidID(n) {
			if u := uuid.MustParse(n); u.String() != n {
				t.Fatalf("NormalizeID(%q) = %q, valid but not canonical %q", s, n, u)
			}
		}
	})
}

// FuzzValidateReason: ValidateReason accepts exactly the texts of at most MaxReason characters.
func FuzzValidateReason(f *testing.F) {
	f.Add("no longer a customer")
	f.Add(strings.Repeat("é", MaxReason))
	f.Add(strings.Repeat("x", MaxReason+1))
	f.Fuzz(func(t *testing.T, s string) {
		if err := ValidateReason(s); (err == nil) != (utf8.RuneCountInString(s) <= MaxReason) {
			t.Fatalf("ValidateReason(%d characters) = %v", utf8.RuneCountInString(s), err)
		}
	})
}
