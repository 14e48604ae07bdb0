package domain

import (
	"log/slog"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// DefaultKeyField is the field a KEY_MALFORMED violation names when the caller gives none.
const DefaultKeyField = "product_key"

// The values of the "problem" metadata of a KEY_MALFORMED error, in the order they are checked.
const (
	problemLength    = "WRONG_LENGTH"  // not 25 key characters after normalisation
	problemCharacter = "BAD_CHARACTER" // a character outside Alphabet
	problemCheck     = "CHECK_FAILED"  // 25 key characters, but the check character is wrong
)

// Key is a well-formed product key (KD-1): 25 characters of Alphabet whose last one is the check
// character of the first 24. Keys compare with ==. The zero Key is not a key: IsZero reports it,
// and String and Masked return "" for it.
//
// A key is valuable (KD-8): log Masked, never String. GoString and LogValue (log/slog) are masked
// so that %#v and structured logs cannot leak one by accident.
type Key struct {
	chars [KeyLength]byte
}

// ParseKey parses a product key as a user typed it; see ParseKeyField. Violations name the field
// "product_key".
func ParseKey(s string) (Key, error) { return ParseKeyField(s, DefaultKeyField) }

// ParseKeyField parses a product key as a user typed it (KD-1): ASCII letters are upper-cased, and
// dashes (any Unicode dash punctuation) and white space (any Unicode space) are dropped wherever
// they are. What remains must be 25 characters of Alphabet whose check character matches, or the
// answer is INVALID_ARGUMENT / KEY_MALFORMED with one field violation on field (DefaultKeyField
// when empty) and metadata length (the number of characters left after normalisation) and
// problem (WRONG_LENGTH, BAD_CHARACTER or CHECK_FAILED). The input itself never appears in the
// error, which may be logged (KD-8).
//
// The check runs before any lookup, so a mistyped character or two swapped neighbours are
// reported without touching the store.
func ParseKeyField(s, field string) (Key, error) {
	if field == "" {
		field = DefaultKeyField
	}
	var k Key
	n, bad := 0, false
	for _, r := range s {
		if 'a' <= r && r <= 'z' {
			// ASCII only: unicode.ToUpper would turn e.g. 'ı' into 'I' and 'ſ' into 'S'.
			r -= 'a' - 'A'
		}
		switch {
		case r < utf8.RuneSelf && value(byte(r)) >= 0:
			if n < KeyLength {
				k.chars[n] = byte(r)
			}
		case isSeparator(r):
			continue
		default:
			bad = true // invalid UTF-8 arrives here as utf8.RuneError
		}
		n++
	}
	switch {
	case n != KeyLength:
		return Key{}, malformed(field, n, problemLength,
			"a product key has %d characters in five groups of five; this one has %d", KeyLength, n)
	case bad:
		return Key{}, malformed(field, n, problemCharacter,
			"a product key uses only the characters %s", Alphabet)
	case checkSum(k.chars[:]) != 0:
		return Key{}, malformed(field, n, problemCheck,
			"the product key does not check out: a character is mistyped or two are swapped")
	}
	return k, nil
}

// isSeparator reports whether normalisation drops r: white space and dash punctuation.
func isSeparator(r rune) bool { return unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) }

// malformed returns the KEY_MALFORMED error; it carries the length, never the content.
func malformed(field string, length int, problem, format string, args ...any) error {
	e := errs.New(errs.InvalidArgument, ReasonKeyMalformed, "the product key is malformed").
		With("length", length).With("problem", problem)
	var v errs.Violations
	v.Add(field, format, args...)
	e.Violations = v
	return e
}

// IsZero reports whether k is the zero Key (not a key).
func (k Key) IsZero() bool { return k == Key{} }

// Reveal returns the whole key in five groups of five separated by dashes,
// "XXXXX-XXXXX-XXXXX-XXXXX-XXXXX" — the form RevealKey returns and ParseKey reads back. Only the
// paths that hand a key to its entitled caller (or seal it) call it; never log it (KD-8).
func (k Key) Reveal() string {
	if k.IsZero() {
		return ""
	}
	var b strings.Builder
	b.Grow(KeyLength + KeyLength/GroupLength - 1)
	for i, c := range k.chars {
		if i > 0 && i%GroupLength == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// String is Masked, so that %v, %s and every logger that formats a fmt.Stringer (zap included)
// show the masked key: the whole key takes an explicit Reveal (KD-8).
func (k Key) String() string { return k.Masked() }

// Masked returns the key with every character but the last group replaced by '*', keeping the
// grouping: "*****-*****-*****-*****-7QX4M". The last group includes the check character, so the
// masked form reveals 4 random characters (about 18 of the key's 108 random bits): enough for a
// person to tell keys apart, far too little to guess one. This is the only form of a key that
// lists, activity records and logs show (KD-8).
func (k Key) Masked() string {
	if k.IsZero() {
		return ""
	}
	const hidden = "*****-*****-*****-*****-"
	return hidden + string(k.chars[KeyLength-GroupLength:])
}

// GoString makes %#v print the masked key rather than the characters.
func (k Key) GoString() string { return "domain.Key(" + k.Masked() + ")" }

// LogValue makes log/slog record the masked key (KD-8).
func (k Key) LogValue() slog.Value { return slog.StringValue(k.Masked()) }
