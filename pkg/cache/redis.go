package cache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Cache in Redis, under a key prefix so that several services (or tests) share one
// server without colliding.
//
// It implements Versioned too. A guarded key k is stored as two Redis keys, prefix+"v{k}" (the
// value) and prefix+"g{k}" (its generation, a random 64-bit number in decimal). The braces are a
// Redis Cluster hash tag: both keys land in the same slot, so the Lua scripts that read one and
// write the other stay legal in a cluster. (A prefix containing "{" must then contain a whole
// hash tag "{...}", which puts every key in one slot: correct, but not spread.)
//
// Generations are random rather than counters so that a generation that expired or was evicted
// and is then created anew can never take the value a slow fill read before: a counter restarting
// at 1 could, and the fill would store a stale value.
type Redis struct {
	client redis.UniversalClient
	prefix string

	// Scripts, not MULTI or WATCH: each compares and writes in one atomic step and one round
	// trip, and go-redis reloads them by itself after a Redis restart empties the script cache.
	generation *redis.Script
	setGuarded *redis.Script
	bump       *redis.Script
}

// NewRedis returns a cache that stores keys as prefix+key in the given client's server. The
// client is owned by the caller, who closes it. Any go-redis client works (*redis.Client,
// *redis.ClusterClient, a failover client).
//
// The client's settings bound how long an unreachable Redis holds up the requests that find it
// so (Aside then bypasses it until it is back): a cache in front of a database wants them short,
// e.g. DialTimeout 1s, ReadTimeout and WriteTimeout 200ms, MaxRetries 1 and DialerRetries 1.
// (go-redis's defaults retry a refused dial 5 times, 100ms apart, and ignore context deadlines
// unless ContextTimeoutEnabled is set.)
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{
		client: client,
		prefix: prefix,
		// KEYS[1] generation key; ARGV[1] new generation, ARGV[2] its TTL in ms (0: none).
		// Returns the generation in force, the existing one if there was one.
		generation: redis.NewScript(`
local g = redis.call('GET', KEYS[1])
if g then return g end
if ARGV[2] == '0' then
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return ARGV[1]`),
		// KEYS[1] value key, KEYS[2] generation key; ARGV[1] expected generation, ARGV[2]
		// value, ARGV[3] value TTL in ms, ARGV[4] generation TTL in ms (0: none). Stores only if
		// the generation exists and is the expected one: a missing generation was evicted or
		// expired, and may have been bumped before that, so it must refuse too.
		setGuarded: redis.NewScript(`
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
if ARGV[3] == '0' then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
if ARGV[4] == '0' then
  redis.call('PERSIST', KEYS[2])
else
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
return 1`),
		// KEYS[1] value key, KEYS[2] generation key; ARGV[1] new generation, ARGV[2] its TTL in
		// ms (0: none).
		bump: redis.NewScript(`
if ARGV[2] == '0' then
  redis.call('SET', KEYS[2], ARGV[1])
else
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
end
redis.call('DEL', KEYS[1])
return 1`),
	}
}

// Get implements Cache.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool, error) {
	v, err := r.client.Get(ctx, r.prefix+key).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("cache: redis get %q: %w", key, err)
	}
	return v, true, nil
}

// Set implements Cache.
func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl < 0 {
		ttl = 0 // go-redis reads a negative TTL as KEEPTTL; the interface says "no expiry"
	}
	if err := r.client.Set(ctx, r.prefix+key, value, ttl).Err(); err != nil {
		return fmt.Errorf("cache: redis set %q: %w", key, err)
	}
	return nil
}

// Delete implements Cache.
func (r *Redis) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil // DEL needs at least one key
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = r.prefix + k
	}
	if err := r.client.Del(ctx, full...).Err(); err != nil {
		return fmt.Errorf("cache: redis delete: %w", err)
	}
	return nil
}

func (r *Redis) valueKey(key string) string { return r.prefix + "v{" + key + "}" }
func (r *Redis) genKey(key string) string   { return r.prefix + "g{" + key + "}" }

// GetGuarded implements Versioned with one MGET: the hot path of a warm cache is one round trip.
func (r *Redis) GetGuarded(ctx context.Context, key string) ([]byte, bool, uint64, error) {
	vals, err := r.client.MGet(ctx, r.valueKey(key), r.genKey(key)).Result()
	if err != nil {
		return nil, false, 0, fmt.Errorf("cache: redis get %q: %w", key, err)
	}
	var gen uint64
	if g, ok := vals[1].(string); ok {
		if gen, err = parseGen(g); err != nil {
			return nil, false, 0, fmt.Errorf("cache: redis get %q: %w", key, err)
		}
	}
	v, ok := vals[0].(string)
	if !ok {
		return nil, false, gen, nil
	}
	return []byte(v), true, gen, nil
}

