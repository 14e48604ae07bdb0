package sealing

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

const plaintext = "KX47R-TM9CW-Q3HNJ-YAPD6-EGF74"

var aad = []byte("key-card:7b2c1c1e-9f0e-4c55-9f3a-0f5b0c1d2e3f")

// Seal and Open round-trip, for empty, short and long plaintexts and aads; the sealed value names
// the active key, is URL-safe, has the documented length, and differs every time (random nonce).
func TestKeyring_RoundTrip(t *testing.T) {
	k := mustKeyring(t, "k1", map[string][]byte{"k1": randomKey(t)})
	for _, tt := range []struct{ pt, aad []byte }{
		{[]byte(plaintext), aad},
		{nil, nil},
		{[]byte{}, []byte("x")},
		{bytes.Repeat([]byte{0, 0xff}, 4096), bytes.Repeat([]byte("a"), 1000)},
	} {
		sealed := k.Seal(tt.pt, tt.aad)
		id, payload, ok := strings.Cut(sealed, ":")
		if !ok || id != "k1" || !isB64URL(payload) || len(payload) != b64.EncodedLen(12+len(tt.pt)+16) {
			t.Errorf("sealed = %q", sealed)
		}
		if strings.Contains(sealed, plaintext) {
			t.Error("the sealed value contains the plaintext")
		}
		got, err := k.Open(sealed, tt.aad)
		if err != nil || !bytes.Equal(got, tt.pt) {
			t.Errorf("Open = %q, %v", got, err)
		}
		if again := k.Seal(tt.pt, tt.aad); again == sealed {
			t.Error("sealing twice gave the same value: the nonce is not random")
		}
		if gotID, err := KeyID(sealed); err != nil || gotID != "k1" {
			t.Errorf("KeyID = %q, %v", gotID, err)
		}
	}
}

// Changing any byte of a sealed value — key ID, separator, nonce, ciphertext or tag — to any
// other character makes Open fail, and the error never holds the plaintext.
func TestKeyring_EveryTamperedByteDetected(t *testing.T) {
	k := mustKeyring(t, "k1", map[string][]byte{"k1": key(1, 32), "k2": key(2, 32), "kX": key(3, 32)})
	sealed := k.Seal([]byte(plaintext), aad)
	tried := 0
	for i := range len(sealed) {
		for _, v := range variants(sealed, i) {
			tried++
			got, err := k.Open(v, aad)
			if err == nil {
				t.Fatalf("byte %d changed (%q) still opens: %q", i, v, got)
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownKey) && !errors.Is(err, ErrNotAuthentic) {
				t.Fatalf("byte %d: unexpected error %v", i, err)
			}
			wantNoSecret(t, err.Error(), plaintext, "KX47R", v)
		}
	}
	// Relabelling with another known key ID, truncating, extending: all refused.
	for _, v := range []string{"k2" + sealed[2:], "kX" + sealed[2:], sealed[:len(sealed)-1], sealed + "A",
		sealed[:3], "k1:", "", ":" + sealed[3:], sealed + ":", " " + sealed, sealed + "\n"} {
		if _, err := k.Open(v, aad); err == nil {
			t.Errorf("%q opens", v)
		}
	}
	if _, err := k.Open("k1:"+b64.EncodeToString(make([]byte, 27)), aad); !errors.Is(err, ErrMalformed) {
		t.Errorf("payload shorter than nonce and tag: %v; want ErrMalformed", err)
	}
	if tried < len(sealed)*60 {
		t.Fatalf("tried only %d variants", tried)
	}
}

// A wrong aad (another row, empty, a prefix, an extension) does not open: ErrNotAuthentic.
func TestKeyring_WrongAAD(t *testing.T) {
	k := mustKeyring(t, "k1", map[string][]byte{"k1": randomKey(t)})
	sealed := k.Seal([]byte(plaintext), aad)
	for _, other := range [][]byte{nil, []byte("key-card:other"), aad[:len(aad)-1], append(bytes.Clone(aad), 0)} {
		got, err := k.Open(sealed, other)
		if !errors.Is(err, ErrNotAuthentic) || got != nil {
			t.Errorf("aad %q: %q, %v; want ErrNotAuthentic", other, got, err)
		}
		wantNoSecret(t, err.Error(), plaintext)
	}
}

