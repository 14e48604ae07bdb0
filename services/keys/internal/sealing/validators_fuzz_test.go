package sealing

import (
	"bytes"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// FuzzLinkSignVerify: for any claims Sign accepts, the token is URL-safe, within Verify's size
// bound, and Verify returns exactly those claims (expiry truncated to the second, in UTC) until
// the expiry and LINK_EXPIRED from it on; another key with the same ID gets SIGNATURE. Sign
// refuses (ErrLinkClaims) exactly the claims the token format cannot carry.
func FuzzLinkSignVerify(f *testing.F) {
	f.Add(claims.LinkID, claims.EntitlementID, claims.VariantID, expires.Unix(), int64(999_999_999))
	f.Add("l", "e", "v", int64(-1), int64(1))
	f.Add("", "e", "v", int64(1), int64(0))
	f.Add(strings.Repeat("x", 255), strings.Repeat("y", 255), strings.Repeat("z", 256), int64(0), int64(0))
	f.Add("\x00\xff", "é", ":", int64(-62135596800), int64(0)) // 0001-01-01T00:00:00Z: the zero time
	f.Add("l", "e", "v", int64(1<<62), int64(5))
	s := mustSigner(f, "l1", map[string][]byte{"l1": key(1, 32)})
	other := mustSigner(f, "l1", map[string][]byte{"l1": key(2, 32)})
	f.Fuzz(func(t *testing.T, link, ent, variant string, sec, nsec int64) {
		exp := time.Unix(sec, nsec%1_000_000_000)
		c := Claims{LinkID: link, EntitlementID: ent, VariantID: variant, Expires: exp}
		signable := link != "" && ent != "" && variant != "" && len(link) <= MaxClaimIDLength &&
			len(ent) <= MaxClaimIDLength && len(variant) <= MaxClaimIDLength && !exp.IsZero()
		tok, err := s.Sign(c)
		if err != nil {
			if signable || !errors.Is(err, ErrLinkClaims) {
				t.Fatalf("Sign(%+v) = %v", c, err)
			}
			return
		}
		if !signable {
			t.Fatalf("Sign(%+v) signed claims Verify cannot read back", c)
		}
		if !isURLSafe(tok) || len(tok) > b64.EncodedLen(maxTokenBytes) {
			t.Fatalf("token %q is not URL-safe or too long", tok)
		}
		want := c
		want.Expires = time.Unix(exp.Unix(), 0).UTC()
		if want.Expires.After(exp) {
			t.Fatalf("the token outlives its claims: %v > %v", want.Expires, exp)
		}
		got, err := s.Verify(tok, want.Expires.Add(-time.Second))
		if err != nil || got != want {
			t.Fatalf("Verify = %+v, %v; want %+v", got, err, want)
		}
		if _, err := s.Verify(tok, want.Expires); !errors.Is(err, ErrLinkExpired) {
			t.Fatalf("Verify at the expiry = %v; want ErrLinkExpired", err)
		}
		if _, err := other.Verify(tok, want.Expires.Add(-time.Second)); !errors.Is(err, ErrLinkTampered) {
			t.Fatalf("Verify with another key = %v; want ErrLinkTampered", err)
		}
	})
}

// FuzzSealOpen: Open(Seal(p, aad), aad) == p; the sealed value names the active key; another
// aad, or another key under the same ID, does not open it (ErrNotAuthentic).
func FuzzSealOpen(f *testing.F) {
	f.Add([]byte(plaintext), aad, []byte("other"))
	f.Add([]byte{}, []byte{}, []byte{0})
	f.Add([]byte("KX47R-TM9CW-Q3HNJ-YAPD6-EGF74"), []byte("card-1"), []byte("card-1\x00"))
	k := mustKeyring(f, "k1", map[string][]byte{"k1": key(1, 32)})
	imposter := mustKeyring(f, "k1", map[string][]byte{"k1": key(2, 32)})
	f.Fuzz(func(t *testing.T, p, a, a2 []byte) {
		sealed := k.Seal(p, a)
		if id, err := KeyID(sealed); err != nil || id != "k1" {
			t.Fatalf("KeyID = %q, %v", id, err)
		}
		got, err := k.Open(sealed, a)
		if err != nil || !bytes.Equal(got, p) {
			t.Fatalf("Open(Seal(%q)) = %q, %v", p, got, err)
		}
		if !bytes.Equal(a, a2) {
			if _, err := k.Open(sealed, a2); !errors.Is(err, ErrNotAuthentic) {
				t.Fatalf("Open with another aad = %v", err)
			}
		}
		if _, err := imposter.Open(sealed, a); !errors.Is(err, ErrNotAuthentic) {
			t.Fatalf("Open with another key = %v", err)
		}
	})
}

// digits matches the entry positions and sizes an ErrConfig message may carry.
var digits = regexp.MustCompile(`[0-9]+`)

// configMessages are every ErrConfig message with numbers replaced by N: a configuration error
// names entries by position and never repeats their content (a swapped entry would print a key).
var configMessages = func() map[string]bool {
	m := map[string]bool{}
	for _, s := range []string{
		"no keys",
		"entry 1 is not KEY_ID:BASE64_KEY",
		"entry 1: the key ID must be 1 to 64 characters of A-Z a-z 0-9 _ -",
		"entries 1 and 2 have the same key ID",
		"entry 1: the key is not base64",
		"a key has 1 bytes, want 32",
		"a key has 1 bytes, want at least 32",
		"the lookup key is not base64",
		"the lookup key has 1 bytes, want at least 32",
	} {
		m[digits.ReplaceAllString("sealing: invalid key configuration: "+s, "N")] = true
	}
	return m
}()

func wantConfigErr(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrConfig) || !configMessages[digits.ReplaceAllString(err.Error(), "N")] {
		t.Fatalf("configuration error %q is not one of the fixed messages", err)
	}
}

