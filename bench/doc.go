// Package bench holds partnerhub's performance harness: Go benchmarks of the hot paths shared by
// every service, and scripts that measure whole processes (bench/idle-memory.sh). `make bench`
// runs them and prints the figures the README quotes. Benchmarks never assert timings: figures
// are published, not enforced.
package bench
