package sealing

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// KD-8: the lookup value is HMAC-SHA256 of the normalised key, in hex; deterministic under one
// key, different under another, and refused with a short key.
func TestLookup(t *testing.T) {
	const k = "34679ACDEFGHJKMNPQRTWXY3W"
	a, err := Lookup(key(1, 32), k)
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, key(1, 32))
	m.Write([]byte(k))
	if want := hex.EncodeToString(m.Sum(nil)); a != want {
		t.Errorf("Lookup = %s, want %s", a, want)
	}
	if again, _ := Lookup(key(1, 32), k); again != a {
		t.Error("Lookup is not deterministic")
	}
	if other, _ := Lookup(key(2, 32), k); other == a {
		t.Error("another lookup key gives the same value")
	}
	if strings.Contains(a, k) || len(a) != 64 {
		t.Errorf("lookup value %q", a)
	}
	if _, err := Lookup(key(1, 31), k); !errors.Is(err, ErrConfig) {
		t.Errorf("short key: %v, want ErrConfig", err)
	}
}

func TestParseLookupKey(t *testing.T) {
	raw := key(7, 40)
	for _, s := range []string{base64.StdEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw),
		" " + base64.StdEncoding.EncodeToString(raw) + "\n"} {
		got, err := ParseLookupKey(s)
		if err != nil || !bytes.Equal(got, raw) {
			t.Errorf("ParseLookupKey(%q) = %x, %v", s, got, err)
		}
	}
	short := base64.StdEncoding.EncodeToString(key(7, 31))
	for _, s := range []string{"", "not base64!", short} {
		_, err := ParseLookupKey(s)
		if !errors.Is(err, ErrConfig) || (s != "" && strings.Contains(err.Error(), s)) {
			t.Errorf("ParseLookupKey(%q) = %v, want ErrConfig without the setting", s, err)
		}
	}
}
