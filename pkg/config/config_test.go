package config_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/config"
)

func env(kv map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := kv[k]
		return v, ok
	}
}

type settings struct {
	addr    string
	fake    bool
	workers int
	ttl     time.Duration
}

func bindAll(l *config.Loader, s *settings) {
	l.String(&s.addr, "grpc-addr", ":50052", "gRPC listen address")
	l.Bool(&s.fake, "fake-clock", false, "fake clock")
	l.Int(&s.workers, "workers", 4, "workers")
	l.Duration(&s.ttl, "cache-ttl", 30*time.Second, "cache TTL")
}

func TestLoader_Precedence(t *testing.T) {
	defaults := settings{":50052", false, 4, 30 * time.Second}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want settings
	}{
		{"defaults", nil, nil, defaults},
		{"env overrides default", map[string]string{
			"PARTNERHUB_CATALOG_GRPC_ADDR": ":6000", "PARTNERHUB_CATALOG_FAKE_CLOCK": "true",
			"PARTNERHUB_CATALOG_WORKERS": "8", "PARTNERHUB_CATALOG_CACHE_TTL": "5m",
		}, nil, settings{":6000", true, 8, 5 * time.Minute}},
		{"flag overrides env", map[string]string{
			"PARTNERHUB_CATALOG_GRPC_ADDR": ":6000", "PARTNERHUB_CATALOG_FAKE_CLOCK": "true",
			"PARTNERHUB_CATALOG_WORKERS": "8", "PARTNERHUB_CATALOG_CACHE_TTL": "5m",
		}, []string{"--grpc-addr=:7000", "--fake-clock=false", "--workers", "2", "-cache-ttl", "1s"},
			settings{":7000", false, 2, time.Second}},
		{"flag overrides default", nil, []string{"--grpc-addr", ":7000", "--cache-ttl=1h"},
			settings{":7000", false, 4, time.Hour}},
		{"bool flag stands alone", nil, []string{"--fake-clock"}, settings{":50052", true, 4, 30 * time.Second}},
		{"empty env value is a value", map[string]string{"PARTNERHUB_CATALOG_GRPC_ADDR": ""}, nil,
			settings{"", false, 4, 30 * time.Second}},
		{"other service's env ignored", map[string]string{"PARTNERHUB_ORDERS_WORKERS": "9"}, nil, defaults},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := config.New("catalog").WithEnv(env(tt.env))
			var s settings
			bindAll(l, &s)
			if err := l.Parse(tt.args); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if s != tt.want {
				t.Errorf("settings = %+v, want %+v", s, tt.want)
			}
		})
	}
}

func TestLoader_BadValues(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr []string // substrings, all in one error
		errs    int      // how many problems the error lists (one per line)
	}{
		{"bad bool in env", map[string]string{"PARTNERHUB_CATALOG_FAKE_CLOCK": "yes please"}, nil,
			[]string{"PARTNERHUB_CATALOG_FAKE_CLOCK", `"yes please"`}, 1},
		{"bad int in env", map[string]string{"PARTNERHUB_CATALOG_WORKERS": "many"}, nil,
			[]string{"PARTNERHUB_CATALOG_WORKERS", `"many"`}, 1},
		{"bad duration in env", map[string]string{"PARTNERHUB_CATALOG_CACHE_TTL": "30"}, nil,
			[]string{"PARTNERHUB_CATALOG_CACHE_TTL", `"30"`, "missing unit"}, 1},
		{"bad env not rescued by a flag", map[string]string{"PARTNERHUB_CATALOG_WORKERS": "many"}, []string{"--workers=3"},
			[]string{"PARTNERHUB_CATALOG_WORKERS"}, 1},
		{"every bad env value reported", map[string]string{"PARTNERHUB_CATALOG_WORKERS": "x", "PARTNERHUB_CATALOG_CACHE_TTL": "y"}, nil,
			[]string{"PARTNERHUB_CATALOG_WORKERS", "PARTNERHUB_CATALOG_CACHE_TTL"}, 2},
		{"bad int flag", nil, []string{"--workers=lots"}, []string{"workers", "lots"}, 1},
		{"bad duration flag", nil, []string{"--cache-ttl", "soon"}, []string{"cache-ttl", "soon"}, 1},
		{"unknown flag", nil, []string{"--no-such-flag"}, []string{"no-such-flag"}, 1},
		{"unexpected positional argument", nil, []string{"--workers=2", "serve"}, []string{`unexpected argument "serve"`}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := config.New("catalog").WithEnv(env(tt.env))
			var s settings
			bindAll(l, &s)
			err := l.Parse(tt.args)
			if err == nil {
				t.Fatalf("Parse = nil, want an error; settings %+v", s)
			}
			if errors.Is(err, config.ErrHelp) {
				t.Fatalf("Parse = ErrHelp")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if n := len(strings.Split(err.Error(), "\n")); n != tt.errs {
				t.Errorf("error lists %d problems, want %d: %q", n, tt.errs, err)
			}
		})
	}
}

func TestLoader_BadEnvKeepsDefault(t *testing.T) {
	l := config.New("catalog").WithEnv(env(map[string]string{"PARTNERHUB_CATALOG_WORKERS": "many"}))
	var s settings
	bindAll(l, &s)
	_ = l.Parse(nil)
	if s.workers != 4 {
		t.Errorf("workers = %d after a bad env value, want the default 4", s.workers)
	}
}

func TestLoader_Help(t *testing.T) {
	for _, arg := range []string{"--help", "-h", "-help"} {
		t.Run(arg, func(t *testing.T) {
			l := config.New("catalog").WithEnv(env(nil))
			var s settings
			bindAll(l, &s)
			if err := l.Parse([]string{arg}); !errors.Is(err, config.ErrHelp) {
				t.Errorf("Parse(%s) = %v, want ErrHelp", arg, err)
			}
		})
	}
}

func TestLoader_SettingsAndUsage(t *testing.T) {
	l := config.New("delegatedadmin").WithEnv(env(nil))
	if got := l.EnvName("grpc-addr"); got != "PARTNERHUB_DELEGATEDADMIN_GRPC_ADDR" {
		t.Errorf("EnvName = %q", got)
	}
	var s settings
	bindAll(l, &s)
	want := []config.Setting{
		{Flag: "--grpc-addr", Env: "PARTNERHUB_DELEGATEDADMIN_GRPC_ADDR", Default: ":50052", Usage: "gRPC listen address"},
		{Flag: "--fake-clock", Env: "PARTNERHUB_DELEGATEDADMIN_FAKE_CLOCK", Default: "false", Usage: "fake clock"},
		{Flag: "--workers", Env: "PARTNERHUB_DELEGATEDADMIN_WORKERS", Default: "4", Usage: "workers"},
		{Flag: "--cache-ttl", Env: "PARTNERHUB_DELEGATEDADMIN_CACHE_TTL", Default: "30s", Usage: "cache TTL"},
	}
	got := l.Settings()
	if len(got) != len(want) {
		t.Fatalf("Settings = %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Settings[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	var b bytes.Buffer
	l.Usage(&b)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("Usage has %d lines, want %d:\n%s", len(lines), len(want), b.String())
	}
	for i, w := range want {
		for _, part := range []string{w.Flag, w.Env, w.Usage, `"` + w.Default + `"`} {
			if !strings.Contains(lines[i], part) {
				t.Errorf("Usage line %q lacks %q", lines[i], part)
			}
		}
	}
}
