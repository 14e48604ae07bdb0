package sealing

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// KeyringKeySize is the size of a keyring key: AES-256.
const KeyringKeySize = 32

// sealedSeparator separates the key ID from the payload in a sealed value.
const sealedSeparator = ":"

// sealContext prefixes the additional data of every seal, so a sealed value of this package can
// never be taken for another use of the same key.
const sealContext = "partnerhub.keys.sealing.v1\x00"

// b64 is the encoding of sealed payloads and link tokens: URL-safe, unpadded, and strict, so that
// one byte string has exactly one encoding (a changed trailing character cannot decode to the
// same bytes).
var b64 = base64.RawURLEncoding.Strict()

// Keyring encrypts values at rest with AES-256-GCM under named keys (KD-8: keys are stored
// protected). It seals with its active key and opens with whichever key a sealed value names, so
// the encryption key can rotate: add a new key as active, keep the old ones until every value is
// resealed (KeyID tells which values still use an old key), then retire them. A Keyring is
// immutable and safe for concurrent use.
type Keyring struct {
	active string
	aeads  map[string]cipher.AEAD
}

// NewKeyring returns a keyring that seals with keys[active] and opens with any of keys. Every key
// must be exactly 32 bytes and every ID 1 to 64 characters of A-Z a-z 0-9 _ -. The keys are
// copied. Errors wrap ErrConfig and never contain a key.
func NewKeyring(active string, keys map[string][]byte) (*Keyring, error) {
	if err := checkKeys(active, keys, func(n int) bool { return n == KeyringKeySize }, "32"); err != nil {
		return nil, err
	}
	k := &Keyring{active: active, aeads: make(map[string]cipher.AEAD, len(keys))}
	for id, key := range keys {
		block, err := aes.NewCipher(key) // copies the key into its schedule
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		// Random 96-bit nonces, generated and prepended by Seal: a key must seal fewer than 2^32
		// values, far beyond a key store's size between two rotations.
		aead, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		k.aeads[id] = aead
	}
	return k, nil
}

// ParseKeyring returns a keyring from a configuration string "k2:BASE64,k1:BASE64": comma-separated
// entries of key ID, colon and base64 key (standard or URL-safe alphabet, padding optional); the
// first entry is the active key, the others only open older values. Errors name entries by
// position and never echo their content.
func ParseKeyring(config string) (*Keyring, error) {
	active, keys, err := parseKeyConfig(config)
	if err != nil {
		return nil, err
	}
	return NewKeyring(active, keys)
}

// ActiveID returns the ID of the key Seal uses.
func (k *Keyring) ActiveID() string { return k.active }

// IDs returns the IDs of every key the keyring opens with, sorted.
func (k *Keyring) IDs() []string { return slices.Sorted(maps.Keys(k.aeads)) }

// Seal encrypts plaintext under the active key, binding it to aad (e.g. the ID of the row that
// stores it, so a sealed value copied to another row does not open there). The result is
// "<key ID>:<payload>", payload being base64url without padding of nonce (12 random bytes) ‖
// ciphertext ‖ GCM tag (16 bytes); the key ID and a context string are authenticated with aad.
// Sealing the same plaintext twice gives different values.
func (k *Keyring) Seal(plaintext, aad []byte) string {
	// The nonce is nil: the AEAD is cipher.NewGCMWithRandomNonce's, which draws a random one per Seal.
	sealed := k.aeads[k.active].Seal(nil, nil, plaintext, additionalData(k.active, aad)) //nolint:gosec // G407: not a fixed nonce, see above
	return k.active + sealedSeparator + b64.EncodeToString(sealed)
}

// Open decrypts a value Seal returned, with the key it names and the same aad. It fails with an
// error wrapping ErrMalformed (not a sealed value), ErrUnknownKey (a key ID the keyring does not
// hold: a retired key) or ErrNotAuthentic (tampered, or another aad). Errors never contain the
// plaintext, and name the key ID only when it is a well-formed ID.
func (k *Keyring) Open(sealed string, aad []byte) ([]byte, error) {
	id, payload, err := splitSealed(sealed)
	if err != nil {
		return nil, err
	}
	aead, ok := k.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w: key ID %q", ErrUnknownKey, id)
	}
	if len(payload) < aead.Overhead() {
		return nil, fmt.Errorf("%w: too short", ErrMalformed)
	}
	plaintext, err := aead.Open(nil, nil, payload, additionalData(id, aad))
	if err != nil {
		// GCM's error says nothing more; keep ours stable.
		return nil, fmt.Errorf("%w: key ID %q", ErrNotAuthentic, id)
	}
	return plaintext, nil
}

// KeyID returns the key ID a sealed value names, without opening it: a rotation job reseals the
// values whose KeyID is not the keyring's ActiveID. It fails with ErrMalformed.
func KeyID(sealed string) (string, error) {
	id, _, err := splitSealed(sealed)
	return id, err
}

// splitSealed parses "<key ID>:<base64url payload>".
func splitSealed(sealed string) (string, []byte, error) {
	id, enc, ok := strings.Cut(sealed, sealedSeparator)
	if !ok || !validKeyID(id) || !isB64URL(enc) {
		return "", nil, ErrMalformed
	}
	payload, err := b64.DecodeString(enc)
	if err != nil {
		return "", nil, ErrMalformed
	}
	return id, payload, nil
}

// isB64URL reports whether s is non-empty and only base64url characters; the decoder alone would
// skip CR and LF, making a sealed value malleable in its encoding.
func isB64URL(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isIDChar(c) {
			return false
		}
	}
	return true
}

// additionalData is what GCM authenticates besides the ciphertext: the context, the key ID (which
// never contains a NUL) and the caller's aad.
func additionalData(id string, aad []byte) []byte {
	ad := make([]byte, 0, len(sealContext)+len(id)+1+len(aad))
	ad = append(ad, sealContext...)
	ad = append(ad, id...)
	ad = append(ad, 0)
	return append(ad, aad...)
}
