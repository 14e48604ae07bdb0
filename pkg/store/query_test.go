package store_test

import (
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/store"
)

// A query built with optional filters numbers its placeholders as the values are added, and
// Collect reads every row through one scan function, on both engines.
func TestArgsAndCollect(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		now := time.Now().UTC()
		for _, id := range []string{"a1", "a2", "a3"} {
			if _, err := db.ExecContext(t.Context(), `INSERT INTO accounts (id, email, balance, created_at) VALUES ($1, $2, $3, $4)`,
				id, id+"@example.com", len(id), now); err != nil {
				t.Fatal(err)
			}
		}
		var a store.Args
		q := `SELECT id FROM accounts WHERE balance = ` + a.Arg(2) + ` AND id > ` + a.Arg("a1") + ` ORDER BY id`
		if q != `SELECT id FROM accounts WHERE balance = $1 AND id > $2 ORDER BY id` || len(a) != 2 {
			t.Fatalf("query %q with %d args", q, len(a))
		}
		rows, err := db.QueryContext(t.Context(), q, a...)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := store.Collect(rows, "accounts", func(row store.Scanner) (string, error) {
			var id string
			err := row.Scan(&id)
			return id, err
		})
		if err != nil || len(ids) != 2 || ids[0] != "a2" || ids[1] != "a3" {
			t.Errorf("Collect = %v, %v; want [a2 a3]", ids, err)
		}
	})
}

func TestWhere(t *testing.T) {
	if got := store.Where(nil); got != "" {
		t.Errorf("Where(nil) = %q, want empty", got)
	}
	if got := store.Where([]string{"a = $1", "b = $2"}); got != " WHERE a = $1 AND b = $2" {
		t.Errorf("Where = %q", got)
	}
}
