package domain

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// KD-1: generated keys always parse back to themselves, and their random characters are spread
// over the whole alphabet at every position (a loose count check: with 3000 keys each character
// is expected 3000/23 ≈ 130 times per position; the bounds are ±50 %, over 9 standard
// deviations, so the test does not flake).
func TestGenerateKey_KD1_ParsesAndSpreads(t *testing.T) {
	const n = 3000
	var counts [payloadLength][radix]int
	seen := map[Key]bool{}
	for range n {
		k, err := GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := ParseKey(k.Reveal()); err != nil || got != k {
			t.Fatalf("ParseKey(GenerateKey().Reveal()) = %v, %v", got.Masked(), err)
		}
		if seen[k] {
			t.Fatal("the same key twice")
		}
		seen[k] = true
		for i, c := range k.chars[:payloadLength] {
			counts[i][value(c)]++
		}
	}
	const expected = float64(n) / float64(radix)
	for i := range counts {
		for v, got := range counts[i] {
			if float64(got) < expected*0.5 || float64(got) > expected*1.5 {
				t.Errorf("position %d: %c drawn %d times, expected about %.0f", i, Alphabet[v], got, expected)
			}
		}
	}
}

// No modulo bias, by enumeration: every byte value below 253 maps to Alphabet[b mod 23], so each
// character has exactly 11 byte values; 253, 254 and 255 are skipped.
func TestGenerateKey_RejectionSampling(t *testing.T) {
	var perChar [radix]int
	for b := range 256 {
		// The byte under test first, then 252s (which map to 'Y', 252 = 10·23 + 22).
		src := io.MultiReader(bytes.NewReader([]byte{byte(b)}), bytes.NewReader(bytes.Repeat([]byte{252}, 100)))
		k, err := GenerateKey(src)
		if err != nil {
			t.Fatal(err)
		}
		first := k.chars[0]
		if b < acceptBelow {
			if first != Alphabet[b%radix] {
				t.Errorf("byte %d → %c, want %c", b, first, Alphabet[b%radix])
			}
			perChar[b%radix]++
		} else if first != 'Y' || k.chars[payloadLength-1] != 'Y' {
			t.Errorf("byte %d was used (key starts %c)", b, first)
		}
	}
	for v, c := range perChar {
		if c != 11 {
			t.Errorf("%c has %d byte values, want 11", Alphabet[v], c)
		}
	}
	if acceptBelow != 253 {
		t.Errorf("acceptBelow = %d, want 253", acceptBelow)
	}
}

// A failing or exhausted random source is an error, wrapped; a source that yields only rejected
// bytes fails instead of looping.
func TestGenerateKey_BadSource(t *testing.T) {
	boom := errors.New("boom")
	if _, err := GenerateKey(iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Errorf("ErrReader: %v", err)
	}
	if _, err := GenerateKey(bytes.NewReader(make([]byte, 10))); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short source: %v", err)
	}
	if _, err := GenerateKey(iotest.OneByteReader(bytes.NewReader(make([]byte, 64)))); err != nil {
		t.Errorf("one byte at a time: %v", err)
	}
	if _, err := GenerateKey(constReader(255)); err == nil {
		t.Error("a source of 255s produced a key")
	}
}

// constReader yields one byte value for ever.
type constReader byte

func (c constReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c)
	}
	return len(p), nil
}
