// Package domain holds identity's entities and rules: partners and their programs (ID-1), users
// and their roles, API credentials, and the signing-key rotation policy. No I/O here.
package domain

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// SecretBytes is the entropy of a client secret: 256 bits. With that much entropy a single
// SHA-256 is a sound verifier (no dictionary to attack), and verification stays microseconds, so
// IssueToken is not a CPU sink.
const SecretBytes = 32

// NewSecret returns a fresh client secret (shown to the user once) and its hash (stored).
func NewSecret() (secret string, hash []byte) {
	b := make([]byte, SecretBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	secret = "phs_" + base64.RawURLEncoding.EncodeToString(b)
	return secret, HashSecret(secret)
}

// HashSecret is the stored verifier of a secret.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// SecretMatches compares in constant time.
func SecretMatches(secret string, hash []byte) bool {
	return subtle.ConstantTimeCompare(HashSecret(secret), hash) == 1
}
