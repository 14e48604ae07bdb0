package domain

import (
	"errors"
	"fmt"
	"io"
)

// Rejection sampling: a random byte b is used only when b < acceptBelow (the largest multiple of
// 23 not above 256), and then maps to Alphabet[b mod 23]. Each character thus has exactly 11 of
// the 253 accepted byte values: no modulo bias. A byte is rejected with probability 3/256.
const acceptBelow = 256 / radix * radix // 253

// drawSize is the number of random bytes read at a time; maxDraws bounds the reads, so a broken
// source that yields only rejected bytes fails instead of looping for ever. With a real random
// source, needing more than one draw is already unlikely (fewer than 24 of 32 bytes accepted:
// p < 1e-9), and needing more than maxDraws never happens.
const (
	drawSize = 32
	maxDraws = 64
)

// GenerateKey returns a new random product key (KD-1): 24 characters drawn uniformly from Alphabet
// with bytes from r, then the check character. Callers pass crypto/rand.Reader; tests may pass a
// deterministic source. An error from r is returned wrapped; the error never contains key
// characters.
func GenerateKey(r io.Reader) (Key, error) {
	var k Key
	var buf [drawSize]byte
	n := 0
	for draw := 0; n < payloadLength; draw++ {
		if draw == maxDraws {
			return Key{}, errors.New("domain: generate key: the random source yields too few usable bytes")
		}
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return Key{}, fmt.Errorf("domain: generate key: read random bytes: %w", err)
		}
		for _, b := range buf {
			if int(b) >= acceptBelow {
				continue
			}
			k.chars[n] = Alphabet[int(b)%radix]
			if n++; n == payloadLength {
				break
			}
		}
	}
	k.chars[payloadLength] = checkChar(k.chars[:payloadLength])
	return k, nil
}