// Generation implements Versioned.
func (r *Redis) Generation(ctx context.Context, key string, ttl time.Duration) (uint64, error) {
	g, err := r.generation.Run(ctx, r.client, []string{r.genKey(key)},
		strconv.FormatUint(newGen(), 10), millis(ttl)).Text()
	if err != nil {
		return 0, fmt.Errorf("cache: redis generation %q: %w", key, err)
	}
	gen, err := parseGen(g)
	if err != nil {
		return 0, fmt.Errorf("cache: redis generation %q: %w", key, err)
	}
	return gen, nil
}

// SetGuarded implements Versioned.
func (r *Redis) SetGuarded(ctx context.Context, key string, value []byte, ttl time.Duration, gen uint64, genTTL time.Duration) (bool, error) {
	n, err := r.setGuarded.Run(ctx, r.client, []string{r.valueKey(key), r.genKey(key)},
		strconv.FormatUint(gen, 10), value, millis(ttl), millis(genTTL)).Int()
	if err != nil {
		return false, fmt.Errorf("cache: redis set %q: %w", key, err)
	}
	return n == 1, nil
}

// Bump implements Versioned: one pipelined script per key, one round trip in all. EVAL rather
// than EVALSHA, because a pipeline cannot fall back when a restarted Redis has forgotten the
// script; the script is short and invalidations are rare.
func (r *Redis) Bump(ctx context.Context, genTTL time.Duration, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	ttl := millis(genTTL)
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			r.bump.Eval(ctx, p, []string{r.valueKey(k), r.genKey(k)}, strconv.FormatUint(newGen(), 10), ttl)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cache: redis invalidate %d keys: %w", len(keys), err)
	}
	return nil
}

// FlushGuarded implements Versioned by scanning for the prefix's guarded keys, on every master of
// a cluster. Generations go first, then values: a fill racing with the flush either stores
// before its generation is deleted, and then its value exists throughout the second pass, which
// therefore deletes it (SCAN returns every key present for the whole scan), or finds its
// generation gone and stores nothing.
func (r *Redis) FlushGuarded(ctx context.Context) error {
	flush := func(ctx context.Context, c redis.UniversalClient) error {
		for _, kind := range []string{"g{", "v{"} {
			if err := r.deleteMatching(ctx, c, escapeGlob(r.prefix)+kind+"*"); err != nil {
				return err
			}
		}
		return nil
	}
	var err error
	if cc, ok := r.client.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return flush(ctx, c) })
	} else {
		err = flush(ctx, r.client)
	}
	if err != nil {
		return fmt.Errorf("cache: redis flush: %w", err)
	}
	return nil
}

func (r *Redis) deleteMatching(ctx context.Context, c redis.UniversalClient, pattern string) error {
	it := c.Scan(ctx, 0, pattern, 1000).Iterator()
	batch := make([]string, 0, 1000)
	del := func() error {
		if len(batch) == 0 {
			return nil
		}
		// One DEL per key: a multi-key DEL across hash slots is refused in a cluster.
		_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range batch {
				p.Del(ctx, k)
			}
			return nil
		})
		batch = batch[:0]
		return err
	}
	for it.Next(ctx) {
		if batch = append(batch, it.Val()); len(batch) == cap(batch) {
			if err := del(); err != nil {
				return err
			}
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	return del()
}

// Ping implements Versioned.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("cache: redis ping: %w", err)
	}
	return nil
}

// newGen returns a random non-zero generation (0 means "none").
func newGen() uint64 {
	for {
		if g := rand.Uint64(); g != 0 { //nolint:gosec // G404: a generation only has to differ from the last one, not be unguessable
			return g
		}
	}
}

func parseGen(s string) (uint64, error) {
	g, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("malformed generation %q: %w", s, err)
	}
	return g, nil
}

// millis renders a TTL for the scripts: whole milliseconds, at least 1 for a positive TTL (PX 0
// is an error), "0" for none.
func millis(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	return strconv.FormatInt(max(d.Milliseconds(), 1), 10)
}

// escapeGlob quotes the characters SCAN MATCH treats as a pattern.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`*?[]\`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
