package sealing

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// key returns a key of n bytes, all b: distinct, recognisable test keys.
func key(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

func randomKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func mustKeyring(t testing.TB, active string, keys map[string][]byte) *Keyring {
	t.Helper()
	k, err := NewKeyring(active, keys)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustSigner(t testing.TB, active string, keys map[string][]byte) *LinkSigner {
	t.Helper()
	s, err := NewLinkSigner(active, keys)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// b64Alphabet is every character a sealed payload or token may contain, plus a few it may not.
const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// variants returns s with the byte at i replaced by every other base64url character and a few
// foreign ones (padding, the standard alphabet's + and /, a separator, white space, a NUL).
func variants(s string, i int) []string {
	var out []string
	for _, c := range []byte(b64Alphabet + "=+/:.\n\r \x00") {
		if c != s[i] {
			out = append(out, s[:i]+string(c)+s[i+1:])
		}
	}
	return out
}

// wantLinkErr checks one of Verify's errors: kind, reason, problem metadata and wrapped cause.
func wantLinkErr(t *testing.T, err error, kind errs.Kind, reason errs.Reason, problem string, cause error) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != kind || e.Reason != reason || e.Metadata["problem"] != problem || !errors.Is(err, cause) {
		t.Fatalf("error = %v; want %v / %s problem=%q wrapping %q", err, kind, reason, problem, cause)
	}
}

// wantNoSecret fails when msg contains any of the secrets.
func wantNoSecret(t *testing.T, msg string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("error %q contains a secret %q", msg, s)
		}
	}
}
