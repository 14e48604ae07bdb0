// Package config binds a service's settings to flags and the environment. Every setting has a
// default that works in the devstack; the environment variable PARTNERHUB_<SVC>_<NAME> overrides
// the default and a flag --<name> overrides both. A bad value fails at start with one line that
// names the variable or flag.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Loader collects settings for one service.
type Loader struct {
	fs     *flag.FlagSet
	prefix string
	lookup func(string) (string, bool)
	errs   []error
	vars   []Setting
}

// Setting describes one bound setting, for the README's configuration table and --help.
type Setting struct {
	Flag, Env, Default, Usage string
}

// New returns a Loader for service svc ("catalog" → PARTNERHUB_CATALOG_*).
func New(svc string) *Loader {
	fs := flag.NewFlagSet(svc, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &Loader{fs: fs, prefix: "PARTNERHUB_" + strings.ToUpper(svc) + "_", lookup: os.LookupEnv}
}

// WithEnv replaces the environment lookup (tests).
func (l *Loader) WithEnv(lookup func(string) (string, bool)) *Loader { l.lookup = lookup; return l }

// EnvName returns the environment variable of a flag name: "grpc-addr" → PARTNERHUB_SVC_GRPC_ADDR.
func (l *Loader) EnvName(name string) string {
	return l.prefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// Settings lists every bound setting.
func (l *Loader) Settings() []Setting { return l.vars }

type parser[T any] func(string) (T, error)

type value[T any] struct {
	p      *T
	parse  parser[T]
	format func(T) string
}

func (v *value[T]) String() string {
	if v.p == nil {
		return ""
	}
	return v.format(*v.p)
}

func (v *value[T]) Set(s string) error {
	x, err := v.parse(s)
	if err != nil {
		return err
	}
	*v.p = x
	return nil
}

func bind[T any](l *Loader, p *T, name string, def T, usage string, parse parser[T], format func(T) string) {
	*p = def
	env := l.EnvName(name)
	if s, ok := l.lookup(env); ok {
		x, err := parse(s)
		if err != nil {
			l.errs = append(l.errs, fmt.Errorf("%s=%q: %w", env, s, err))
		} else {
			*p = x
		}
	}
	v := &value[T]{p: p, parse: parse, format: format}
	if _, isBool := any(def).(bool); isBool {
		l.fs.Var(boolValue{v}, name, usage)
	} else {
		l.fs.Var(v, name, usage)
	}
	l.vars = append(l.vars, Setting{Flag: "--" + name, Env: env, Default: format(def), Usage: usage})
}

// boolValue lets "--fake-clock" stand alone.
type boolValue struct{ flag.Value }

func (boolValue) IsBoolFlag() bool { return true }

// String binds a string setting.
func (l *Loader) String(p *string, name, def, usage string) {
	bind(l, p, name, def, usage, func(s string) (string, error) { return s, nil }, func(s string) string { return s })
}

// Bool binds a boolean setting.
func (l *Loader) Bool(p *bool, name string, def bool, usage string) {
	bind(l, p, name, def, usage, strconv.ParseBool, strconv.FormatBool)
}

// Int binds an integer setting.
func (l *Loader) Int(p *int, name string, def int, usage string) {
	bind(l, p, name, def, usage, strconv.Atoi, strconv.Itoa)
}

// Duration binds a duration setting ("30s", "5m").
func (l *Loader) Duration(p *time.Duration, name string, def time.Duration, usage string) {
	bind(l, p, name, def, usage, time.ParseDuration, time.Duration.String)
}

// ErrHelp is returned by Parse for -h / --help; the caller prints Usage and exits 0.
var ErrHelp = flag.ErrHelp

// Parse applies the flags; it returns every bad environment value and the first bad flag.
func (l *Loader) Parse(args []string) error {
	if err := l.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ErrHelp
		}
		l.errs = append(l.errs, err)
	}
	if l.fs.NArg() > 0 {
		l.errs = append(l.errs, fmt.Errorf("unexpected argument %q", l.fs.Arg(0)))
	}
	return errors.Join(l.errs...)
}

// Usage writes every setting with its environment variable and default. It is help text for a
// terminal: a write that fails has nobody to tell.
func (l *Loader) Usage(w io.Writer) {
	for _, s := range l.vars {
		_, _ = fmt.Fprintf(w, "  %-22s %-40s %s (default %q)\n", s.Flag, s.Env, s.Usage, s.Default)
	}
}
