package sealing

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// Key IDs are 1 to maxKeyIDLength characters of A-Z, a-z, 0-9, '_' and '-': never the ':' that
// separates an ID from a key or a sealed payload, nor the ',' between configuration entries, and
// safe in a URL and a log line.
const maxKeyIDLength = 64

// validKeyID reports whether id is a usable key ID.
func validKeyID(id string) bool {
	if id == "" || len(id) > maxKeyIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !isIDChar(id[i]) {
			return false
		}
	}
	return true
}

func isIDChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// parseKeyConfig reads a key configuration "id1:BASE64,id2:BASE64,…": comma-separated entries of
// a key ID, a colon and the key in base64 (standard or URL-safe alphabet, padded or not, as
// `openssl rand -base64 32` prints it); white space around entries and around the colon is
// ignored. The first entry is the active key; the others are kept to open or verify what older
// keys produced. Errors name entries by position (1-based) and never repeat an entry's content:
// a configuration with its parts swapped would otherwise print a key as an "ID".
func parseKeyConfig(config string) (active string, keys map[string][]byte, err error) {
	if strings.TrimSpace(config) == "" {
		return "", nil, fmt.Errorf("%w: no keys", ErrConfig)
	}
	keys = map[string][]byte{}
	first := map[string]int{}
	for i, entry := range strings.Split(config, ",") {
		n := i + 1
		id, b64, ok := strings.Cut(strings.TrimSpace(entry), ":")
		id, b64 = strings.TrimSpace(id), strings.TrimSpace(b64)
		switch {
		case !ok || id == "" || b64 == "":
			return "", nil, fmt.Errorf("%w: entry %d is not KEY_ID:BASE64_KEY", ErrConfig, n)
		case !validKeyID(id):
			return "", nil, fmt.Errorf("%w: entry %d: the key ID must be 1 to %d characters of A-Z a-z 0-9 _ -",
				ErrConfig, n, maxKeyIDLength)
		}
		if j, dup := first[id]; dup {
			return "", nil, fmt.Errorf("%w: entries %d and %d have the same key ID", ErrConfig, j, n)
		}
		key, derr := decodeKey(b64)
		if derr != nil {
			// derr is not wrapped: base64's errors quote the offending input.
			return "", nil, fmt.Errorf("%w: entry %d: the key is not base64", ErrConfig, n)
		}
		first[id], keys[id] = n, key
		if i == 0 {
			active = id
		}
	}
	return active, keys, nil
}

// decodeKey decodes standard or URL-safe base64, padded or not.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	enc := base64.RawStdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.RawURLEncoding
	}
	return enc.Strict().DecodeString(s)
}

// checkKeys validates a key set: active is one of keys, every ID is valid, and every key has a
// length that want accepts (described by wantText for the error).
func checkKeys(active string, keys map[string][]byte, want func(int) bool, wantText string) error {
	if len(keys) == 0 {
		return fmt.Errorf("%w: no keys", ErrConfig)
	}
	if _, ok := keys[active]; !ok {
		return fmt.Errorf("%w: the active key ID is not among the keys", ErrConfig)
	}
	for id, k := range keys {
		if !validKeyID(id) {
			return fmt.Errorf("%w: a key ID is not 1 to %d characters of A-Z a-z 0-9 _ -", ErrConfig, maxKeyIDLength)
		}
		if !want(len(k)) {
			return fmt.Errorf("%w: a key has %d bytes, want %s", ErrConfig, len(k), wantText)
		}
	}
	return nil
}
