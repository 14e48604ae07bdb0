package domain

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// KD-1: a key is accepted in any case, with or without dashes, spaces or other white space, and
// every spelling parses to the same key.
func TestParseKey_KD1_Normalises(t *testing.T) {
	want := mustParse(t, "7QX4M-ACDEF-GHJKM-NPQRT-WXY9P")
	for _, in := range []string{
		"7QX4M-ACDEF-GHJKM-NPQRT-WXY9P",
		"7qx4m-acdef-ghjkm-npqrt-wxy9p",
		"7QX4MACDEFGHJKMNPQRTWXY9P",
		"7QX4M ACDEF GHJKM NPQRT WXY9P",
		"  7Qx4m-AcDeF GHJKM\tNPQRT\nWXY9P\r\n",
		"7-Q-X-4-M-A-C-D-E-F-G-H-J-K-M-N-P-Q-R-T-W-X-Y-9-P",
		"7QX4M–ACDEF—GHJKM‐NPQRT\u2011WXY9P",      // en dash, em dash, hyphen, non-breaking hyphen
		"7QX4M\u00a0ACDEF\u3000GHJKM NPQRT WXY9P", // no-break space, ideographic space
		"---7QX4MACDEFGHJKMNPQRTWXY9P---",
	} {
		got, err := ParseKey(in)
		if err != nil || got != want {
			t.Errorf("ParseKey(%q) = %v, %v; want %v", in, got.Masked(), err, want.Masked())
		}
	}
}

// KD-1, KD-8: anything else is INVALID_ARGUMENT / KEY_MALFORMED with one violation, the length
// after normalisation and the problem, and never the input's characters.
func TestParseKey_KD1_Malformed(t *testing.T) {
	const valid = "KX47RTM9CWQ3HNJYAPD6EGF74"
	cases := []struct {
		name, in string
		length   int
		problem  string
	}{
		{"empty", "", 0, problemLength},
		{"only separators", " - -\t", 0, problemLength},
		{"24 characters", valid[:24], 24, problemLength},
		{"26 characters", valid + "3", 26, problemLength},
		{"50 characters", valid + valid, 50, problemLength},
		{"underscore separators", "KX47R_TM9CW_Q3HNJ_YAPD6_EGF74", 29, problemLength},
		{"letter O", "O" + valid[1:], 25, problemCharacter},
		{"digit 0", "0" + valid[1:], 25, problemCharacter},
		{"letter I", "I" + valid[1:], 25, problemCharacter},
		{"letter L", "L" + valid[1:], 25, problemCharacter},
		{"digit 1", "1" + valid[1:], 25, problemCharacter},
		{"letter S", "S" + valid[1:], 25, problemCharacter},
		{"digit 5", "5" + valid[1:], 25, problemCharacter},
		{"letter Z", "Z" + valid[1:], 25, problemCharacter},
		{"digit 2", "2" + valid[1:], 25, problemCharacter},
		{"letter B", "B" + valid[1:], 25, problemCharacter},
		{"digit 8", "8" + valid[1:], 25, problemCharacter},
		{"letter U", "U" + valid[1:], 25, problemCharacter},
		{"letter V", "V" + valid[1:], 25, problemCharacter},
		{"dotless i upper-cases to I in Unicode", "ı" + valid[1:], 25, problemCharacter},
		{"fullwidth letter", "７" + valid[1:], 25, problemCharacter},
		{"invalid UTF-8", "\xff" + valid[1:], 25, problemCharacter},
		{"zero-width space is not white space", valid[:5] + "\u200b" + valid[5:24], 25, problemCharacter},
		{"punctuation", valid[:5] + "." + valid[5:24], 25, problemCharacter},
		{"wrong check character", valid[:24] + "Q", 25, problemCheck},
		{"swapped neighbours", "XK" + valid[2:], 25, problemCheck},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, err := ParseKey(c.in)
			if !k.IsZero() {
				t.Errorf("key = %v, want the zero Key", k.Masked())
			}
			e := wantErr(t, err, errs.InvalidArgument, ReasonKeyMalformed,
				map[string]string{"length": fmt.Sprint(c.length), "problem": c.problem})
			if len(e.Violations) != 1 || e.Violations[0].Field != DefaultKeyField || e.Violations[0].Description == "" {
				t.Errorf("violations = %+v, want one on %s", e.Violations, DefaultKeyField)
			}
			if msg := err.Error(); len(c.in) >= 8 && (strings.Contains(msg, c.in) ||
				strings.Contains(msg, strings.ToUpper(c.in[:8])) || strings.Contains(msg, valid[5:13])) {
				t.Errorf("error %q echoes the input", msg)
			}
		})
	}
}

