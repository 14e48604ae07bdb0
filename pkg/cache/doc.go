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
// (A version key compared on write, rather than pub/sub alone: a published invalidation is lost
// by whoever is disconnected at that moment, and nothing would tell it. Near, below, uses pub/sub
// only with leases and acknowledgements, which do tell.)
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
// # Near: an in-process cache in front of Redis
//
// With Redis every warm Aside read is a round trip. Near (NewNear) puts a bounded in-process
// cache, the near cache, in front of an Aside whose cache is Redis, and keeps it exactly as fresh
// as the Aside: when a Near's Invalidate returns (without error), no instance serves an older
// value from its near cache. Misses, and all reads while the near cache is off, go through the
// Aside, with everything above (generations, shared loads, degraded mode, owed invalidations).
//
// Each instance holds a lease: a token in one Redis sorted set, <prefix>near:leases, scored with
// its expiry on Redis's clock (TIME in Lua scripts, so every instance and writer compares on one
// clock). Its near cache is on only while
//
//  1. it is subscribed to <prefix>near:inval, confirmed by Redis, and has joined with a token
//     taken after that confirmation;
//  2. its last successful lease renewal was sent less than ServeFor ago (local monotonic clock;
//     ServeFor < LeaseTTL, renewals every Heartbeat < ServeFor), checked on every Get;
//  3. its Aside is not degraded.
//
// Losing the subscription empties the near cache, then gives the token back (ZREM); the next
// confirmed subscription takes a new token. A renewal refused (the token ran out or was revoked)
// turns the near cache off at once and starts a new subscription. Every change of state, every
// dropped key and every flush moves a per-shard generation.
//
// A write: the database commits, then Near.Invalidate(keys)
//
//  1. invalidates through the Aside (new Redis generations: the next Aside read is fresh);
//  2. drops the keys from its own near cache (after 1, not before: a Get starting between a
//     drop and the Redis invalidation could read and keep the old value);
//  3. reads the registry and publishes {id, from, keys} on the channel, in one Lua script, so the
//     list of leases is the one at the instant of the publication;
//  4. waits until every other live lease in that list has acknowledged (each subscriber drops
//     the keys, then SADDs its token to <prefix>near:acks:<id> and publishes a wake-up to the
//     writer), has left the registry, or has been revoked; after AckTimeout it revokes the
//     leases still silent (score negated: they can no longer be renewed) and waits until they
//     would have run out. The wait is bounded by AckTimeout + LeaseTTL.
//
// A fill (storing a value read through the Aside) reads the key's shard generation before the
// usability check, and stores only if the generation is unchanged and the near cache is still on.
// A hit checks usability before looking the key up.
//
// Why no instance X serves a stale value after Invalidate returned at time T. Suppose a Get on X
// starting after T hits an entry older than the write. That entry was filled by a read G0 whose
// Aside read started before step 1 returned (else the Aside's guarantee makes it fresh), so G0's
// generation read and usability check came before step 1 as well, under some token τ0 of X.
//
//   - If τ0 was in the list of step 3, the writer returned only after one of: X acknowledged
//     under τ0, having dropped the key and moved its generation after step 1, so G0's fill was
//     either deleted or refused; or τ0 left the registry, which X does only after emptying its
//     near cache, and X cannot use τ0 again; or τ0 ran out or was revoked and the writer waited
//     until its expiry: X's last renewal of τ0 was sent before Redis executed it, so X stopped
//     using τ0 by then + ServeFor < expiry ≤ T. Any later token of X starts after a flush.
//   - If τ0 was not in the list, τ0 had run out before step 3 (and so X stopped using it before
//     then, as above) or had not joined yet; but G0's usability check under τ0 came before step
//     1, so τ0 had joined before step 3. Contradiction.
//   - A token X takes after T is taken after a flush that follows every moment X used an earlier
//     one, so G0's fill is refused by the generation or emptied by the flush.
//
// An unacknowledged instance thus costs the write up to AckTimeout + LeaseTTL, never freshness.
// The argument assumes what leases always do: that Redis keeps the registry (a registry found
// missing, because Redis restarted empty or evicted it, is recreated with a "~since" mark and
// writers wait one LeaseTTL before trusting it, which outlasts every lease it may have lost), that
// its clock does not jump (TIME drives the expiries), and that clock rates differ by much less
// than LeaseTTL−ServeFor.
//
// When Redis cannot be reached:
//
//   - The Aside's invalidation fails: it owes the keys (as above). The writer's near cache is
//     off (its Aside is degraded); Invalidate waits LeaseTTL before returning the error wrapping
//     ErrInvalidationDeferred: every instance cut off from Redis as well has stopped using its
//     near cache by then (its last renewal was before the failure). When the Aside's retry
//     delivers the owed invalidation it also broadcasts it (steps 3 and 4), and only then is it
//     delivered; a broadcast that fails leaves it owed.
//   - The Redis invalidation succeeds but the broadcast fails: the Aside owes the keys again (and
//     re-delivers and broadcasts them later), same wait, same error.
//   - So the one new window is the partition case (a) above, for near caches too: instances that
//     still reach Redis while the writer does not may serve their near copy until the writer's
//     retry delivers and broadcasts, at most the TTL.
//
// Redis down for everyone: no lease is renewed, every near cache goes off within ServeFor, reads
// go to the Aside, which degrades to the database. When Redis is back, instances resubscribe and
// rejoin, with empty near caches.
//
// # Metrics
//
// On AsideOptions.Registry, labelled cache=AsideOptions.Name:
//
//	partnerhub_cache_requests_total{cache,result}  result: hit, negative_hit, miss, bypass
//	partnerhub_cache_loads_total{cache}            calls of load, after merging concurrent misses
//	partnerhub_cache_errors_total{cache,op}        op: get, generation, set, invalidate, flush, probe,
//	                                               broadcast (Near)
//	partnerhub_cache_degraded{cache}               1 while degraded or waiting to resume, else 0
//
// A Near adds, on NearOptions.Registry, labelled with its Aside's name:
//
//	partnerhub_cache_near_requests_total{cache,result}     result: hit, miss, bypass (near cache off)
//	partnerhub_cache_near_usable{cache}                    1 while the near cache is on (per heartbeat)
//	partnerhub_cache_near_invalidate_wait_seconds{cache}   histogram: publish and acknowledgements
//	partnerhub_cache_near_revocations_total{cache}         leases revoked for want of an acknowledgement
//	partnerhub_cache_near_flushes_total{cache,reason}      reason: subscription, lease, join, degraded,
//	                                                       message, close
package cache
