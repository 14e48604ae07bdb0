package domain

import (
	"strings"
	"testing"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// lookAlikes are the characters KD-1's alphabet leaves out because each can be mistaken for
// another; both members of every pair are out.
const lookAlikes = "0O1IL5S2Z8BUV"

// KD-1: the alphabet has 23 distinct digits and upper-case letters, 23 is prime, and no look-alike
// is in it.
func TestAlphabet_KD1(t *testing.T) {
	if radix != 23 {
		t.Fatalf("radix = %d, want 23", radix)
	}
	for d := 2; d*d <= radix; d++ {
		if radix%d == 0 {
			t.Fatalf("radix %d is not prime (divisible by %d)", radix, d)
		}
	}
	seen := map[rune]bool{}
	for _, c := range Alphabet {
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z') {
			t.Errorf("%q is not a digit or an upper-case letter", c)
		}
		if seen[c] {
			t.Errorf("%q twice", c)
		}
		seen[c] = true
	}
	for _, c := range lookAlikes {
		if strings.ContainsRune(Alphabet, c) {
			t.Errorf("look-alike %q is in the alphabet", c)
		}
	}
	if len(seen)+len(lookAlikes) != 10+26 {
		t.Errorf("alphabet %d + look-alikes %d do not make up the 36 digits and letters", len(seen), len(lookAlikes))
	}
}

// The weights behind both guarantees: every weight is non-zero mod 23, neighbours differ mod 23,
// and the check character weighs 1.
func TestWeights(t *testing.T) {
	for i := range KeyLength {
		if w := weight(i); w%radix == 0 || w < 1 || w >= radix {
			t.Errorf("weight(%d) = %d, want 1..22", i, w)
		}
		if i+1 < KeyLength && (weight(i)-weight(i+1))%radix == 0 {
			t.Errorf("weight(%d) = weight(%d) mod 23", i, i+1)
		}
	}
	if weight(KeyLength-1) != 1 {
		t.Errorf("weight of the check character = %d, want 1", weight(KeyLength-1))
	}
}

// KD-1, proof over every key: the check is linear, so a substitution at position i of value a by
// value b changes the sum by weight(i)·(b − a) whatever the other characters are. Enumerating
// every position and every ordered pair a ≠ b shows the change is never 0 mod 23, so every single
// substitution in every key is detected.
func TestCheck_KD1_EverySubstitutionDetected_AllKeys(t *testing.T) {
	n := 0
	for i := range KeyLength {
		for a := range radix {
			for b := range radix {
				if a == b {
					continue
				}
				n++
				if (weight(i)*(b-a))%radix == 0 {
					t.Errorf("position %d: %c → %c is not detected", i, Alphabet[a], Alphabet[b])
				}
			}
		}
	}
	if n != KeyLength*radix*(radix-1) {
		t.Fatalf("checked %d cases", n)
	}
}

// KD-1, proof over every key: swapping neighbours i, i+1 holding a ≠ b changes the sum by
// (weight(i) − weight(i+1))·(b − a), never 0 mod 23, for every position (including the check
// character's) and every pair.
func TestCheck_KD1_EveryAdjacentSwapDetected_AllKeys(t *testing.T) {
	for i := range KeyLength - 1 {
		for a := range radix {
			for b := range radix {
				if a != b && ((weight(i)-weight(i+1))*(b-a))%radix == 0 {
					t.Errorf("positions %d,%d: %c%c → %c%c is not detected", i, i+1,
						Alphabet[a], Alphabet[b], Alphabet[b], Alphabet[a])
				}
			}
		}
	}
}

// wantRefused checks that ParseKey refuses in with KEY_MALFORMED and the given problem.
func wantRefused(t *testing.T, in, problem, what string) {
	t.Helper()
	k, err := ParseKey(in)
	e, ok := errs.As(err)
	if !ok || e.Reason != ReasonKeyMalformed || e.Metadata["problem"] != problem {
		t.Fatalf("%s: ParseKey = %v, %v; want KEY_MALFORMED %s", what, k.Masked(), err, problem)
	}
}

// KD-1 end to end: for sample keys, every position, every other alphabet character is refused
// as CHECK_FAILED, and every look-alike (lower case too) as BAD_CHARACTER, before any lookup.
func TestParseKey_KD1_EverySubstitutionRefused(t *testing.T) {
	keys := sampleKeys(t, 60)
	subs := 0
	for _, k := range keys {
		s := compact(k)
		for i := range KeyLength {
			for j := range radix {
				if Alphabet[j] == s[i] {
					continue
				}
				subs++
				wantRefused(t, s[:i]+Alphabet[j:j+1]+s[i+1:], problemCheck, "substitution")
			}
			for _, c := range lookAlikes + strings.ToLower(lookAlikes) {
				wantRefused(t, s[:i]+string(c)+s[i+1:], problemCharacter, "look-alike")
			}
		}
	}
	if want := len(keys) * KeyLength * (radix - 1); subs != want {
		t.Fatalf("tried %d substitutions, want %d", subs, want)
	}
}

// KD-1 end to end: for sample keys, every swap of two different neighbours is refused, and
// swapping equal neighbours (no change at all) is of course accepted.
func TestParseKey_KD1_EveryAdjacentSwapRefused(t *testing.T) {
	swaps := 0
	for _, k := range sampleKeys(t, 60) {
		s := []byte(compact(k))
		for i := range KeyLength - 1 {
			t2 := []byte(string(s))
			t2[i], t2[i+1] = t2[i+1], t2[i]
			if s[i] == s[i+1] {
				if got, err := ParseKey(string(t2)); err != nil || got != k {
					t.Errorf("equal neighbours swapped: %v", err)
				}
				continue
			}
			swaps++
			wantRefused(t, string(t2), problemCheck, "adjacent swap")
		}
	}
	if swaps < 60*20 {
		t.Fatalf("only %d swaps tried", swaps)
	}
}
