package domain

import (
	"crypto/rand"
	"testing"
)

// BenchmarkParseKey is the cost of the format and check-character test every typed key passes
// before any lookup (ValidateProductKeys takes up to 100 keys).
func BenchmarkParseKey(b *testing.B) {
	in := "kx47r tm9cw-q3hnj-yapd6-egf74"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseKey(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenerateKey is the cost of one key from crypto/rand.
func BenchmarkGenerateKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := GenerateKey(rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}
