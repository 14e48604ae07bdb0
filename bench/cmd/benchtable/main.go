// Command benchtable turns the output of partnerhub's benchmarks (`go test -bench` in bench/ and
// the lifecycle sweep's package) into the one table `make bench` prints, and writes it with every
// raw figure to a JSON file (bench/results/latest.json). It reads the benchmark output on stdin
// in the Go benchmark format (golang.org/x/perf/benchfmt) and echoes nothing else: run the
// benchmarks with their output tee'd to a file and feed that file in.
//
//	go test -run '^$' -bench . -benchtime 1x ./bench/ | tee raw.txt
//	go run ./bench/cmd/benchtable -json bench/results/latest.json < raw.txt
//
// Figures it finds no benchmark for are left out of the table; -require lists the rows that must
// be there (the harness check in CI uses it to prove every benchmark ran and reported). Goals are
// printed beside the figures as met or missed; nothing here fails on a figure.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/perf/benchfmt"
)

func main() {
	jsonOut := flag.String("json", "", "write the table and every raw figure to this JSON file")
	require := flag.Bool("require", false, "fail unless every row of the table has its benchmark (a harness check)")
	flag.Parse()
	res, err := read(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	rep := build(res)
	if _, err := io.WriteString(os.Stdout, rep.String()); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	if *jsonOut != "" {
		if err := rep.write(*jsonOut); err != nil {
			fmt.Fprintln(os.Stderr, "benchtable:", err)
			os.Exit(1)
		}
	}
	if *require && len(rep.Missing) > 0 {
		fmt.Fprintf(os.Stderr, "benchtable: no figures for %s\n", strings.Join(rep.Missing, ", "))
		os.Exit(1)
	}
}

// results are the figures of each benchmark by unit; the name is without "Benchmark" and the
// GOMAXPROCS suffix ("Orders/db=sqlite").
type results struct {
	figures map[string]map[string]float64
	cpu     string
}

var procsSuffix = regexp.MustCompile(`-\d+$`)

func read(r io.Reader) (results, error) {
	out := results{figures: map[string]map[string]float64{}}
	br := benchfmt.NewReader(r, "stdin")
	for br.Scan() {
		rec, ok := br.Result().(*benchfmt.Result)
		if !ok {
			continue // unit metadata; syntax errors are the test framework's other lines
		}
		name := procsSuffix.ReplaceAllString(string(rec.Name.Full()), "")
		m := map[string]float64{}
		for _, v := range rec.Values {
			if v.OrigUnit != "" { // benchfmt tidied the unit: keep it as the benchmark wrote it
				m[v.OrigUnit] = v.OrigValue
			} else {
				m[v.Unit] = v.Value
			}
		}
		out.figures[name] = m
		if c := rec.GetConfig("cpu"); c != "" {
			out.cpu = c
		}
	}
	if err := br.Err(); err != nil {
		return out, err
	}
	if len(out.figures) == 0 {
		return out, errors.New("no benchmark results on stdin")
	}
	return out, nil
}

// Report is the table and what it was made from (the JSON file's schema).
type Report struct {
	Machine Machine                       `json:"machine"`
	Rows    []Row                         `json:"rows"`
	Memory  []MemoryRow                   `json:"memory"`
	Scaling []ScalingRow                  `json:"scaling"`
	Micro   []MicroRow                    `json:"micro"`
	Missing []string                      `json:"missing,omitempty"`
	Raw     map[string]map[string]float64 `json:"raw"`
}

// Machine is what the figures were taken on.
type Machine struct {
	Cores    int    `json:"cores"`
	MemoryGB int    `json:"memory_gib"`
	CPU      string `json:"cpu"`
	Go       string `json:"go"`
	Date     string `json:"date"`
	Load     string `json:"load_average_1m"`
}

func (m Machine) String() string {
	return fmt.Sprintf("%d cores, %d GiB, %s, %s, %s (1-min load average at the end: %s)", m.Cores, m.MemoryGB, m.CPU, m.Go, m.Date, m.Load)
}

// Row is one figure of the main table.
type Row struct {
	Figure     string  `json:"figure"`
	Setup      string  `json:"setup"`
	Throughput float64 `json:"throughput"`
	Unit       string  `json:"unit"`
	P50ms      float64 `json:"p50_ms"`
	P99ms      float64 `json:"p99_ms"`
	Ratio      float64 `json:"ratio_to_ceiling,omitempty"`
	Goal       string  `json:"goal,omitempty"`
	Met        *bool   `json:"met,omitempty"`
}

// MemoryRow is one service's memory and goroutines on one engine.
type MemoryRow struct {
	Service          string  `json:"service"`
	Setup            string  `json:"setup"`
	IdleRSSMB        float64 `json:"idle_rss_mb"`
	LoadedRSSMB      float64 `json:"loaded_rss_mb"`
	IdleGoroutines   int     `json:"idle_goroutines"`
	LoadedGoroutines int     `json:"loaded_goroutines"`
	AfterGoroutines  int     `json:"after_goroutines"`
	Met              bool    `json:"idle_goal_met"`
}

// ScalingRow is PlaceOrder → COMPLETED throughput at one number of clients.
type ScalingRow struct {
	Clients     int     `json:"clients"`
	SQLite      float64 `json:"sqlite_orders_per_s"`
	Postgres    float64 `json:"postgres_orders_per_s"`
	SQLiteP99   float64 `json:"sqlite_p99_ms"`
	PostgresP99 float64 `json:"postgres_p99_ms"`
}

// MicroRow is a per-call benchmark of a hot path (ns/op).
type MicroRow struct {
	Name   string  `json:"name"`
	NsOp   float64 `json:"ns_per_op"`
	BOp    float64 `json:"bytes_per_op"`
	Allocs float64 `json:"allocs_per_op"`
}

var services = []string{"identity", "catalog", "orders", "subscriptions", "keys", "delegatedadmin"}

const (
	sqliteSetup   = "SQLite (devstack)"
	postgresSetup = "PostgreSQL + Redis"
)

func build(res results) Report {
	rep := Report{Raw: res.figures, Machine: machine(res.cpu)}
	get := func(bench, unit string) (float64, bool) {
		v, ok := res.figures[bench][unit]
		return v, ok
	}
	need := func(bench string) bool {
		if _, ok := res.figures[bench]; ok {
			return true
		}
		rep.Missing = append(rep.Missing, bench)
		return false
	}
	met := func(ok bool) *bool { return &ok }
	// rpc is the row of an RPC that a benchmark reported as <prefix>-ops/s, -p50-µs and -p99-µs,
	// with its ratio to the ceiling under ratioUnit (none when empty).
	rpc := func(bench, prefix, ratioUnit, figure, setup, unit string) Row {
		ops, _ := get(bench, prefix+"-ops/s")
		p50, _ := get(bench, prefix+"-p50-µs")
		p99, _ := get(bench, prefix+"-p99-µs")
		ratio := 1.0
		if ratioUnit != "" {
			ratio, _ = get(bench, ratioUnit)
		}
		return Row{Figure: figure, Setup: setup, Throughput: ops, Unit: unit, P50ms: p50 / 1000, P99ms: p99 / 1000, Ratio: ratio}
	}

	if need("Ceiling") {
		for _, s := range services {
			rep.Rows = append(rep.Rows, rpc("Ceiling", s, "", "empty RPC (health check): "+s, sqliteSetup, "calls/s"))
		}
	}
	for _, c := range []struct{ bench, setup string }{
		{"CatalogGetSku/cache=memory", sqliteSetup + ", in-process cache"},
		{"CatalogGetSku/cache=redis", "SQLite + Redis near cache"},
	} {
		if !need(c.bench) {
			continue
		}
		r := rpc(c.bench, "getsku", "ratio", "catalog GetSku, warm (ratio: to an authenticated empty RPC on the same server)", c.setup, "calls/s")
		r.Goal, r.Met = "≥ 0.8 × ceiling", met(r.Ratio >= 0.8)
		rep.Rows = append(rep.Rows, r)
	}
	if need("AccessChecks") {
		for _, c := range []struct{ prefix, figure string }{
			{"checkaccess", "delegatedadmin CheckAccess, warm (DA-6)"},
			{"checkrelationship", "identity CheckRelationship, warm (ID-4)"},
		} {
			rep.Rows = append(rep.Rows, rpc("AccessChecks", c.prefix, c.prefix+"-ratio", c.figure, sqliteSetup, "calls/s"))
		}
	}
	for _, e := range []struct{ sub, setup string }{{"db=sqlite", sqliteSetup}, {"db=postgres+redis", postgresSetup}} {
		bench := "ListSubscriptions/" + e.sub
		if !need(bench) {
			continue
		}
		rep.Rows = append(rep.Rows, rpc(bench, "listsubscriptions", "listsubscriptions-ratio",
			"ListSubscriptions, a customer with 300, pages of 100", e.setup, "pages/s"))
	}
	for _, e := range []struct{ sub, setup string }{{"db=sqlite", sqliteSetup}, {"db=postgres+redis", postgresSetup}} {
		bench := "Orders/" + e.sub
		if !need(bench) {
			continue
		}
		rate, _ := get(bench, "orders/s")
		p50, _ := get(bench, "complete-p50-ms")
		p99, _ := get(bench, "complete-p99-ms")
		rep.Rows = append(rep.Rows, Row{Figure: "PlaceOrder → COMPLETED, one line, whole saga (max with 32 clients; latency at half that rate)",
			Setup: e.setup, Throughput: rate, Unit: "orders/s", P50ms: p50, P99ms: p99,
			Goal: "≥ 300/s, p99 < 100 ms", Met: met(rate >= 300 && p99 < 100)})
	}
	for _, e := range []struct{ sub, setup string }{{"db=sqlite", sqliteSetup}, {"db=postgres", "PostgreSQL"}} {
		bench := "LifecycleSweep/" + e.sub
		if !need(bench) {
			continue
		}
		secs, _ := get(bench, "sweep-s")
		rate, _ := get(bench, "subscriptions/s")
		n, ok := get(bench, "subscriptions")
		if !ok {
			n = rate * secs
		}
		rep.Rows = append(rep.Rows, Row{Figure: fmt.Sprintf("lifecycle sweep of %s subscriptions (time: %.1f s)", thousands(n), secs),
			Setup: e.setup, Throughput: rate, Unit: "subscriptions/s", Goal: "100,000 < 10 s", Met: met(n >= 100_000 && secs < 10)})
	}
	for _, e := range []struct{ sub, setup string }{{"db=sqlite", sqliteSetup}, {"db=postgres+redis", postgresSetup}} {
		bench := "ServiceMemory/" + e.sub
		if !need(bench) {
			continue
		}
		for _, s := range services {
			idle, _ := get(bench, s+"-idle-rss-MB")
			loaded, _ := get(bench, s+"-loaded-rss-MB")
			gi, _ := get(bench, s+"-idle-goroutines")
			gl, _ := get(bench, s+"-loaded-goroutines")
			ga, _ := get(bench, s+"-after-goroutines")
			rep.Memory = append(rep.Memory, MemoryRow{Service: s, Setup: e.setup, IdleRSSMB: idle, LoadedRSSMB: loaded,
				IdleGoroutines: int(gi), LoadedGoroutines: int(gl), AfterGoroutines: int(ga), Met: idle <= 40})
		}
	}
	scaling := map[int]*ScalingRow{}
	for _, e := range []string{"db=sqlite", "db=postgres+redis"} {
		bench := "OrdersScaling/" + e
		if !need(bench) {
			continue
		}
		for unit, v := range res.figures[bench] {
			var c int
			var what string
			if _, err := fmt.Sscanf(unit, "c%d-%s", &c, &what); err != nil {
				continue
			}
			r := scaling[c]
			if r == nil {
				r = &ScalingRow{Clients: c}
				scaling[c] = r
			}
			switch {
			case what == "orders/s" && e == "db=sqlite":
				r.SQLite = v
			case what == "orders/s":
				r.Postgres = v
			case what == "p99-ms" && e == "db=sqlite":
				r.SQLiteP99 = v
			case what == "p99-ms":
				r.PostgresP99 = v
			}
		}
	}
	for _, c := range slices.Sorted(maps.Keys(scaling)) {
		rep.Scaling = append(rep.Scaling, *scaling[c])
	}
	// Everything else that measured a time per call: the hot paths' micro-benchmarks.
	for _, name := range slices.Sorted(maps.Keys(res.figures)) {
		f := res.figures[name]
		if ns := f["ns/op"]; ns > 0 {
			rep.Micro = append(rep.Micro, MicroRow{Name: name, NsOp: ns, BOp: f["B/op"], Allocs: f["allocs/op"]})
		}
	}
	return rep
}

func machine(cpu string) Machine {
	m := Machine{Cores: runtime.NumCPU(), CPU: cpu, Go: runtime.Version(), Date: time.Now().UTC().Format("2006-01-02"), Load: "?"}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				if kb, err := strconv.ParseFloat(f[1], 64); err == nil {
					m.MemoryGB = int(kb/(1<<20) + 0.5)
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			m.Load = f[0]
		}
	}
	return m
}

