package domain

import "strings"

// Alphabet is the set of characters a product key is made of (KD-1), in value order: the digits
// and upper-case letters without the look-alike pairs 0/O, 1/I/L, 2/Z, 5/S, 8/B and U/V (both
// members of each pair are left out, so neither can be misread as the other). That leaves
// 5 digits and 18 letters: 23 characters, a prime, which the check character relies on (see
// doc.go).
const Alphabet = "34679ACDEFGHJKMNPQRTWXY"

// radix is the number of characters in Alphabet; it must stay prime (the check character's
// guarantees rest on Z/23 being a field).
const radix = len(Alphabet)

// The shape of a product key: 25 characters in five groups of five, the last one the check
// character.
const (
	KeyLength   = 25
	GroupLength = 5
	// payloadLength is the number of characters the check character protects.
	payloadLength = KeyLength - 1
)

// value returns c's position in Alphabet, or -1 when c is not a key character.
func value(c byte) int { return strings.IndexByte(Alphabet, c) }

// weight returns the weight of position i (0-based) in the check sum: 1 + ((24 − i) mod 22).
// Every weight is in 1..22, so none is 0 mod 23 (a substitution anywhere changes the sum), and
// neighbours always differ (a swap of two different neighbours changes the sum). The check
// character, position 24, weighs 1, so it is simply the negated sum of the other 24.
func weight(i int) int { return 1 + (KeyLength-1-i)%(radix-1) }

// checkSum returns Σ weight(i) × value(chars[i]) mod 23 over the given characters, which must all
// be in Alphabet and at most KeyLength long.
func checkSum(chars []byte) int {
	s := 0
	for i, c := range chars {
		s += weight(i) * value(c)
	}
	return s % radix
}

// checkChar returns the character that makes the full 25-character sum 0 mod 23, given the first
// 24 characters.
func checkChar(payload []byte) byte {
	return Alphabet[(radix-checkSum(payload))%radix]
}
