package domain

import (
	"math/rand/v2"
	"testing"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// Pinned keys: their check characters were computed by an independent implementation of the
// scheme in doc.go. If one of these fails, the scheme changed and every key already printed on a
// card would be refused: don't.
func pinnedKeys() []string {
	return []string{
		"33333-33333-33333-33333-33333",
		"YYYYY-YYYYY-YYYYY-YYYYY-YYYYA",
		"34679-ACDEF-GHJKM-NPQRT-WXY3W",
		"7QX4M-ACDEF-GHJKM-NPQRT-WXY9P",
		"KX47R-TM9CW-Q3HNJ-YAPD6-EGF74",
	}
}

// mustParse parses a key that the test knows is valid.
func mustParse(t testing.TB, s string) Key {
	t.Helper()
	k, err := ParseKey(s)
	if err != nil {
		t.Fatalf("ParseKey(%q): %v", s, err)
	}
	return k
}

// sampleKeys returns the pinned keys and n keys generated from a fixed seed, so failures
// reproduce.
func sampleKeys(t testing.TB, n int) []Key {
	t.Helper()
	var keys []Key
	for _, s := range pinnedKeys() {
		keys = append(keys, mustParse(t, s))
	}
	src := rand.NewChaCha8([32]byte{'k', 'e', 'y', 's'})
	for range n {
		k, err := GenerateKey(src)
		if err != nil {
			t.Fatalf("GenerateKey: %v", err)
		}
		keys = append(keys, k)
	}
	return keys
}

// compact returns the 25 characters of k without dashes.
func compact(k Key) string { return string(k.chars[:]) }

// wantErr checks an error's kind, reason and metadata and returns it.
func wantErr(t *testing.T, err error, kind errs.Kind, reason errs.Reason, meta map[string]string) *errs.Error {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != kind || e.Reason != reason {
		t.Fatalf("error = %v; want %v / %s", err, kind, reason)
	}
	for k, v := range meta {
		if got := e.Metadata[k]; got != v {
			t.Errorf("metadata %s = %q, want %q (error %v)", k, got, v, err)
		}
	}
	return e
}

// wantViolation checks an INVALID_ARGUMENT / INVALID_REQUEST error naming field.
func wantViolation(t *testing.T, err error, field string) {
	t.Helper()
	e := wantErr(t, err, errs.InvalidArgument, errs.ReasonInvalidRequest, nil)
	if len(e.Violations) != 1 || e.Violations[0].Field != field {
		t.Errorf("violations = %+v, want one on %q", e.Violations, field)
	}
}