// String is the report as Markdown: the main table, memory, the scaling plot, the hot paths.
func (rep Report) String() string {
	w := &strings.Builder{}
	fmt.Fprintf(w, "partnerhub benchmarks on %s\n\n", rep.Machine)
	fmt.Fprintln(w, "| figure | setup | throughput | p50 | p99 | × ceiling | goal |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---|")
	for _, r := range rep.Rows {
		lat := func(v float64) string {
			if v == 0 {
				return "—"
			}
			return fmt.Sprintf("%.2f ms", v)
		}
		ratio := "—"
		if r.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f", r.Ratio)
		}
		goal := r.Goal
		if r.Met != nil {
			goal += map[bool]string{true: " ✔ met", false: " ✘ missed"}[*r.Met]
		}
		fmt.Fprintf(w, "| %s | %s | %s %s | %s | %s | %s | %s |\n", r.Figure, r.Setup, thousands(r.Throughput), r.Unit,
			lat(r.P50ms), lat(r.P99ms), ratio, goal)
	}
	if len(rep.Memory) > 0 {
		fmt.Fprintln(w, "\nEach service as a process of its own: resident memory (RSS) idle and at its peak under load (16 clients ordering, 8 reading SKUs), goroutines idle / at the peak / after the load.")
		fmt.Fprintln(w, "\n| service | setup | idle RSS (goal ≤ 40 MB) | loaded RSS | goroutines |")
		fmt.Fprintln(w, "|---|---|---:|---:|---:|")
		for _, m := range rep.Memory {
			fmt.Fprintf(w, "| %s | %s | %.1f MB%s | %.1f MB | %d / %d / %d |\n", m.Service, m.Setup, m.IdleRSSMB,
				map[bool]string{true: "", false: " ✘"}[m.Met], m.LoadedRSSMB, m.IdleGoroutines, m.LoadedGoroutines, m.AfterGoroutines)
		}
	}
	if len(rep.Scaling) > 0 {
		fmt.Fprintln(w, "\nPlaceOrder → COMPLETED by concurrent clients (closed loop):")
		fmt.Fprintln(w)
		w.WriteString(rep.plot())
	}
	if len(rep.Micro) > 0 {
		fmt.Fprintln(w, "\nHot paths, per call (one core unless the name says parallel):")
		fmt.Fprintln(w, "\n| benchmark | time | bytes | allocations |")
		fmt.Fprintln(w, "|---|---:|---:|---:|")
		for _, m := range rep.Micro {
			fmt.Fprintf(w, "| %s | %s | %.0f B | %.0f |\n", m.Name, duration(m.NsOp), m.BOp, m.Allocs)
		}
	}
	return w.String()
}

