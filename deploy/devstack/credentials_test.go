package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/identity"
)

// The service credentials are generated once, kept owner-only, and reused on the next start.
func TestLoadServiceSecrets(t *testing.T) {
	file := filepath.Join(t.TempDir(), "service-credentials")
	names := serviceCredentialNames()
	first, err := loadServiceSecrets(file, names)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"catalog", "orders", "subscriptions", "keys", "delegatedadmin", "operator"} {
		if s := first[n]; len(s) < 16 || strings.ContainsAny(s, ",=") {
			t.Errorf("secret of %s = %d characters; want 16+ without ',' or '='", n, len(s))
		}
	}
	if _, ok := first[identity.Name]; ok {
		t.Error("identity has a service credential; it mints its own tokens")
	}
	if first["catalog"] == first["orders"] {
		t.Error("two services share a secret")
	}
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if m := st.Mode().Perm(); m != 0o600 {
		t.Errorf("credentials file mode %v, want 0600", m)
	}

	second, err := loadServiceSecrets(file, names)
	if err != nil {
		t.Fatal(err)
	}
	for n, s := range first {
		if second[n] != s {
			t.Errorf("secret of %s changed on restart", n)
		}
	}
	// A name added later gets a secret; the others stay.
	third, err := loadServiceSecrets(file, append(names, "billing"))
	if err != nil {
		t.Fatal(err)
	}
	if third["billing"] == "" || third["catalog"] != first["catalog"] {
		t.Errorf("adding a name: billing %q, catalog kept %v", third["billing"], third["catalog"] == first["catalog"])
	}

	if err := os.WriteFile(file, []byte("catalog-without-separator\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = loadServiceSecrets(file, names)
	if err == nil || strings.Contains(err.Error(), "catalog-without-separator") {
		t.Errorf("bad file: error %v; want one that does not echo the line", err)
	}
}

// Identity gets every credential, each other service its own secret, and the environment wins.
func TestMembers_ServiceSecrets(t *testing.T) {
	secrets := map[string]string{"catalog": "catalog-secret-0123456789", "orders": "orders-secret-0123456789",
		"subscriptions": "subscriptions-secret-0123456789", "keys": "keys-secret-0123456789",
		"delegatedadmin": "delegatedadmin-secret-0123456789", "operator": "operator-secret-0123456789"}
	env := map[string]string{"PARTNERHUB_KEYS_SERVICE_SECRET": "from-the-environment-0123"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	bases := map[string]*svc.Base{}
	for _, m := range members(options{demoSecret: "services-test-secret-123", serviceSecrets: secrets, keysSealing: testKeysSetting, keysLinks: testKeysSetting,
		keysLookup: strings.TrimPrefix(testKeysSetting, "t1:")}) {
		b, _ := m.bind(config.New(m.name).WithEnv(lookup))
		bases[m.name] = b
	}
	for name, want := range map[string]string{"catalog": secrets["catalog"], "orders": secrets["orders"],
		"subscriptions": secrets["subscriptions"], "delegatedadmin": secrets["delegatedadmin"],
		"keys": "from-the-environment-0123", identity.Name: ""} {
		if got := bases[name].ServiceSecret; got != want {
			t.Errorf("%s: ServiceSecret %q, want %q", name, got, want)
		}
	}
	want := "catalog=catalog-secret-0123456789,delegatedadmin=delegatedadmin-secret-0123456789," +
		"keys=keys-secret-0123456789,operator=operator-secret-0123456789,orders=orders-secret-0123456789," +
		"subscriptions=subscriptions-secret-0123456789"
	if got := (options{serviceSecrets: secrets}).credentialsSetting(); got != want {
		t.Errorf("identity's service-credentials = %q, want %q", got, want)
	}
}
