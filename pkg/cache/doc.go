// Package cache is a byte-oriented key/value cache with a TTL per entry, behind one interface with
// two implementations, Redis (shared by every replica of a service) and an in-process LRU (the
// devstack default, no infrastructure), plus Aside: a cache-aside reader over either one that
// never serves a value older than a write whose invalidation has returned, and that turns a
// cache outage into slower answers, never into errors.
//
// Cache (Get/Set/Delete) returns its errors and knows nothing about what is cached. Versioned
// adds guarded values with per-key generations, which Aside needs; Memory and Redis implement
// both.
//
// # Aside: reads
//
// Aside.Get looks the key up; on a miss it calls the caller's load (the database read), stores
// the result for TTL (with jitter) or, for "not found", NegativeTTL, and returns it. Concurrent
// misses of one key in one process share a single load. Load errors are returned, never cached.
// Values are stored with a one-byte tag (found / not found), in the guarded key space.
//
// Keys are the caller's: Asides that share a cache share its guarded key space, which is what
// makes invalidation reach every instance. Give keys a kind prefix ("sku:", "price:").
//
// # Freshness: what Invalidate guarantees
//
// A write commits to the database, then calls Invalidate(keys), then returns. While the cache
// is reachable, every Get that starts after Invalidate has returned, on any instance sharing the
// cache, returns data at least as new as that write. Four pieces make it so:
//
//  1. Every guarded key has a generation next to its value. Invalidate gives the key a new
//     generation and deletes its value, atomically per key (a Lua script on Redis, the lock on
//     Memory).
//  2. A miss reads the generation (with the value: one MGET; creating it if there is none) before
//     calling load, and the fill stores the loaded value only if, atomically with the store, the
//     generation is still the one read. A reader that loaded the old row before the write
//     committed therefore cannot store it after the invalidation: its generation changed. A
//     missing generation (expired, evicted, lost in a restart) refuses the fill as well, and
//     generations are random (Redis) or never reused (Memory), so one that vanished and was
//     created again cannot match an old reader's.
//  3. Concurrent misses share a load only if they read the same generation, so a Get that starts
//     after an invalidation never joins a load that may have read the database before the write.
//     The load's first step re-reads the cache, so a miss that arrives just as another load
//     finishes uses its value instead of loading again: N concurrent misses cost one load.
//  4. A fill refused because of an invalidation still answers its callers (their reads were
//     concurrent with the write, so either value is correct for them); it just is not stored.
//
// (A version key compared on write, rather than pub/sub: a published invalidation is lost by
// whoever is disconnected at that moment, and nothing would tell it.)
//
// # Outages
//
// Any cache error on a read (a failed GET, generation or fill; not the caller's own cancellation)
// puts the Aside in degraded mode: Gets skip the cache and call load (still one load per key at a
// time), counted as result "bypass"; no request waits on the cache meanwhile. The error is counted
// in partnerhub_cache_errors_total and logged at most once per 10 s; it is never returned. A
// goroutine tries the cache every RetryInterval (default 1 s) and ends when it succeeds.
//
// Invalidate always tries the cache itself, degraded or not, ignoring its ctx's cancellation. If
// that fails, the keys are owed: the Aside remembers them, returns an error wrapping
// ErrInvalidationDeferred (the caller logs it and returns success: its write has committed), and
// stays degraded until a retry has delivered every owed invalidation. Beyond 100,000 owed keys it
// owes a flush of the whole guarded key space instead (a cold cache, bounded memory). Only after
// that does it leave degraded mode, and then it waits 2×RetryInterval more before reading from the
// cache again. While degraded it does not fill either.
//
// What this gives, and what it does not:
//
//   - The instance that wrote never serves a value older than its write: from the failed
//     Invalidate until the delivery it reads from the database, and it delivers before it
//     reads the cache again. A fill racing with the outage either is refused by the new
//     generation or lands before the delivery, which deletes it.
//   - An instance that noticed the outage (made any cache call during it) comes back 2×RetryInterval
//     after it first sees the cache again. Every instance that owes invalidations and can reach
//     the cache retries once per RetryInterval, so by then they are delivered, provided all
//     instances use the same RetryInterval and a delivery takes less than one interval.
//   - Not covered, and bounded as follows:
//     (a) A partition: the writer cannot reach Redis, other instances can. They serve the old
//     value until the writer delivers, at most until the entry expires: TTL·(1+Jitter).
//     (b) An instance that made no cache call during the whole outage cannot know there was one:
//     if Redis kept its data (a restart with RDB/AOF, a network cut), it may serve an old value
//     after Redis is back until the writer's next retry delivers the invalidation: at most one
//     RetryInterval plus the delivery. A Redis that restarts empty has nothing stale to serve.
//     (c) A Redis failover to a replica that had not yet received an acknowledged invalidation
//     (replication is asynchronous): the old value until it expires.
//     (d) Without the cache there is no generation to compare, so a degraded Get that joins a
//     load started just before another instance's write committed gets the pre-write value: a
//     window of one load's duration. The instance's own writes are not affected: Invalidate
//     makes later Gets start a new load.
//
// Keep TTL short: it is the bound in (a) and (c).
//
// Redis clients should have short timeouts (see NewRedis): a hung Redis holds up the requests
// that find it hung, until the first error opens the circuit.
//
// # Metrics
//
// On AsideOptions.Registry, labelled cache=AsideOptions.Name:
//
//	partnerhub_cache_requests_total{cache,result}  result: hit, negative_hit, miss, bypass
//	partnerhub_cache_loads_total{cache}            calls of load, after merging concurrent misses
//	partnerhub_cache_errors_total{cache,op}        op: get, generation, set, invalidate, flush, probe
//	partnerhub_cache_degraded{cache}               1 while degraded or waiting to resume, else 0
package cache
