package domain

import (
	"bytes"
	"testing"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// FuzzParseTerm: ParseTerm accepts exactly P1M, P1Y and P3Y as written and returns them
// unchanged (parse(s) == s); anything else is INVALID_ARGUMENT on term_duration.
func FuzzParseTerm(f *testing.F) {
	for _, s := range []string{"P1M", "P1Y", "P3Y", "p1m", "P1M ", "P2Y", "PERPETUAL", "", "P1Y\x00", "P１Y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		term, err := ParseTerm(s)
		want := s == "P1M" || s == "P1Y" || s == "P3Y"
		if (err == nil) != want {
			t.Fatalf("ParseTerm(%q) = %q, %v; want accepted=%v", s, term, err, want)
		}
		if err == nil {
			if string(term) != s {
				t.Fatalf("ParseTerm(%q) = %q", s, term)
			}
			return
		}
		e, ok := errs.As(err)
		if !ok || e.Kind != errs.InvalidArgument || len(e.Violations) != 1 || e.Violations[0].Field != "term_duration" || term != "" {
			t.Fatalf("ParseTerm(%q) = %q, %v", s, term, err)
		}
	})
}

// FuzzGenerateKey: every key GenerateKey makes (from any byte source) parses back to itself
// from Reveal, and the check character catches what doc.go promises: any single mistyped
// character and any swap of two different neighbours is CHECK_FAILED (never a different key).
func FuzzGenerateKey(f *testing.F) {
	f.Add(bytes.Repeat([]byte{0}, 64), uint8(0), uint8(1))
	f.Add([]byte("0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqr"), uint8(24), uint8(22))
	f.Add(bytes.Repeat([]byte{252, 253, 254, 255}, 32), uint8(7), uint8(13))
	f.Add([]byte{}, uint8(3), uint8(5))
	f.Fuzz(func(t *testing.T, src []byte, pos, delta uint8) {
		k, err := GenerateKey(bytes.NewReader(src))
		if err != nil {
			if !k.IsZero() {
				t.Fatal("an error with a key")
			}
			return
		}
		s := k.Reveal()
		if got, err := ParseKey(s); err != nil || got != k {
			t.Fatalf("ParseKey(Reveal()) = %v, %v", got.Masked(), err)
		}
		chars := []byte(compact(k))
		// One mistyped character, at any position, to any other character of the alphabet.
		i := int(pos) % KeyLength
		typo := bytes.Clone(chars)
		typo[i] = Alphabet[(value(typo[i])+1+int(delta)%(radix-1))%radix]
		wantCheckFailed(t, string(typo))
		// Two different neighbours swapped.
		j := int(pos) % (KeyLength - 1)
		if chars[j] != chars[j+1] {
			swap := bytes.Clone(chars)
			swap[j], swap[j+1] = swap[j+1], swap[j]
			wantCheckFailed(t, string(swap))
		}
	})
}

func wantCheckFailed(t *testing.T, s string) {
	t.Helper()
	_, err := ParseKey(s)
	e, ok := errs.As(err)
	if !ok || e.Reason != ReasonKeyMalformed || e.Metadata["problem"] != problemCheck {
		t.Fatalf("ParseKey(corrupted key) = %v; want %s", err, problemCheck)
	}
}