// plot is the scaling table with a bar per engine, scaled to the highest throughput.
func (rep Report) plot() string {
	top := 0.0
	for _, r := range rep.Scaling {
		top = max(top, r.SQLite, r.Postgres)
	}
	const width = 40
	bar := func(v float64, c string) string { // padded to width (the bar's runes are multi-byte)
		n := 0
		if top > 0 {
			n = int(v/top*width + 0.5)
		}
		return strings.Repeat(c, n) + strings.Repeat(" ", width-n)
	}
	var b strings.Builder
	b.WriteString("```\nclients  orders/s (█ SQLite, ▒ PostgreSQL + Redis)           p99\n")
	for _, r := range rep.Scaling {
		fmt.Fprintf(&b, "%7d  %s %5.0f  %6.1f ms\n", r.Clients, bar(r.SQLite, "█"), r.SQLite, r.SQLiteP99)
		fmt.Fprintf(&b, "%7s  %s %5.0f  %6.1f ms\n", "", bar(r.Postgres, "▒"), r.Postgres, r.PostgresP99)
	}
	b.WriteString("```\n")
	return b.String()
}

func duration(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

// thousands formats v rounded, with thousands separators.
func thousands(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func (rep Report) write(file string) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(file, append(b, '\n'), 0o644) //nolint:gosec // a published result, readable like the rest of the repository
}
