package testkit_test

import (
	"database/sql"
	"net"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/partnerhub/partnerhub/pkg/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func TestStartPostgresGivesFreshDatabases(t *testing.T) {
	a, b := testkit.StartPostgres(t), testkit.StartPostgres(t)
	if a == b {
		t.Fatalf("two calls returned the same database %s", a)
	}
	for _, dsn := range []string{a, b} {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var tables int
		if err := db.QueryRowContext(t.Context(),
			`SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'`).Scan(&tables); err != nil {
			t.Fatalf("query %s: %v", dsn, err)
		}
		if tables != 0 {
			t.Errorf("%s is not empty: %d tables", dsn, tables)
		}
		if _, err := db.ExecContext(t.Context(), `CREATE TABLE t (id TEXT PRIMARY KEY)`); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStartRedis(t *testing.T) {
	addr := testkit.StartRedis(t)
	if again := testkit.StartRedis(t); again != addr {
		t.Errorf("second StartRedis = %s, want the shared %s", again, addr)
	}
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, err := conn.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "+PONG") {
		t.Errorf("PING answered %q, %v", buf[:n], err)
	}
}

func TestForEachDB(t *testing.T) {
	var seen []string
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		seen = append(seen, t.Name()+" "+strings.SplitN(dsn, ":", 2)[0])
	})
	want := "TestForEachDB/sqlite sqlite,TestForEachDB/postgres postgres"
	if got := strings.Join(seen, ","); got != want {
		t.Errorf("ForEachDB ran %s, want %s", got, want)
	}
}