// encodings are the spellings of a key the configuration accepts.
var encodings = []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding}

// FuzzParseKeyConfig: a configuration written from two IDs and keys, in any accepted base64
// spelling and with white space around entries and colons, parses back to the same active ID and
// keys exactly when the IDs are valid and distinct and the keys non-empty; ParseKeyring and
// ParseLinkSigner then accept it exactly when the key sizes fit. Arbitrary configurations never
// panic, and every error is one of the fixed messages.
func FuzzParseKeyConfig(f *testing.F) {
	f.Add("k2", "k1", key(2, 32), key(1, 32), uint8(0), false, "")
	f.Add("l1", "l_old-2", key(0xfb, 48), key(0xff, 32), uint8(3), true, "")
	f.Add("k1", "k1", key(1, 32), key(1, 32), uint8(1), false, "")
	f.Add("k:1", "", []byte{}, key(1, 3), uint8(2), true, "")
	f.Add("", "", []byte(nil), []byte(nil), uint8(0), false, "k2:AAAA,k1:BBBB")
	f.Add("", "", []byte(nil), []byte(nil), uint8(0), false, " k2 : "+b64.EncodeToString(key(3, 32))+" ,")
	f.Add("", "", []byte(nil), []byte(nil), uint8(0), false, b64.EncodeToString(key(3, 32))+":k2")
	f.Fuzz(func(t *testing.T, id1, id2 string, k1, k2 []byte, enc uint8, spaced bool, raw string) {
		if raw != "" {
			for _, parse := range []func(string) error{
				func(s string) error { _, _, err := parseKeyConfig(s); return err },
				func(s string) error { _, err := ParseKeyring(s); return err },
				func(s string) error { _, err := ParseLinkSigner(s); return err },
				func(s string) error { _, err := ParseLookupKey(s); return err },
			} {
				if err := parse(raw); err != nil {
					wantConfigErr(t, err)
				}
			}
			return
		}
		if strings.TrimSpace(id1) != id1 || strings.TrimSpace(id2) != id2 {
			return // white space around an ID is not part of it (the format trims it)
		}
		e1, e2 := encodings[int(enc)%4], encodings[int(enc/4)%4]
		sp := ""
		if spaced {
			sp = " \t"
		}
		config := sp + id1 + sp + ":" + sp + e1.EncodeToString(k1) + sp + "," + sp + id2 + ":" + e2.EncodeToString(k2) + sp
		valid := validKeyID(id1) && validKeyID(id2) && id1 != id2 && len(k1) > 0 && len(k2) > 0
		active, keys, err := parseKeyConfig(config)
		if err != nil {
			wantConfigErr(t, err)
			if valid {
				t.Fatalf("parseKeyConfig(%q) = %v", config, err)
			}
			return
		}
		if !valid {
			t.Fatalf("parseKeyConfig(%q) accepted IDs %q, %q and keys of %d, %d bytes", config, id1, id2, len(k1), len(k2))
		}
		if active != id1 || len(keys) != 2 || !bytes.Equal(keys[id1], k1) || !bytes.Equal(keys[id2], k2) {
			t.Fatalf("parseKeyConfig(%q) = %q, %x", config, active, keys)
		}
		kr, err := ParseKeyring(config)
		if (err == nil) != (len(k1) == KeyringKeySize && len(k2) == KeyringKeySize) {
			t.Fatalf("ParseKeyring with keys of %d and %d bytes: %v", len(k1), len(k2), err)
		}
		if err == nil && (kr.ActiveID() != id1 || len(kr.IDs()) != 2) {
			t.Fatalf("ParseKeyring: active %q, IDs %q", kr.ActiveID(), kr.IDs())
		}
		ls, err := ParseLinkSigner(config)
		if (err == nil) != (len(k1) >= MinLinkKeySize && len(k2) >= MinLinkKeySize) {
			t.Fatalf("ParseLinkSigner with keys of %d and %d bytes: %v", len(k1), len(k2), err)
		}
		if err == nil && ls.ActiveID() != id1 {
			t.Fatalf("ParseLinkSigner: active %q", ls.ActiveID())
		}
		lk, err := ParseLookupKey(sp + e1.EncodeToString(k1) + sp)
		if (err == nil) != (len(k1) >= MinLookupKeySize) || (err == nil && !bytes.Equal(lk, k1)) {
			t.Fatalf("ParseLookupKey of %d bytes = %x, %v", len(k1), lk, err)
		}
		if err != nil {
			wantConfigErr(t, err)
		}
	})
}

