package keys

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// The lookup key is the lookup-key setting; a bad one fails at start without echoing it.
func TestLookupKeyOf(t *testing.T) {
	enc := base64.StdEncoding.EncodeToString
	explicit := bytes.Repeat([]byte{9}, 48)
	got, err := lookupKeyOf(Config{LookupKey: enc(explicit)})
	if err != nil || !bytes.Equal(got, explicit) {
		t.Errorf("lookup key %x, %v", got, err)
	}
	short := enc(bytes.Repeat([]byte{9}, 16))
	if _, err := lookupKeyOf(Config{LookupKey: short}); err == nil ||
		!strings.Contains(err.Error(), "PARTNERHUB_KEYS_LOOKUP_KEY") || strings.Contains(err.Error(), short) {
		t.Errorf("short lookup key: %v", err)
	}
}
