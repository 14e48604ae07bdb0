package domain

import (
	"testing"
	"time"
)

func TestSecret_HashAndMatch(t *testing.T) {
	s1, h1 := NewSecret()
	s2, _ := NewSecret()
	if s1 == s2 {
		t.Fatal("two secrets are equal")
	}
	if !SecretMatches(s1, h1) {
		t.Error("a secret does not match its own hash")
	}
	if SecretMatches(s2, h1) || SecretMatches("", h1) {
		t.Error("another secret matches")
	}
}

func TestRotation(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	t.Run("no key: create one that signs now", func(t *testing.T) {
		signer, create := Rotation(nil, t0)
		if create == nil || signer == nil || signer.ID != create.ID || !signer.Signs(t0) {
			t.Fatalf("signer %v create %v", signer, create)
		}
		if got := create.NotAfter.Sub(create.SignUntil); got != MaxTokenLifetime {
			t.Errorf("verifiable %v after its last signature, want %v", got, MaxTokenLifetime)
		}
	})
	k := NewSigningKey(t0)
	t.Run("mid-term: keep signing, nothing to create", func(t *testing.T) {
		signer, create := Rotation([]SigningKey{k}, t0.Add(SignFor/2))
		if create != nil || signer.ID != k.ID {
			t.Fatalf("signer %v create %v", signer.ID, create)
		}
	})
	t.Run("near the end: publish the successor ahead, keep signing with the old key", func(t *testing.T) {
		now := k.SignUntil.Add(-PublishAhead)
		signer, create := Rotation([]SigningKey{k}, now)
		if create == nil || signer.ID != k.ID {
			t.Fatalf("signer %v create %v", signer.ID, create)
		}
		if !create.NotBefore.Equal(k.SignUntil) {
			t.Errorf("successor starts %v, want %v", create.NotBefore, k.SignUntil)
		}
		// Once the successor exists nothing more is created, and it takes over at its start.
		next := *create
		if _, again := Rotation([]SigningKey{k, next}, now); again != nil {
			t.Error("a second successor was created")
		}
		if s, _ := Rotation([]SigningKey{k, next}, k.SignUntil); s.ID != next.ID {
			t.Errorf("at the hand-over %s signs, want the successor", s.ID)
		}
	})
	t.Run("everything expired: create a fresh key", func(t *testing.T) {
		_, create := Rotation([]SigningKey{k}, k.NotAfter.Add(time.Hour))
		if create == nil {
			t.Fatal("no key created")
		}
	})
}

// ID-3: the built-in markets and a deployment's narrower list.
func TestMarkets_ID3(t *testing.T) {
	all, err := ParseMarkets("")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ code, currency string }{{"US", "USD"}, {"DE", "EUR"}, {"AT", "EUR"}, {"GB", "GBP"}, {"AU", "AUD"}, {"BR", "BRL"}, {"JP", "JPY"}, {"AX", "EUR"}} {
		m, ok := all.Lookup(tc.code)
		if !ok || m.CurrencyCode != tc.currency {
			t.Errorf("%s: %+v %v, want served in %s", tc.code, m, ok, tc.currency)
		}
	}
	for _, code := range []string{"KP", "IR", "CU", "SY", "ZZ", "de"} {
		if _, ok := all.Lookup(code); ok {
			t.Errorf("%s is served", code)
		}
	}
	few, err := ParseMarkets(" de,US ,DE")
	if err != nil || len(few.List()) != 2 || few.List()[0].CountryCode != "DE" {
		t.Fatalf("ParseMarkets: %+v %v", few.List(), err)
	}
	if _, err := ParseMarkets("DE,XX"); err == nil {
		t.Error("an unknown market was accepted")
	}
	if !ValidCountryCode("DE") || ValidCountryCode("de") || ValidCountryCode("DEU") {
		t.Error("ValidCountryCode")
	}
}
