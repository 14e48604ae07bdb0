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
		t.Cleanup(func() { db.Close() })
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

func TestStartRedisControlled(t *testing.T) {
	addr, stop, start := testkit.StartRedisControlled(t)
	if shared := testkit.StartRedis(t); shared == addr {
		t.Fatalf("controlled Redis has the shared server's address %s", addr)
	}
	send(t, addr, "SET survivor yes\r\n", "+OK")

	stop()
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		_ = conn.SetDeadline(time.Now().Add(time.Second))
		// Docker's proxy may still accept; what matters is that Redis no longer answers.
		_, _ = conn.Write([]byte("PING\r\n"))
		buf := make([]byte, 16)
		if n, err := conn.Read(buf); err == nil && strings.HasPrefix(string(buf[:n]), "+PONG") {
			t.Errorf("Redis still answers on %s after stop", addr)
		}
		conn.Close()
	}

	start()
	// Same address, and the data survived the restart.
	send(t, addr, "GET survivor\r\n", "$3\r\nyes")
}

// send writes a command to the Redis at addr and checks the start of the reply.
func send(t *testing.T, addr, cmd, wantPrefix string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte(cmd)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := conn.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), wantPrefix) {
		t.Fatalf("%q answered %q, %v; want %q...", strings.TrimSpace(cmd), buf[:n], err, wantPrefix)
	}
}