// The violation names the field the caller gives, and product_key when it gives none.
func TestParseKeyField_NamesTheField(t *testing.T) {
	for field, want := range map[string]string{"": "product_key", "product_keys[3]": "product_keys[3]"} {
		_, err := ParseKeyField("nope", field)
		e := wantErr(t, err, errs.InvalidArgument, ReasonKeyMalformed, nil)
		if len(e.Violations) != 1 || e.Violations[0].Field != want {
			t.Errorf("field %q: violations = %+v, want one on %q", field, e.Violations, want)
		}
	}
	k, err := ParseKeyField(pinnedKeys()[2], "product_keys[0]")
	if err != nil || k.Reveal() != pinnedKeys()[2] {
		t.Errorf("ParseKeyField(valid) = %v, %v", k, err)
	}
}

// KD-1, KD-8: the printed, masked and zero forms.
func TestKey_StringAndMasked(t *testing.T) {
	for _, s := range pinnedKeys() {
		k := mustParse(t, s)
		if k.Reveal() != s {
			t.Errorf("Reveal() = %q, want %q", k.Reveal(), s)
		}
		want := "*****-*****-*****-*****-" + s[24:]
		if k.Masked() != want || len(k.Masked()) != 29 {
			t.Errorf("Masked() = %q, want %q", k.Masked(), want)
		}
	}
	if mustParse(t, "7QX4M-ACDEF-GHJKM-NPQRT-WXY9P").Masked() != "*****-*****-*****-*****-WXY9P" {
		t.Error("Masked example")
	}
	var zero Key
	if !zero.IsZero() || zero.Reveal() != "" || zero.Masked() != "" {
		t.Errorf("zero Key: IsZero %v, Reveal %q, Masked %q", zero.IsZero(), zero.Reveal(), zero.Masked())
	}
	if mustParse(t, pinnedKeys()[0]).IsZero() {
		t.Error("a parsed key IsZero")
	}
}

// KD-8: %#v and log/slog show the masked key only.
func TestKey_GoStringAndLogValueAreMasked(t *testing.T) {
	k := mustParse(t, "7QX4M-ACDEF-GHJKM-NPQRT-WXY9P")
	secret := compact(k)[:20]
	if got := fmt.Sprintf("%#v", k); got != "domain.Key(*****-*****-*****-*****-WXY9P)" {
		t.Errorf("%%#v = %q", got)
	}
	if got := fmt.Sprintf("%#v", struct{ K Key }{k}); strings.Contains(got, "ACDEF") {
		t.Errorf("%%#v of a struct = %q leaks the key", got)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("revealed", "key", k)
	if strings.Contains(buf.String(), secret[:5]) || strings.Contains(buf.String(), secret[5:10]) ||
		!strings.Contains(buf.String(), "WXY9P") {
		t.Errorf("slog output %s", buf.String())
	}
}

// KD-8: every way of formatting a key but Reveal shows it masked.
func TestKey_FormatsMasked_KD8(t *testing.T) {
	k, err := ParseKey(pinnedKeys()[2])
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %s %+v %#v", k, k, k, k), k.String(), fmt.Sprint([]Key{k})} {
		if strings.Contains(s, k.Reveal()[:5]) || !strings.Contains(s, k.Masked()) {
			t.Errorf("formatted key %q, want only %q", s, k.Masked())
		}
	}
}
