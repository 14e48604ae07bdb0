// Package bench holds partnerhub's performance harness (`make bench`, `make soak`): the whole suite
// started in this process (orders_stack_test.go) or as six processes (procs_test.go), on SQLite
// or on PostgreSQL + Redis, driven over the generated clients; each benchmark measures one row of
// the README's table against the ceiling, an empty RPC on the same server in the same run, and
// cmd/benchtable turns their output into that table and bench/results/latest.json. Benchmarks
// never assert timings: figures are published, not enforced. PARTNERHUB_BENCH_SHORT=1 shrinks
// every phase so that CI can check the harness works (make bench-check).
package bench
