package sealing

import (
	"crypto/rand"
	"testing"

	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
)

// BenchmarkGenerateAndSeal is the cost of minting one key card's key: GenerateKey with
// crypto/rand, then sealing it for storage (MintKeyCards mints up to 1000 per call).
func BenchmarkGenerateAndSeal(b *testing.B) {
	k := mustKeyring(b, "k1", map[string][]byte{"k1": randomKey(b)})
	rowID := []byte("key-card:7b2c1c1e-9f0e-4c55-9f3a-0f5b0c1d2e3f")
	b.ReportAllocs()
	for b.Loop() {
		key, err := domain.GenerateKey(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		_ = k.Seal([]byte(key.Reveal()), rowID)
	}
}

// BenchmarkOpen is the cost of revealing a stored key (RevealKey).
func BenchmarkOpen(b *testing.B) {
	k := mustKeyring(b, "k1", map[string][]byte{"k1": randomKey(b)})
	sealed := k.Seal([]byte(plaintext), aad)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Open(sealed, aad); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignLink is the cost of CreateDownloadLink's token.
func BenchmarkSignLink(b *testing.B) {
	s := mustSigner(b, "l1", map[string][]byte{"l1": randomKey(b)})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(claims); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyLink is the cost of checking a link on every download (ResolveDownloadLink).
func BenchmarkVerifyLink(b *testing.B) {
	s := mustSigner(b, "l1", map[string][]byte{"l1": randomKey(b)})
	tok := signed(b, s, claims)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Verify(tok, now); err != nil {
			b.Fatal(err)
		}
	}
}
