// Package domain holds the pure rules of the keys service: the product key format with its check
// character (KD-1), key generation, masking (KD-8), the key types that may be issued (CA-8, KD-5),
// who may reveal keys and read the activity log (KD-3, KD-6, the role table of DOMAIN.md "Actors
// and roles"), and the reservation state machine of Open key cards (KD-1, KD-2). Nothing here
// reads a clock, a store or the network: callers pass now and a random source, and get back a new
// value or an *errs.Error with a reason of reasons.go.
//
// # Product keys (KD-1)
//
// A product key is 25 characters in five groups of five, printed XXXXX-XXXXX-XXXXX-XXXXX-XXXXX.
// The characters are Alphabet, "34679ACDEFGHJKMNPQRTWXY": digits and upper-case letters without
// the look-alike pairs 0/O, 1/I/L, 2/Z, 5/S, 8/B and U/V — both members of each pair are left
// out, so a key read aloud or off a printed card cannot be misread within the alphabet. That
// leaves 23 characters, and 23 is prime.
//
// Input is normalised before it is checked: ASCII letters are upper-cased and every dash (Unicode
// dash punctuation, so a pasted en dash works) and white space is removed wherever it is.
// Anything else that is not in Alphabet makes the key malformed; nothing is "corrected" (an O is
// not read as a 0, which is not a key character either). A malformed key is INVALID_ARGUMENT /
// KEY_MALFORMED with a field violation and metadata length and problem (WRONG_LENGTH,
// BAD_CHARACTER, CHECK_FAILED); the input's characters never appear in the error, only how many
// there were, because errors are logged and keys must never be (KD-8).
//
// # The check character
//
// Let v(i) be the value (index in Alphabet, 0..22) of the character at position i = 0..24 and
// w(i) = 1 + ((24 − i) mod 22), so the weights run 3, 2, 1, 22, 21, …, 2, 1 and the last
// position weighs 1. A key is valid when
//
//	Σ w(i)·v(i) ≡ 0 (mod 23)
//
// and the last character is chosen to make it so: v(24) = −Σ_{i<24} w(i)·v(i) mod 23. Because
// the alphabet has exactly 23 characters, every residue is a character: no key needs a character
// the alphabet lacks. Computing mod a prime p = 23 gives two guarantees, over every key:
//
//   - Any single substituted character is detected. Changing v(i) to v'(i) changes the sum by
//     w(i)·(v'(i) − v(i)). Both factors are non-zero mod 23 (every weight is in 1..22, and
//     v' ≠ v with both in 0..22), and a product of non-zero residues mod a prime is non-zero.
//   - Any swap of two different adjacent characters is detected. Swapping positions i and i+1
//     changes the sum by (w(i) − w(i+1))·(v(i+1) − v(i)); neighbouring weights always differ
//     (by 1, or 22 − 1 = 21 at the wrap from 1 back to 22), so again both factors are non-zero.
//     This includes a swap involving the check character itself.
//
// A character outside the alphabet (a look-alike such as O or 1) is refused before the sum is
// computed. A swap of two characters 22 positions apart (which share a weight) and multiple
// errors may go undetected (about 1 in 23 of random corruptions does). Since the 25 positions
// need more weights than the 22 non-zero residues, some non-adjacent positions must share one.
//
// The tests prove the guarantees twice: algebraically over every position and every pair of
// values (which covers all keys, since the check is linear), and end to end through ParseKey
// for a sample of keys, every position and every substitution and adjacent swap.
//
// A Damm check gives the same guarantees, but needs a totally anti-symmetric quasigroup table of
// order 23 to be constructed and kept; Luhn mod N misses some adjacent swaps. The weighted sum
// over a prime-sized alphabet is two lines of arithmetic with the short proof above.
//
// # Generation
//
// GenerateKey draws the first 24 characters uniformly with rejection sampling over random bytes
// (bytes 253..255 are thrown away, so each of the 23 characters has exactly 11 of the 253 byte
// values: no modulo bias) and appends the check character. A key thus carries 24 × log2(23) ≈
// 108.6 random bits. Callers pass crypto/rand.Reader.
//
// # Masking (KD-8)
//
// Keys are shown only on explicit request (RevealKey). Everywhere else — lists, activity records,
// logs, error metadata — a key appears as Key.Masked: the first four groups as asterisks and the
// last group in clear, "*****-*****-*****-*****-7QX4M" (always 29 characters, the grouping kept).
// The last group shows 4 random characters and the check character, about 18 of the key's
// 108 random bits. Key.String is the whole key, for RevealKey only; Key.GoString and Key.LogValue
// are masked so that %#v and log/slog cannot leak a key by accident.
//
// # Key types (CA-8, KD-5)
//
// CSP software is activated with a MAK; a KMS key is never issued, not even on request:
// CheckIssuable refuses KeyTypeKMS with FAILED_PRECONDITION / KMS_NOT_ALLOWED.
//
// # Access (KD-3, KD-6)
//
// CanRevealKey: the partner's Admin agent, for a customer the partner serves (an accepted
// reseller relationship, ID-4), or the customer's own Global admin; nobody else (KD-3; the role
// table's rows for keys and downloads). CanRevealKeyCard: an Admin agent of the partner that owns
// an Open key card. CanReadActivity: the partner's Global admin, Account admin, Referral admin or
// Marketing content admin (KD-6, the role table's row for the activity log) — not the Admin agent,
// not customer users. Rights are those of the effective principal (a service acts with the rights
// of the user it acts for).
//
// # Key card reservations (KD-1, KD-2)
//
// An Open key card is AVAILABLE, RESERVED by one reservation until an expiry, or REDEEMED (final:
// a key is redeemed once). Reserve, Confirm, Release and Lapse are the transitions (see Card);
// ReserveAll reserves several cards all or nothing. A reservation holds while now < expiry: at
// the expiry instant it has lapsed, the card counts as AVAILABLE again (StateAt) and can no longer
// be confirmed (RESERVATION_EXPIRED). Every refusal is FAILED_PRECONDITION with a stable reason:
// KEY_ALREADY_REDEEMED, KEY_RESERVED, RESERVATION_EXPIRED, RESERVATION_NOT_ACTIVE.
package domain
