package sealing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// MinLookupKeySize is the least size of a lookup key: HMAC-SHA256 gains nothing from more than
// its block, and less than 32 bytes would be weaker than the 108 random bits of a product key.
const MinLookupKeySize = 32

// Lookup returns the lookup value of a product key: hex of HMAC-SHA256 under key of the normalised
// key (its 25 characters without dashes). The store indexes key cards by it (UNIQUE), so that a
// typed key finds its card without opening a sealed value and the database never holds a plain
// key (KD-8). Unlike a sealed value it is deterministic, so its key must never change: a new key
// would make every stored card unfindable. key must have at least MinLookupKeySize bytes.
func Lookup(key []byte, normalised string) (string, error) {
	if len(key) < MinLookupKeySize {
		return "", fmt.Errorf("%w: the lookup key has %d bytes, want at least %d", ErrConfig, len(key), MinLookupKeySize)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(normalised))
	return hex.EncodeToString(m.Sum(nil)), nil
}

// ParseLookupKey reads a lookup key from its configuration: base64 (standard or URL-safe, padded
// or not) of at least MinLookupKeySize bytes. Errors wrap ErrConfig and never echo the setting.
func ParseLookupKey(config string) ([]byte, error) {
	key, err := decodeKey(strings.TrimSpace(config))
	if err != nil {
		return nil, fmt.Errorf("%w: the lookup key is not base64", ErrConfig)
	}
	if len(key) < MinLookupKeySize {
		return nil, fmt.Errorf("%w: the lookup key has %d bytes, want at least %d", ErrConfig, len(key), MinLookupKeySize)
	}
	return key, nil
}