// A value sealed under a key the keyring does not hold (retired) is ErrUnknownKey; a keyring
// with the same ID but another key cannot open it either.
func TestKeyring_UnknownOrWrongKey(t *testing.T) {
	old := mustKeyring(t, "k1", map[string][]byte{"k1": key(1, 32)})
	sealed := old.Seal([]byte(plaintext), aad)
	retired := mustKeyring(t, "k2", map[string][]byte{"k2": key(2, 32)})
	if _, err := retired.Open(sealed, aad); !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), `"k1"`) {
		t.Errorf("retired key: %v; want ErrUnknownKey naming k1", err)
	}
	impostor := mustKeyring(t, "k1", map[string][]byte{"k1": key(9, 32)})
	if _, err := impostor.Open(sealed, aad); !errors.Is(err, ErrNotAuthentic) {
		t.Errorf("same ID, other key: %v; want ErrNotAuthentic", err)
	}
}

// Rotation: a value sealed under k1 still opens after k2 becomes active (k1 kept); new values
// use k2; KeyID tells which values to reseal; once k1 is retired, old values no longer open and
// resealed ones do.
func TestKeyring_Rotation(t *testing.T) {
	k1, k2 := randomKey(t), randomKey(t)
	before := mustKeyring(t, "k1", map[string][]byte{"k1": k1})
	old := before.Seal([]byte(plaintext), aad)

	rotated := mustKeyring(t, "k2", map[string][]byte{"k2": k2, "k1": k1})
	got, err := rotated.Open(old, aad)
	if err != nil || string(got) != plaintext {
		t.Fatalf("old value after rotation: %q, %v", got, err)
	}
	fresh := rotated.Seal([]byte(plaintext), aad)
	if id, _ := KeyID(fresh); id != "k2" || rotated.ActiveID() != "k2" {
		t.Errorf("new value sealed under %s", id)
	}
	if id, _ := KeyID(old); id == rotated.ActiveID() {
		t.Error("KeyID does not tell the old value needs resealing")
	}
	resealed := rotated.Seal(got, aad)

	retired := mustKeyring(t, "k2", map[string][]byte{"k2": k2})
	if _, err := retired.Open(old, aad); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("old value after retiring k1: %v", err)
	}
	if got, err := retired.Open(resealed, aad); err != nil || string(got) != plaintext {
		t.Errorf("resealed value: %q, %v", got, err)
	}
}

// The keyring copies its keys: changing the caller's slice afterwards changes nothing.
func TestKeyring_CopiesKeys(t *testing.T) {
	raw := key(1, 32)
	k := mustKeyring(t, "k1", map[string][]byte{"k1": raw})
	sealed := k.Seal([]byte(plaintext), aad)
	raw[0] ^= 0xff
	if _, err := k.Open(sealed, aad); err != nil {
		t.Errorf("Open after the caller changed its key slice: %v", err)
	}
}

// KeyID refuses what is not a sealed value.
func TestKeyID_Malformed(t *testing.T) {
	for _, s := range []string{"", "k1", "k1:", ":AAAA", "k 1:AAAA", "k1:AA=A", "k1:AA\nAA", "k1:AAAA:"} {
		if _, err := KeyID(s); !errors.Is(err, ErrMalformed) {
			t.Errorf("KeyID(%q) = %v; want ErrMalformed", s, err)
		}
	}
}

// FuzzKeyringOpen: Open never panics and opens nothing it did not seal.
func FuzzKeyringOpen(f *testing.F) {
	k := mustKeyring(f, "k1", map[string][]byte{"k1": key(1, 32)})
	f.Add(k.Seal([]byte(plaintext), aad))
	f.Add("k1:")
	f.Add("k2:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, s string) {
		if got, err := k.Open(s, aad); err == nil && string(got) != plaintext {
			t.Fatalf("Open(%q) = %q", s, got)
		}
	})
}
