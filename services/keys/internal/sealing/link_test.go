package sealing

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

var (
	now     = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	expires = now.Add(24 * time.Hour)
	claims  = Claims{LinkID: "0199a7a0-1111-7000-8000-000000000001", EntitlementID: "9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f", VariantID: "ws2022-de-DE-iso-x64", Expires: expires}
)

func signed(t testing.TB, s *LinkSigner, c Claims) string {
	t.Helper()
	tok, err := s.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func isURLSafe(s string) bool {
	for _, c := range []byte(s) {
		if !strings.ContainsRune(b64Alphabet, rune(c)) {
			return false
		}
	}
	return s != ""
}

// Sign and Verify round-trip: URL-safe, unpadded, bound to entitlement, variant and expiry.
func TestLink_RoundTrip(t *testing.T) {
	s := mustSigner(t, "l1", map[string][]byte{"l1": randomKey(t)})
	for _, c := range []Claims{
		claims,
		{LinkID: "l", EntitlementID: "e", VariantID: "v", Expires: expires},
		{LinkID: strings.Repeat("l", MaxClaimIDLength), EntitlementID: strings.Repeat("e", MaxClaimIDLength), VariantID: strings.Repeat("ü", MaxClaimIDLength/2), Expires: expires},
		{LinkID: "l", EntitlementID: "with/slash?and=query&", VariantID: "ünïcødé\x00nul", Expires: time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC)},
		{LinkID: "l", EntitlementID: "past", VariantID: "v", Expires: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		tok := signed(t, s, c)
		if !isURLSafe(tok) || strings.Contains(tok, "=") {
			t.Errorf("token %q is not URL-safe", tok)
		}
		at := c.Expires.Add(-time.Hour)
		got, err := s.Verify(tok, at)
		if err != nil || got != (Claims{c.LinkID, c.EntitlementID, c.VariantID, c.Expires.UTC()}) {
			t.Errorf("Verify = %+v, %v; want %+v", got, err, c)
		}
	}
}

// Expiry is carried to the second, truncated toward the past, and returned in UTC.
func TestLink_ExpiryTruncatedToSecond(t *testing.T) {
	s := mustSigner(t, "l1", map[string][]byte{"l1": randomKey(t)})
	berlin := time.FixedZone("CET", 3600)
	c := claims
	c.Expires = expires.Add(999 * time.Millisecond).In(berlin)
	got, err := s.Verify(signed(t, s, c), now)
	if err != nil || !got.Expires.Equal(expires) || got.Expires.Location() != time.UTC {
		t.Errorf("Expires = %v, %v; want %v UTC", got.Expires, err, expires)
	}
}

// A link is valid while now < Expires: just before, yes; at the instant and after, LINK_EXPIRED
// (FAILED_PRECONDITION) with expired_at.
func TestLink_ExpiryBoundary(t *testing.T) {
	s := mustSigner(t, "l1", map[string][]byte{"l1": randomKey(t)})
	tok := signed(t, s, claims)
	for _, tt := range []struct {
		at    time.Time
		valid bool
	}{
		{now, true},
		{expires.Add(-time.Nanosecond), true},
		{expires, false},
		{expires.Add(time.Nanosecond), false},
		{expires.Add(time.Second), false},
		{expires.Add(365 * 24 * time.Hour), false},
	} {
		got, err := s.Verify(tok, tt.at)
		if tt.valid {
			if err != nil || got.EntitlementID != claims.EntitlementID {
				t.Errorf("at %v: %v, want valid", tt.at, err)
			}
			continue
		}
		wantLinkErr(t, err, errs.FailedPrecondition, ReasonLinkExpired, "", ErrLinkExpired)
		if e, _ := errs.As(err); e.Metadata["expired_at"] != "2026-03-02T12:00:00Z" {
			t.Errorf("expired_at = %q", e.Metadata["expired_at"])
		}
		if got != (Claims{}) {
			t.Errorf("expired link returned claims %+v", got)
		}
	}
}

// Changing any character of a token to any other is LINK_INVALID — MALFORMED or SIGNATURE —
// never accepted and never LINK_EXPIRED, even for a token that has expired; a change in the MAC
// is SIGNATURE.
func TestLink_EveryTamperedByteDetected(t *testing.T) {
	s := mustSigner(t, "l1", map[string][]byte{"l1": key(1, 32), "l2": key(2, 32)})
	tok := signed(t, s, claims)
	macStart := b64.EncodedLen(len(mustDecode(t, tok)) - macSize) // first character wholly in the MAC
	for _, at := range []time.Time{now, expires.Add(time.Hour)} {
		for i := range len(tok) {
			for _, v := range variants(tok, i) {
				got, err := s.Verify(v, at)
				e, ok := errs.As(err)
				if !ok || e.Kind != errs.InvalidArgument || e.Reason != ReasonLinkInvalid {
					t.Fatalf("char %d changed: %+v, %v; want LINK_INVALID", i, got, err)
				}
				if !errors.Is(err, ErrLinkMalformed) && !errors.Is(err, ErrLinkTampered) {
					t.Fatalf("char %d: cause %v", i, err)
				}
				// A changed MAC character is a bad signature, unless the change leaves no valid
				// encoding (the last character's unused bits).
				if _, derr := b64.DecodeString(v); i > macStart && derr == nil && !errors.Is(err, ErrLinkTampered) {
					t.Fatalf("char %d in the MAC changed: %v; want SIGNATURE", i, err)
				}
				wantNoSecret(t, err.Error(), v, claims.EntitlementID)
			}
		}
	}
}

// Tampering with the decoded bytes — a claim, the expiry, the key ID — and re-encoding is
// SIGNATURE, not MALFORMED: the structure still parses, the MAC does not match.
func TestLink_ForgedClaimsAreTampered(t *testing.T) {
	s := mustSigner(t, "l1", map[string][]byte{"l1": key(1, 32), "l2": key(2, 32)})
	raw := mustDecode(t, signed(t, s, claims))
	forge := func(edit func(b []byte)) string {
		b := bytes.Clone(raw)
		edit(b)
		return b64.EncodeToString(b)
	}
	expOff := 1 + 1 + 2 // version, kid length, "l1"
	for name, tok := range map[string]string{
		"later expiry":        forge(func(b []byte) { binary.BigEndian.PutUint64(b[expOff:], uint64(expires.Add(time.Hour).Unix())) }),
		"other entitlement":   forge(func(b []byte) { b[expOff+8+1] ^= 1 }),
		"other variant":       forge(func(b []byte) { b[len(b)-macSize-1] ^= 1 }),
		"other known key ID":  forge(func(b []byte) { b[3] = '2' }),
		"unknown key ID":      forge(func(b []byte) { b[3] = '9' }),
		"MAC flipped":         forge(func(b []byte) { b[len(b)-1] ^= 0x80 }),
		"MAC zeroed":          forge(func(b []byte) { clear(b[len(b)-macSize:]) }),
		"MAC of another body": forge(func(b []byte) { copy(b[len(b)-macSize:], linkMAC(key(1, 32), []byte("x"))) }),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := s.Verify(tok, now)
			wantLinkErr(t, err, errs.InvalidArgument, ReasonLinkInvalid, ProblemSignature, ErrLinkTampered)
		})
	}
}

