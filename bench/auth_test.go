package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/partnerhub/partnerhub/pkg/auth"
)

func tokenAndVerifier(b *testing.B) (string, *auth.Verifier) {
	b.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	p := auth.Principal{Subject: "u1", OrgID: "p1", OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent}}
	tok, err := auth.Sign(auth.SigningKey{ID: "k1", Private: priv}, p, time.Now(), time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	return tok, auth.NewVerifier(auth.StaticKeys{"k1": pub}, time.Now)
}

// BenchmarkVerifyToken is the cost every authenticated call pays: parse and verify an Ed25519
// JWT with a cached public key.
func BenchmarkVerifyToken(b *testing.B) {
	tok, v := tokenAndVerifier(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticate adds what the interceptor does around it: read the header, look up the
// method's access rule, check the roles.
func BenchmarkAuthenticate(b *testing.B) {
	tok, v := tokenAndVerifier(b)
	const method = "/partnerhub.keys.v1.EntitlementService/RevealKey"
	a := auth.NewAuthenticator(v, auth.Policy{method: {Roles: []auth.Role{auth.AdminAgent, auth.CustomerGlobalAdmin}}})
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+tok))
	ctx = grpc.NewContextWithServerTransportStream(ctx, methodStream(method))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// methodStream tells grpc.Method which method a context belongs to.
type methodStream string

func (m methodStream) Method() string             { return string(m) }
func (methodStream) SetHeader(metadata.MD) error  { return nil }
func (methodStream) SendHeader(metadata.MD) error { return nil }
func (methodStream) SetTrailer(metadata.MD) error { return nil }

// BenchmarkVerifyTokenFirstSight is the cost of a token the service has not seen before: the
// Ed25519 signature check itself (once per token per service process).
func BenchmarkVerifyTokenFirstSight(b *testing.B) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	keys := auth.StaticKeys{"k1": pub}
	p := auth.Principal{Subject: "u1", OrgID: "p1", OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent}}
	tok, err := auth.Sign(auth.SigningKey{ID: "k1", Private: priv}, p, time.Now(), time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := auth.NewVerifier(keys, time.Now).Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}
