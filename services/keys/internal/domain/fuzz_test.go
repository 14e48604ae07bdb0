package domain

import (
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// FuzzParseKey: ParseKey never panics; an accepted input round-trips through String and every
// normalised spelling of it (lower case, no dashes, spaced out, padded) parses to the same key;
// a refused input gets KEY_MALFORMED with one violation and the right length, and the error never
// contains the input's characters.
func FuzzParseKey(f *testing.F) {
	for _, s := range pinnedKeys() {
		f.Add(s)
		f.Add(strings.ToLower(strings.ReplaceAll(s, "-", " ")))
	}
	for _, s := range []string{"", "-", "KX47RTM9CWQ3HNJYAPD6EGF7", "KX47RTM9CWQ3HNJYAPD6EGF744",
		"OX47RTM9CWQ3HNJYAPD6EGF74", "\xff\xfe", "ıııı", "KX47R–TM9CW—Q3HNJ YAPD6\tEGF74"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		k, err := ParseKey(in)
		if err != nil {
			if !k.IsZero() {
				t.Fatalf("refused %q but returned a key", in)
			}
			e, ok := errs.As(err)
			if !ok || e.Kind != errs.InvalidArgument || e.Reason != ReasonKeyMalformed || len(e.Violations) != 1 ||
				e.Violations[0].Field != DefaultKeyField {
				t.Fatalf("ParseKey(%q) error = %v", in, err)
			}
			if e.Metadata["length"] != fmt.Sprint(significant(in)) {
				t.Fatalf("ParseKey(%q) length = %s, want %d", in, e.Metadata["length"], significant(in))
			}
			if norm := normalised(in); len(norm) >= 8 && onlyAlphabet(norm) && strings.Contains(err.Error(), norm) {
				t.Fatalf("error %q echoes the input", err)
			}
			return
		}
		if k.IsZero() {
			t.Fatalf("ParseKey(%q) accepted the zero key", in)
		}
		s := k.Reveal()
		if len(s) != 29 || k.Masked() != "*****-*****-*****-*****-"+s[24:] {
			t.Fatalf("String %q, Masked %q", s, k.Masked())
		}
		variants := []string{s, strings.ToLower(s), strings.ReplaceAll(s, "-", ""),
			strings.ReplaceAll(s, "-", " "), " " + strings.Join(strings.Split(compact(k), ""), " ") + "\n",
			strings.ToLower(strings.ReplaceAll(s, "-", "\t")), "--" + s + "--"}
		for _, v := range variants {
			if got, err := ParseKey(v); err != nil || got != k {
				t.Fatalf("ParseKey(%q) = %v, %v; want %v (from input %q)", v, got.Masked(), err, k.Masked(), in)
			}
		}
	})
}

// significant counts the characters of s that normalisation keeps, the way doc.go defines it.
func significant(s string) int {
	n := 0
	for _, r := range s {
		if !separator(r) {
			n++
		}
	}
	return n
}

// normalised returns s upper-cased (ASCII) without separators; invalid UTF-8 becomes U+FFFD.
func normalised(s string) string {
	var b strings.Builder
	for _, r := range s {
		if separator(r) {
			continue
		}
		if 'a' <= r && r <= 'z' {
			r -= 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func onlyAlphabet(s string) bool {
	for i := 0; i < len(s); i++ {
		if value(s[i]) < 0 {
			return false
		}
	}
	return utf8.ValidString(s)
}

// separator is what doc.go says normalisation removes, written out independently of the code
// under test: white space and dash punctuation.
func separator(r rune) bool { return unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) }
