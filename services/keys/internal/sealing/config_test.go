package sealing

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// The example in doc.go parses: the first entry is active, both keys open.
func TestParseKeyring_DocExample(t *testing.T) {
	const cfg = "k2:q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=,k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
	k, err := ParseKeyring(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if k.ActiveID() != "k2" || strings.Join(k.IDs(), ",") != "k1,k2" {
		t.Errorf("active %s, IDs %v", k.ActiveID(), k.IDs())
	}
	s, err := ParseLinkSigner(cfg)
	if err != nil || s.ActiveID() != "k2" {
		t.Errorf("ParseLinkSigner: %v, %v", s, err)
	}
}

// Both base64 alphabets, with or without padding, and white space around entries are accepted.
func TestParseKeyConfig_Encodings(t *testing.T) {
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = byte(0xfb + i) // makes + / in standard and - _ in URL-safe base64
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		cfg := " a : " + enc.EncodeToString(raw) + " ,\tb:" + enc.EncodeToString(key(7, 32))
		active, keys, err := parseKeyConfig(cfg)
		if err != nil || active != "a" || string(keys["a"]) != string(raw) || string(keys["b"]) != string(key(7, 32)) {
			t.Errorf("%q: active %q, keys %v, err %v", cfg, active, keys, err)
		}
	}
}

// Bad configurations fail with ErrConfig, name entries by position, and never echo a key or an
// entry's content.
func TestParseKeyring_BadConfig(t *testing.T) {
	k32 := base64.StdEncoding.EncodeToString(key(0xab, 32))
	k16 := base64.StdEncoding.EncodeToString(key(0xcd, 16))
	secret := base64.RawURLEncoding.EncodeToString(key(0xef, 32))
	for _, tt := range []struct{ name, cfg, want string }{
		{"empty", "", "no keys"},
		{"blank", "  ", "no keys"},
		{"no colon", "k1" + k32, "entry 1 is not KEY_ID:BASE64_KEY"},
		{"empty ID", ":" + k32, "entry 1 is not"},
		{"empty key", "k1:", "entry 1 is not"},
		{"trailing comma", "k1:" + k32 + ",", "entry 2 is not"},
		{"ID with a space", "k 1:" + k32, "entry 1: the key ID"},
		{"ID too long", strings.Repeat("k", 65) + ":" + k32, "entry 1: the key ID"},
		{"key and ID swapped", "k1:" + k32 + "," + secret + "+/:k2", "entry 2: the key ID"},
		{"not base64", "k1:" + k32 + ",k2:" + secret + "!!", "entry 2: the key is not base64"},
		{"duplicate ID", "k1:" + k32 + ",k2:" + k32 + ",k1:" + k32, "entries 1 and 3 have the same key ID"},
		{"short key", "k1:" + k16, "a key has 16 bytes, want 32"},
		{"swapped, URL-safe key as ID", secret + ":k1", "entry 1: the key is not base64"},
		{"swapped, URL-safe key as ID, short key", secret + ":kA", "a key has 1 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseKeyring(tt.cfg)
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v; want ErrConfig with %q", err, tt.want)
			}
			wantNoSecret(t, err.Error(), k32, k16, secret, secret[:12], "k 1")
			_, err = ParseLinkSigner(tt.cfg)
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("ParseLinkSigner error = %v; want ErrConfig", err)
			}
			wantNoSecret(t, err.Error(), k32, k16, secret, secret[:12], "k 1")
		})
	}
}

// NewKeyring and NewLinkSigner validate their key sets.
func TestNewKeyring_NewLinkSigner_Validate(t *testing.T) {
	good := key(1, 32)
	for _, tt := range []struct {
		name   string
		active string
		keys   map[string][]byte
		ring   bool // NewKeyring accepts
		signer bool // NewLinkSigner accepts
	}{
		{"one key", "k1", map[string][]byte{"k1": good}, true, true},
		{"two keys", "k2", map[string][]byte{"k1": good, "k2": key(2, 32)}, true, true},
		{"no keys", "k1", nil, false, false},
		{"active missing", "k3", map[string][]byte{"k1": good}, false, false},
		{"empty active", "", map[string][]byte{"": good}, false, false},
		{"separator in ID", "k:1", map[string][]byte{"k:1": good}, false, false},
		{"comma in ID", "k,1", map[string][]byte{"k,1": good}, false, false},
		{"bad other ID", "k1", map[string][]byte{"k1": good, "k/2": good}, false, false},
		{"16-byte key", "k1", map[string][]byte{"k1": key(1, 16)}, false, false},
		{"31-byte key", "k1", map[string][]byte{"k1": key(1, 31)}, false, false},
		{"33-byte key", "k1", map[string][]byte{"k1": key(1, 33)}, false, true},
		{"64-byte key", "k1", map[string][]byte{"k1": key(1, 64)}, false, true},
		{"empty key", "k1", map[string][]byte{"k1": nil}, false, false},
	} {
		_, err := NewKeyring(tt.active, tt.keys)
		if (err == nil) != tt.ring || (err != nil && !errors.Is(err, ErrConfig)) {
			t.Errorf("%s: NewKeyring error %v, want accepted=%v", tt.name, err, tt.ring)
		}
		_, err = NewLinkSigner(tt.active, tt.keys)
		if (err == nil) != tt.signer || (err != nil && !errors.Is(err, ErrConfig)) {
			t.Errorf("%s: NewLinkSigner error %v, want accepted=%v", tt.name, err, tt.signer)
		}
	}
}
