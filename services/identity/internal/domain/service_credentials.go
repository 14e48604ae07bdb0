package domain

import (
	"fmt"
	"strings"
)

// ServiceClientPrefix starts the client ID of every service credential: "svc_" + service name.
const ServiceClientPrefix = "svc_"

// MinServiceSecretLen is the shortest service secret accepted from configuration.
const MinServiceSecretLen = 16

// ParseServiceCredentials reads the service credentials of a deployment from configuration:
// "name=secret[,name=secret...]", name lower-case letters, digits and '-' starting with a
// letter, secret at least MinServiceSecretLen characters. It returns the secret hashes by name;
// the secrets themselves are not kept. Service credentials are provisioned this way only, never
// by an RPC (TokenService.IssueServiceToken).
func ParseServiceCredentials(setting string) (map[string][]byte, error) {
	out := map[string][]byte{}
	if strings.TrimSpace(setting) == "" {
		return out, nil
	}
	for _, entry := range strings.Split(setting, ",") {
		name, secret, ok := strings.Cut(strings.TrimSpace(entry), "=")
		if !ok || !validServiceName(name) {
			return nil, fmt.Errorf("service-credentials: entry %q is not name=secret with a lower-case name", redactEntry(entry))
		}
		if len(secret) < MinServiceSecretLen {
			return nil, fmt.Errorf("service-credentials: the secret of %q has fewer than %d characters", name, MinServiceSecretLen)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("service-credentials: %q is given twice", name)
		}
		out[name] = HashSecret(secret)
	}
	return out, nil
}

func validServiceName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// redactEntry keeps a bad entry's name for the error message, never its secret.
func redactEntry(e string) string {
	name, _, _ := strings.Cut(strings.TrimSpace(e), "=")
	return name + "=…"
}
