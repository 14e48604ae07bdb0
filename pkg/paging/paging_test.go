package paging

import (
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

func TestSize(t *testing.T) {
	for _, tc := range []struct {
		in   int32
		want int
	}{{0, DefaultSize}, {1, 1}, {500, 500}, {501, MaxSize}, {1 << 30, MaxSize}} {
		if got, err := Size(tc.in); err != nil || got != tc.want {
			t.Errorf("Size(%d) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	if _, err := Size(-1); errs.KindOf(err) != errs.InvalidArgument {
		t.Errorf("Size(-1): %v, want INVALID_ARGUMENT", err)
	}
}

func TestTokenRoundTripAndQueryBinding(t *testing.T) {
	q := Fingerprint("partner-a", "DE")
	rows := []int{1, 2, 3}
	page, next := Trim(rows, 2, q, func(i int) []string { return []string{"k", string(rune('0' + i))} })
	if len(page) != 2 || next == "" {
		t.Fatalf("page %v next %q", page, next)
	}
	after, err := Decode(next, q, 2)
	if err != nil || after[1] != "2" {
		t.Fatalf("Decode: %v %v", after, err)
	}
	if _, next := Trim(rows, 3, q, nil); next != "" {
		t.Errorf("last page has a next token %q", next)
	}
	for name, tok := range map[string]string{"garbage": "%%%", "not json": "bm90IGpzb24"} {
		if _, err := Decode(tok, q, 2); !errs.HasReason(err, errs.ReasonInvalidPageToken) {
			t.Errorf("%s: %v, want INVALID_PAGE_TOKEN", name, err)
		}
	}
	if _, err := Decode(next, Fingerprint("partner-b", "DE"), 2); !errs.HasReason(err, errs.ReasonInvalidPageToken) {
		t.Errorf("token of another query accepted: %v", err)
	}
	if after, err := Decode("", q, 2); after != nil || err != nil {
		t.Errorf("empty token: %v %v", after, err)
	}
}

func TestTimeRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 30, 0, 123456789, time.FixedZone("CET", 3600))
	got, err := ParseTime(Time(at))
	if err != nil || !got.Equal(at) || got.Location() != time.UTC {
		t.Errorf("ParseTime(Time(%v)) = %v, %v; want the same instant in UTC", at, got, err)
	}
	if _, err := ParseTime("yesterday"); errs.ReasonOf(err) != errs.ReasonInvalidPageToken {
		t.Errorf("ParseTime(garbage) = %v, want INVALID_PAGE_TOKEN", err)
	}
}

func TestTimeKeyRoundTrip(t *testing.T) {
	q := Fingerprint("rows")
	at := time.Date(2026, 3, 2, 9, 30, 0, 123456789, time.FixedZone("CET", 3600))
	tok := Encode(q, TimeKey(at, "id-1")...)
	got, id, err := DecodeTimeKey(tok, q)
	if err != nil || !got.Equal(at) || got.Location() != time.UTC || id != "id-1" {
		t.Errorf("DecodeTimeKey(TimeKey(%v, id-1)) = %v, %q, %v; want the same instant in UTC and id-1", at, got, id, err)
	}
	if got, id, err := DecodeTimeKey("", q); !got.IsZero() || id != "" || err != nil {
		t.Errorf("empty token: %v, %q, %v; want zero values", got, id, err)
	}
	for _, tc := range []struct{ name, tok, query string }{
		{"another query", tok, Fingerprint("other rows")},
		{"not a time", Encode(q, "yesterday", "id-1"), q},
		{"one part", Encode(q, Time(at)), q},
	} {
		if _, _, err := DecodeTimeKey(tc.tok, tc.query); !errs.HasReason(err, errs.ReasonInvalidPageToken) {
			t.Errorf("%s: %v, want INVALID_PAGE_TOKEN", tc.name, err)
		}
	}
}
