package sealing

import (
	"sync"
	"testing"
)

// Keyring and LinkSigner are immutable and safe for concurrent use (run with -race).
func TestConcurrentUse(t *testing.T) {
	k := mustKeyring(t, "k1", map[string][]byte{"k1": randomKey(t)})
	s := mustSigner(t, "l1", map[string][]byte{"l1": randomKey(t)})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if got, err := k.Open(k.Seal([]byte(plaintext), aad), aad); err != nil || string(got) != plaintext {
					t.Errorf("Open(Seal) = %q, %v", got, err)
					return
				}
				tok, err := s.Sign(claims)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Verify(tok, now); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