// What is not a token is MALFORMED.
func TestLink_Malformed(t *testing.T) {
	s := mustSigner(t, "l1", map[string][]byte{"l1": key(1, 32)})
	tok := signed(t, s, claims)
	raw := mustDecode(t, tok)
	reencode := func(b []byte) string { return b64.EncodeToString(b) }
	for name, in := range map[string]string{
		"empty":            "",
		"garbage":          "not a token!",
		"padding":          tok + "==",
		"standard base64":  strings.NewReplacer("-", "+", "_", "/").Replace(tok) + "+/",
		"newline inside":   tok[:10] + "\n" + tok[10:],
		"too short":        reencode(raw[:minTokenBytes-1]),
		"too long":         strings.Repeat("A", b64.EncodedLen(maxTokenBytes)+1),
		"unknown version":  reencode(append([]byte{2}, raw[1:]...)),
		"key ID too long":  reencode(append([]byte{1, 200}, raw[2:]...)),
		"key ID empty":     reencode(append([]byte{1, 0}, raw[2:]...)),
		"key ID bad chars": reencode(append([]byte{1, 2, '/', '/'}, raw[4:]...)),
		"whole URL":        "https://downloads.example/d/" + tok,
	} {
		t.Run(name, func(t *testing.T) {
			got, err := s.Verify(in, now)
			if got != (Claims{}) {
				t.Errorf("claims %+v", got)
			}
			wantLinkErr(t, err, errs.InvalidArgument, ReasonLinkInvalid, ProblemMalformed, ErrLinkMalformed)
		})
	}
}

