package delegatedadmin

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/config"
)

func bind(t *testing.T, args ...string) *Config {
	t.Helper()
	l := config.New(Name).WithEnv(func(string) (string, bool) { return "", false })
	c := Bind(l)
	if err := l.Parse(args); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBind_ApprovalBaseURL(t *testing.T) {
	if c := bind(t); c.ApprovalBaseURL != "https://partnerhub.example/delegated-admin/" {
		t.Errorf("default approval-base-url %q", c.ApprovalBaseURL)
	}
	if c := bind(t, "--approval-base-url", "https://admin.example/approve/"); c.ApprovalBaseURL != "https://admin.example/approve/" {
		t.Errorf("approval-base-url %q", c.ApprovalBaseURL)
	}
}

// A bad setting fails at start with a one-line message naming it (DESIGN.md).
func TestRun_BadApprovalBaseURL(t *testing.T) {
	for _, u := range []string{"", "partnerhub.example/x", "ftp://x/", "https://"} {
		c := bind(t, "--approval-base-url", u)
		err := Run(context.Background(), *c)
		if err == nil || !strings.Contains(err.Error(), "approval-base-url") {
			t.Errorf("%q: %v", u, err)
		}
	}
}

// Run opens the database, starts the sweeper and serves until its context ends, then stops
// cleanly (the sweeper is waited for before the database closes).
func TestRun_ServesAndStops(t *testing.T) {
	c := bind(t, "--grpc-addr", "127.0.0.1:0", "--admin-addr", "",
		"--database-url", "sqlite:"+filepath.Join(t.TempDir(), "da.db"), "--identity-addr", "127.0.0.1:1")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := Run(ctx, *c); err != nil {
		t.Fatalf("Run: %v", err)
	}
}
