package domain

import (
	"crypto/ed25519"
	"crypto/rand"
	"time"

	"github.com/google/uuid"
)

// Rotation policy for token signing keys. A key signs for SignFor; it stays published for
// verification until every token it signed has expired (MaxTokenLifetime later), and the next key
// is published PublishAhead before it signs, so verifiers that cache the key set for up to
// PublishAhead always know a key before they see a token signed with it.
const (
	SignFor          = 7 * 24 * time.Hour
	PublishAhead     = 10 * time.Minute
	MaxTokenLifetime = time.Hour
)

// SigningKey is one Ed25519 key pair and its validity.
type SigningKey struct {
	ID        string
	Private   ed25519.PrivateKey
	Public    ed25519.PublicKey
	NotBefore time.Time // published from, and signs from
	SignUntil time.Time // signs until
	NotAfter  time.Time // verifiable until
}

// NewSigningKey returns a key that starts signing at from.
func NewSigningKey(from time.Time) SigningKey {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	return SigningKey{
		ID:        uuid.NewString(),
		Private:   priv,
		Public:    pub,
		NotBefore: from,
		SignUntil: from.Add(SignFor),
		NotAfter:  from.Add(SignFor + MaxTokenLifetime),
	}
}

// Signs reports whether k may sign at t.
func (k SigningKey) Signs(t time.Time) bool { return !t.Before(k.NotBefore) && t.Before(k.SignUntil) }

// Rotation decides, for the keys that exist at now, which key signs and which new key must be
// created (if any). A new key is due when no key signs now, or when the signing key's successor
// must be published ahead of its end.
func Rotation(keys []SigningKey, now time.Time) (signer *SigningKey, create *SigningKey) {
	var latest *SigningKey
	for i := range keys {
		k := &keys[i]
		if k.Signs(now) && (signer == nil || k.NotBefore.After(signer.NotBefore)) {
			signer = k
		}
		if latest == nil || k.SignUntil.After(latest.SignUntil) {
			latest = k
		}
	}
	switch {
	case signer == nil:
		k := NewSigningKey(now)
		return &k, &k
	case latest.SignUntil.Sub(now) <= PublishAhead:
		k := NewSigningKey(latest.SignUntil)
		return signer, &k
	}
	return signer, nil
}