// Rotation: a token signed with l1 verifies after l2 becomes active (l1 kept); new tokens use
// l2; once l1 is removed, l1's tokens are SIGNATURE failures.
func TestLink_Rotation(t *testing.T) {
	l1, l2 := randomKey(t), randomKey(t)
	old := signed(t, mustSigner(t, "l1", map[string][]byte{"l1": l1}), claims)

	rotated := mustSigner(t, "l2", map[string][]byte{"l2": l2, "l1": l1})
	if got, err := rotated.Verify(old, now); err != nil || got.EntitlementID != claims.EntitlementID {
		t.Errorf("old token after rotation: %v", err)
	}
	fresh := signed(t, rotated, claims)
	if raw := mustDecode(t, fresh); string(raw[2:4]) != "l2" {
		t.Errorf("new token signed with %q", raw[2:4])
	}
	retired := mustSigner(t, "l2", map[string][]byte{"l2": l2})
	_, err := retired.Verify(old, now)
	wantLinkErr(t, err, errs.InvalidArgument, ReasonLinkInvalid, ProblemSignature, ErrLinkTampered)
	if _, err := retired.Verify(fresh, now); err != nil {
		t.Errorf("new token after retiring l1: %v", err)
	}
	// Same ID, other key: a forgery.
	_, err = mustSigner(t, "l2", map[string][]byte{"l2": randomKey(t)}).Verify(fresh, now)
	wantLinkErr(t, err, errs.InvalidArgument, ReasonLinkInvalid, ProblemSignature, ErrLinkTampered)
}

// Sign refuses claims it could not read back.
func TestLink_SignRefuses(t *testing.T) {
	s := mustSigner(t, "l1", map[string][]byte{"l1": key(1, 32)})
	for name, c := range map[string]Claims{
		"no link":        {EntitlementID: "e", VariantID: "v", Expires: expires},
		"no entitlement": {LinkID: "l", VariantID: "v", Expires: expires},
		"no variant":     {LinkID: "l", EntitlementID: "e", Expires: expires},
		"long ID":        {LinkID: "l", EntitlementID: strings.Repeat("e", MaxClaimIDLength+1), VariantID: "v", Expires: expires},
		"no expiry":      {LinkID: "l", EntitlementID: "e", VariantID: "v"},
	} {
		if tok, err := s.Sign(c); !errors.Is(err, ErrLinkClaims) || tok != "" {
			t.Errorf("%s: %q, %v; want ErrLinkClaims", name, tok, err)
		}
	}
}

// The signer copies its keys.
func TestLink_CopiesKeys(t *testing.T) {
	raw := key(1, 32)
	s := mustSigner(t, "l1", map[string][]byte{"l1": raw})
	tok := signed(t, s, claims)
	raw[0] ^= 0xff
	if _, err := s.Verify(tok, now); err != nil {
		t.Errorf("Verify after the caller changed its key slice: %v", err)
	}
}

// FuzzVerifyLink: Verify never panics; whatever it accepts carries the signed claims (a forgery
// would have to break HMAC-SHA256).
func FuzzVerifyLink(f *testing.F) {
	s := mustSigner(f, "l1", map[string][]byte{"l1": key(1, 32)})
	tok := signed(f, s, claims)
	f.Add(tok)
	f.Add(tok[:len(tok)-1])
	f.Add("")
	f.Add("AQJsMQ")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := s.Verify(in, now)
		if err == nil {
			if got != claims {
				t.Fatalf("Verify(%q) accepted %+v", in, got)
			}
			return
		}
		if e, ok := errs.As(err); !ok || (e.Reason != ReasonLinkInvalid && e.Reason != ReasonLinkExpired) {
			t.Fatalf("Verify(%q) = %v", in, err)
		}
	})
}

func mustDecode(t testing.TB, tok string) []byte {
	t.Helper()
	b, err := b64.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