// FuzzVerifyLinkErrors complements FuzzVerifyLink: whatever Verify refuses, its error is the
// documented kind for its reason and never contains the token.
func FuzzVerifyLinkErrors(f *testing.F) {
	s := mustSigner(f, "l1", map[string][]byte{"l1": key(1, 32)})
	tok := signed(f, s, claims)
	f.Add(tok, int64(0))
	f.Add(tok, int64(48*3600))
	f.Add(tok[:40]+"A"+tok[41:], int64(0))
	f.Add("AQJsMQAAAABp", int64(0))
	f.Fuzz(func(t *testing.T, in string, after int64) {
		_, err := s.Verify(in, now.Add(time.Duration(after)*time.Second))
		if err == nil {
			return
		}
		e, ok := errs.As(err)
		switch {
		case !ok:
			t.Fatalf("Verify error %v is not an *errs.Error", err)
		case e.Reason == ReasonLinkInvalid && e.Kind == errs.InvalidArgument &&
			(errors.Is(err, ErrLinkMalformed) && e.Metadata["problem"] == ProblemMalformed ||
				errors.Is(err, ErrLinkTampered) && e.Metadata["problem"] == ProblemSignature):
		case e.Reason == ReasonLinkExpired && e.Kind == errs.FailedPrecondition && errors.Is(err, ErrLinkExpired):
		default:
			t.Fatalf("Verify(%q) = %v (%v, %s)", in, err, e.Kind, e.Reason)
		}
		if len(in) >= 8 && strings.Contains(err.Error(), in) {
			t.Fatalf("error %q contains the token", err)
		}
	})
}
