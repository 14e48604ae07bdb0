package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// movableClock is a wall clock a test can move.
type movableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *movableClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *movableClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// A remembered token is still refused once it expires, and a failed verification is never
// remembered.
func TestVerifier_RememberedTokenStillExpires(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	clk := &movableClock{t: time.Now()}
	v := NewVerifier(StaticKeys{"k": pub}, clk.now)
	p := Principal{Subject: "u", OrgID: "o", OrgKind: OrgPartner, Roles: []Role{AdminAgent}}
	tok, err := Sign(SigningKey{ID: "k", Private: priv}, p, clk.now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 2 { // verified, then remembered
		if got, err := v.Verify(ctx, tok); err != nil || got.Subject != "u" {
			t.Fatalf("Verify = %+v, %v", got, err)
		}
	}
	clk.add(2 * time.Minute)
	if _, err := v.Verify(ctx, tok); errs.ReasonOf(err) != errs.ReasonTokenExpired {
		t.Errorf("expired remembered token: %v; want TOKEN_EXPIRED", err)
	}

	// One signature character changed to another (a fixed replacement such as "AA" at the end
	// can equal what is there, and the last character carries only two bits of the signature).
	i := len(tok) - 5
	repl := byte('A')
	if tok[i] == repl {
		repl = 'B'
	}
	tampered := tok[:i] + string(repl) + tok[i+1:]
	for range 2 {
		if _, err := v.Verify(ctx, tampered); errs.ReasonOf(err) != errs.ReasonTokenInvalid {
			t.Errorf("tampered token: %v; want TOKEN_INVALID", err)
		}
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	if _, ok := v.verified[tampered]; ok {
		t.Error("a failed verification was remembered")
	}
}
