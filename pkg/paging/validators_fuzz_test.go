package paging

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// FuzzPageToken: a token Encode wrote decodes to the same sort key for the same query (a
// Fingerprint) and key
// length, and is refused (INVALID_PAGE_TOKEN) for another query or key length; an arbitrary
// token never panics, and one that Decode accepts re-encodes to a token that decodes the same.
func FuzzPageToken(f *testing.F) {
	f.Add("q1", "2026-03-01T12:00:00Z", "3f0c2a4e-8d1b-4c5a-9e7f-1a2b3c4d5e6f", "")
	f.Add("", "", "\xff\x00\"}", "eyJxIjoicTEiLCJhIjpbIngiLCJ5Il19")
	f.Add("q", "a", "b", "eyJxIjoicSIsImEiOlsiYSIsImIiXSwicSI6InEifQ")
	f.Add("q", "a", "b", "!!!")
	f.Fuzz(func(t *testing.T, filter, k1, k2, raw string) {
		query := Fingerprint("caller", filter) // queries are fingerprints: base64url
		if raw != "" {
			after, err := Decode(raw, query, 2)
			if err != nil {
				if e, ok := errs.As(err); !ok || e.Reason != errs.ReasonInvalidPageToken || e.Kind != errs.InvalidArgument {
					t.Fatalf("Decode(%q) = %v", raw, err)
				}
				return
			}
			if len(after) != 2 {
				t.Fatalf("Decode(%q) = %q for key length 2", raw, after)
			}
			if again, err := Decode(Encode(query, after...), query, 2); err != nil || !slices.Equal(again, after) {
				t.Fatalf("re-encoded %q: %q, %v", after, again, err)
			}
			return
		}
		tok := Encode(query, k1, k2)
		got, err := Decode(tok, query, 2)
		if err != nil || len(got) != 2 {
			t.Fatalf("Decode(Encode(%q, %q, %q)) = %q, %v", query, k1, k2, got, err)
		}
		// encoding/json writes invalid UTF-8 as U+FFFD: the key must still round-trip for UTF-8.
		if got[0] != k1 && validUTF8(k1) || got[1] != k2 && validUTF8(k2) {
			t.Fatalf("Decode(Encode(%q, %q, %q)) = %q", query, k1, k2, got)
		}
		if _, err := Decode(tok, Fingerprint("caller", filter+"x"), 2); err == nil {
			t.Fatal("a token was accepted for another query")
		}
		if _, err := Decode(tok, query, 1); err == nil {
			t.Fatal("a token was accepted for another key length")
		}
	})
}

func validUTF8(s string) bool { return string([]rune(s)) == s }

// FuzzParseTime: ParseTime(Time(t)) == t for every time Time can write (the nanosecond sort key
// round-trips), and Time(ParseTime(s)) is a fixed point for whatever ParseTime accepts.
func FuzzParseTime(f *testing.F) {
	f.Add(int64(1772366400), int64(123456789), "2026-03-01T12:00:00.123456789Z")
	f.Add(int64(-62135596800), int64(0), "0001-01-01T00:00:00Z")
	f.Add(int64(253402300799), int64(999999999), "2026-03-01T12:00:00+14:00")
	f.Add(int64(0), int64(1), "2026-13-01T00:00:00Z")
	f.Fuzz(func(t *testing.T, sec, nsec int64, s string) {
		tm := time.Unix(sec, nsec%1_000_000_000).UTC()
		if tm.Year() >= 0 && tm.Year() <= 9999 {
			got, err := ParseTime(Time(tm))
			if err != nil || !got.Equal(tm) {
				t.Fatalf("ParseTime(Time(%v)) = %v, %v", tm, got, err)
			}
		}
		p, err := ParseTime(s)
		if err != nil {
			if e, ok := errs.As(err); !ok || e.Reason != errs.ReasonInvalidPageToken || !errors.Is(err, err) {
				t.Fatalf("ParseTime(%q) = %v", s, err)
			}
			return
		}
		if p.Location() != time.UTC {
			t.Fatalf("ParseTime(%q) is not UTC", s)
		}
		if again, err := ParseTime(Time(p)); err != nil || !again.Equal(p) {
			t.Fatalf("ParseTime(Time(%v)) = %v, %v", p, again, err)
		}
	})
}
