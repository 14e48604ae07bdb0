package bench

import (
	"testing"

	"github.com/partnerhub/partnerhub/pkg/testkit"
)

// TestMain removes the containers a benchmark started (the Redis of cache=redis).
func TestMain(m *testing.M) { testkit.Main(m) }
