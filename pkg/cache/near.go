package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// NearOptions configure a Near. Zero values mean the documented defaults.
type NearOptions struct {
	// Prefix is put before the Redis keys and channels of the protocol ("near:leases",
	// "near:inval", ...). Instances that share the Aside's key space must share it; the default
	// is the prefix of the Aside's cache when that is a *Redis, else "".
	Prefix string
	// InstanceID names this instance in the lease registry and in logs; a random suffix is
	// always appended, so that two processes given the same ID stay apart. Default "near".
	InstanceID string
	// MaxEntries bounds the entries held in process; default 10,000. A full cache drops an
	// arbitrary entry to make room.
	MaxEntries int
	// LeaseTTL is the life of this instance's lease in the registry, renewed every Heartbeat;
	// default 2 s. A writer that gets no acknowledgement from an instance waits for its lease to
	// run out, so this bounds how long a write can take when an instance is cut off.
	LeaseTTL time.Duration
	// ServeFor is how long after the last successful renewal (counted from when the renewal
	// was sent) the near cache may still be used; default LeaseTTL/2. It must be shorter than
	// LeaseTTL: the difference covers clock-rate differences between this host and Redis's.
	ServeFor time.Duration
	// Heartbeat is the renewal interval; default ServeFor/2. It must be shorter than ServeFor,
	// else the near cache is off between renewals.
	Heartbeat time.Duration
	// AckTimeout is how long an Invalidate waits for the other instances' acknowledgements
	// before it revokes the leases of those that did not answer (and then waits for those
	// leases to run out); default LeaseTTL/4.
	AckTimeout time.Duration
	// Registry receives the metrics (nil: they are kept but not exported), labelled
	// cache=the Aside's name.
	Registry *prometheus.Registry
	// Log receives state changes (near cache on, off and why) and revocations; nil: none.
	Log *zap.Logger
	// Now is the clock of the lease deadlines; default time.Now. Only differences between its
	// readings are used, so time.Now's monotonic readings make them immune to wall-clock steps.
	Now func() time.Time
}

const (
	defaultNearLeaseTTL   = 2 * time.Second
	defaultNearMaxEntries = 10_000
	// nearShards splits the near cache so that concurrent hits on different keys do not share
	// a lock; a power of two.
	nearShards = 64
	// nearMaxKeysPerMessage bounds an invalidation message: beyond it the message says "all",
	// which costs the other instances their near entries but keeps pub/sub messages small.
	nearMaxKeysPerMessage = 1000
	// nearSince is the registry member that says from when the registry can be trusted (see
	// the package documentation, "Near: the registry"). It sorts apart from tokens, which are
	// "<id>.<hex>".
	nearSince = "~since"
)

// Near is an in-process cache (L1) in front of an Aside whose cache is Redis, kept exactly as
// fresh as the Aside by a lease-based write-invalidate protocol over Redis: when Invalidate
// returns, no instance serves an older value from its near cache. See the package
// documentation ("Near") for the protocol and the argument. It has the Aside's Get and
// Invalidate; misses, and every read while the near cache is off, go to the Aside.
//
// It is safe for concurrent use. Close stops its goroutines; it does not close the Aside or the
// client.
type Near struct {
	aside  *Aside
	client redis.UniversalClient
	name   string
	id     string
	log    *zap.Logger
	now    func() time.Time
	base   time.Time // mono() counts from here
	m      nearMetrics

	regKey, invalCh, ackCh, ackSetPrefix, ackChPrefix string

	leaseTTL, serveFor, heartbeat, ackTimeout time.Duration
	posTTL, negTTL                            time.Duration
	jitter                                    float64
	perShard                                  int

	seed   maphash.Seed
	shards [nearShards]nearShard

	// deadline is the mono() reading until which the near cache may be used; 0: not at all.
	// It is the hot path's view of the lease, read without the lock.
	deadline atomic.Int64
	// asideDown is set when a Get finds the Aside degraded (and flushed the near cache for it).
	asideDown atomic.Bool

	scripts nearScripts

	mu         sync.Mutex
	subscribed bool   // both channels confirmed on the current subscription
	token      string // the lease token of this subscription; "" while unsubscribed
	joined     bool   // token registered: the near cache is on while the deadline holds
	closed     bool
	ps         *redis.PubSub
	waiters    map[string]chan struct{} // msgID → wake-up of the Invalidate waiting for its acks
	// unreleased are old tokens of this instance whose release failed (Redis was away): the
	// next join removes them, so that writers do not wait for them until they run out.
	unreleased []string
	kick       chan struct{} // wakes the heartbeat at once (subscription confirmed)
	cancel     context.CancelFunc
	wg         sync.WaitGroup
}

type nearShard struct {
	mu sync.RWMutex
	m  map[string]nearEntry
	// gen changes (under mu) whenever a key of the shard is dropped or the shard is flushed. A
	// fill stores only if gen is the one it read before the usability check and before its
	// read: an invalidation processed in between means the value it read may be stale.
	gen atomic.Uint64
}

type nearEntry struct {
	value   []byte
	found   bool
	expires int64 // mono()
}

// nearMsg is an invalidation on the channel: JSON, because it is rare and small.
type nearMsg struct {
	ID   string   `json:"id"`
	From string   `json:"from"` // instance ID: acknowledgements go to <prefix>near:ack:<from>
	All  bool     `json:"all,omitempty"`
	Keys []string `json:"keys,omitempty"`
}

// NewNear returns a near cache in front of aside, talking to the Redis behind it through
// client (any go-redis client; the caller closes it after Close). Several instances of a
// service each have their own Near over their own Aside and share the Redis, the prefix and
// the Aside's key space. It panics on inconsistent durations or a second Near for one Aside,
// programming errors both. The goroutines (subscription, heartbeat) start at once; the near
// cache is used from the first successful lease.
func NewNear(aside *Aside, client redis.UniversalClient, opts NearOptions) *Near {
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = defaultNearLeaseTTL
	}
	if opts.ServeFor <= 0 {
		opts.ServeFor = opts.LeaseTTL / 2
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = opts.ServeFor / 2
	}
	if opts.AckTimeout <= 0 {
		opts.AckTimeout = opts.LeaseTTL / 4
	}
	if opts.ServeFor >= opts.LeaseTTL || opts.Heartbeat >= opts.ServeFor || opts.LeaseTTL < 2*time.Millisecond {
		panic(fmt.Sprintf("cache: NewNear needs Heartbeat < ServeFor < LeaseTTL (LeaseTTL ≥ 2ms), got %s, %s, %s",
			opts.Heartbeat, opts.ServeFor, opts.LeaseTTL))
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = defaultNearMaxEntries
	}
	if opts.Prefix == "" {
		if r, ok := aside.c.(*Redis); ok {
			opts.Prefix = r.prefix
		}
	}
	if opts.InstanceID == "" {
		opts.InstanceID = "near"
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	n := &Near{
		aside:        aside,
		client:       client,
		name:         aside.name,
		id:           opts.InstanceID + "-" + randomHex(6),
		log:          opts.Log,
		now:          opts.Now,
		regKey:       opts.Prefix + "near:leases",
		invalCh:      opts.Prefix + "near:inval",
		ackSetPrefix: opts.Prefix + "near:acks:",
		ackChPrefix:  opts.Prefix + "near:ack:",
		leaseTTL:     opts.LeaseTTL,
		serveFor:     opts.ServeFor,
		heartbeat:    opts.Heartbeat,
		ackTimeout:   opts.AckTimeout,
		posTTL:       aside.ttl,
		negTTL:       aside.negTTL,
		jitter:       aside.jitter,
		perShard:     max(1, (opts.MaxEntries+nearShards-1)/nearShards),
		seed:         maphash.MakeSeed(),
		scripts:      newNearScripts(),
		waiters:      map[string]chan struct{}{},
		kick:         make(chan struct{}, 1),
	}
	n.ackCh = n.ackChPrefix + n.id
	n.base = n.now()
	n.log = n.log.With(zap.String("cache", n.name), zap.String("instance", n.id))
	n.m = newNearMetrics(opts.Registry, n.name)
	for i := range n.shards {
		n.shards[i].m = map[string]nearEntry{}
	}

	aside.mu.Lock()
	if aside.broadcast != nil {
		aside.mu.Unlock()
		panic("cache: NewNear: this Aside already has a Near")
	}
	aside.broadcast = n.broadcast
	aside.mu.Unlock()

	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	n.wg.Add(2)
	go n.subscribeLoop(ctx)
	go n.heartbeatLoop(ctx)
	return n
}

// mono is the time since the Near was made, on its clock (monotonic with time.Now).
func (n *Near) mono() int64 { return int64(n.now().Sub(n.base)) }

func (n *Near) shard(key string) *nearShard {
	return &n.shards[maphash.String(n.seed, key)&(nearShards-1)]
}

// usable reports whether the near cache may be used at mono time now: the lease holds (which
// implies a confirmed subscription) and the Aside is not degraded.
func (n *Near) usable(now int64) bool {
	if now >= n.deadline.Load() {
		return false
	}
	if !n.aside.usable.Load() && !n.aside.resume() {
		// Degraded: the cache failed, or this instance owes invalidations. Off, and flushed once,
		// so what comes back after the Aside resumes starts empty.
		if n.asideDown.CompareAndSwap(false, true) {
			n.flush("degraded")
		}
		return false
	}
	if n.asideDown.Load() {
		n.asideDown.Store(false)
	}
	return true
}

// Usable reports whether the near cache is in use now (for tests and diagnostics).
func (n *Near) Usable() bool { return n.usable(n.mono()) }

// Get returns the value under key from the near cache when it is in use and holds it, else
// through the Aside (see Aside.Get), keeping what the Aside returns for the next Get. The
// returned slice is shared: never modify it.
func (n *Near) Get(ctx context.Context, key string, load func(ctx context.Context) (value []byte, found bool, err error)) (value []byte, found bool, err error) {
	sh := n.shard(key)
	// The generation is read before the usability check, and that before the read through the
	// Aside: the order the freshness argument needs (package documentation, "Near").
	gen := sh.gen.Load()
	now := n.mono()
	if !n.usable(now) {
		n.m.bypass.Inc()
		return n.aside.Get(ctx, key, load)
	}
	sh.mu.RLock()
	e, ok := sh.m[key]
	sh.mu.RUnlock()
	if ok && now < e.expires {
		n.m.hit.Inc()
		return e.value, e.found, nil
	}
	n.m.miss.Inc()
	v, found, err := n.aside.Get(ctx, key, load)
	if err == nil {
		n.fill(sh, key, gen, v, found)
	}
	return v, found, err
}

// fill keeps a value read through the Aside, unless the shard's generation moved since gen was
// read (an invalidation or a flush came in between: the value may predate it) or the near cache
// is off. Entries live at most the Aside's TTL (NegativeTTL for "not found").
func (n *Near) fill(sh *nearShard, key string, gen uint64, v []byte, found bool) {
	ttl := n.posTTL
	if !found {
		if n.negTTL <= 0 {
			return
		}
		ttl, v = n.negTTL, nil
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	now := n.mono()
	// Not usable(): its flush would take this shard's lock again.
	if sh.gen.Load() != gen || now >= n.deadline.Load() || !n.aside.usable.Load() {
		return
	}
	if _, ok := sh.m[key]; !ok && len(sh.m) >= n.perShard {
		for k := range sh.m { // an arbitrary victim: map iteration starts at a random entry
			delete(sh.m, k)
			break
		}
	}
	sh.m[key] = nearEntry{value: v, found: found, expires: now + int64(Jitter(ttl, n.jitter))}
}

// drop removes keys from the near cache and moves their shards' generations.
func (n *Near) drop(keys []string) {
	for _, k := range keys {
		sh := n.shard(k)
		sh.mu.Lock()
		delete(sh.m, k)
		sh.gen.Add(1)
		sh.mu.Unlock()
	}
}

// flush empties the near cache and moves every generation.
func (n *Near) flush(reason string) {
	for i := range n.shards {
		sh := &n.shards[i]
		sh.mu.Lock()
		clear(sh.m)
		sh.gen.Add(1)
		sh.mu.Unlock()
	}
	n.m.flushes.WithLabelValues(reason).Inc()
}

// Invalidate makes the next Get of each key, on every instance, return data at least as new as
// the caller's write, from the near caches as well: it invalidates through the Aside, drops
// the keys here, then publishes them and waits until every other instance holding a lease has
// acknowledged (or, for an instance that does not answer within AckTimeout, until its revoked
// lease has run out). It ignores ctx's cancellation, as Aside.Invalidate does.
//
// When Redis cannot be reached the error wraps ErrInvalidationDeferred, as Aside.Invalidate's:
// the Aside owes the invalidation and its retry delivers it and broadcasts it. Before
// returning such an error Invalidate waits LeaseTTL, so that every instance cut off from Redis
// too has stopped using its near cache (see the package documentation).
func (n *Near) Invalidate(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	err := n.aside.Invalidate(ctx, keys...)
	// After the Aside's invalidation, not before: a Get here that started after the drop must
	// not read the old value from Redis and keep it (its generation read is after the drop, so
	// the fill check cannot refuse it).
	n.drop(keys)
	if err != nil {
		// Owed by the Aside, which broadcasts when it delivers.
		n.waitOut()
		return err
	}
	if berr := n.broadcast(keys, false); berr != nil {
		n.aside.m.errors.WithLabelValues("broadcast").Inc()
		n.aside.warn("broadcast", berr)
		n.aside.owe(keys)
		n.waitOut()
		return fmt.Errorf("cache %s: invalidate %d keys: %w: %w", n.name, len(keys), ErrInvalidationDeferred, berr)
	}
	return nil
}

// waitOut waits LeaseTTL: after a failure to reach Redis, every instance that cannot reach it
// either has stopped using its near cache by then (its last renewal was before the failure).
func (n *Near) waitOut() {
	time.Sleep(n.leaseTTL)
}

// broadcast publishes an invalidation of keys (all: of everything) and waits until every other
// instance in the registry has acknowledged it, left, or lost its lease; it revokes the leases
// of those that have not acknowledged within AckTimeout and waits for them to run out. It is
// also the Aside's hook for the invalidations its retry loop delivers.
func (n *Near) broadcast(keys []string, all bool) error {
	start := time.Now()
	defer func() { n.m.wait.Observe(time.Since(start).Seconds()) }()
	if len(keys) > nearMaxKeysPerMessage {
		all, keys = true, nil
	}
	msg := nearMsg{ID: randomHex(12), From: n.id, All: all, Keys: keys}
	payload, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("cache %s: encode invalidation: %w", n.name, err)
	}
	wake := make(chan struct{}, 1)
	n.mu.Lock()
	n.waiters[msg.ID] = wake
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.waiters, msg.ID)
		n.mu.Unlock()
	}()

	// Redis's clock and ours meet in waitEnd: a wait of d ms in Redis time, reported by a reply
	// received at mono time r, ends at r+d here (at least as late as in Redis time, since the
	// script ran before r).
	var waitEnd int64
	waitFor := func(recv int64, ms int64) {
		if ms > 0 {
			waitEnd = max(waitEnd, recv+(ms+1)*int64(time.Millisecond))
		}
	}
	opCtx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), max(n.ackTimeout, time.Second))
	}

	ctx, cancel := opCtx()
	st, err := n.status(ctx, string(payload))
	recv := n.mono()
	cancel()
	if err != nil {
		return err
	}
	// A registry that was lost or evicted may have lost leases of instances still serving: wait
	// until it is trustworthy again.
	waitFor(recv, st.since-st.now)
	pending := map[string]bool{}
	for _, l := range st.leases {
		switch {
		case n.own(l.token):
			// This instance dropped the keys itself, under whatever token.
		case l.score > st.now:
			pending[l.token] = true
		default: // revoked by another writer, not yet run out
			waitFor(recv, -l.score-st.now)
		}
	}

	ackDeadline := n.mono() + int64(n.ackTimeout)
	poll := min(max(n.ackTimeout/10, time.Millisecond), 50*time.Millisecond)
	timer := time.NewTimer(poll)
	defer timer.Stop()
	for len(pending) > 0 {
		left := ackDeadline - n.mono()
		if left <= 0 {
			break
		}
		timer.Reset(min(poll, time.Duration(left)))
		select {
		case <-wake:
		case <-timer.C:
		}
		ctx, cancel := opCtx()
		st, acked, err := n.progress(ctx, msg.ID)
		recv := n.mono()
		cancel()
		if err != nil {
			return err
		}
		live := map[string]int64{}
		for _, l := range st.leases {
			live[l.token] = l.score
		}
		for tok := range pending {
			score, ok := live[tok]
			switch {
			case acked[tok]:
				delete(pending, tok)
			case !ok:
				// Gone: its lease ran out, or the instance left after dropping its near cache.
				delete(pending, tok)
			case score < 0:
				// Revoked by another writer: it cannot renew; wait for it to run out.
				delete(pending, tok)
				waitFor(recv, -score-st.now)
			}
		}
	}

	if len(pending) > 0 {
		ctx, cancel := opCtx()
		defer cancel()
		toks := make([]string, 0, len(pending))
		cmds := make([]*redis.Cmd, 0, len(pending))
		_, err := n.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for tok := range pending {
				toks = append(toks, tok)
				cmds = append(cmds, n.scripts.revoke.Eval(ctx, p, []string{n.regKey}, tok))
			}
			return nil
		})
		recv := n.mono()
		if err != nil {
			return fmt.Errorf("cache %s: revoke leases: %w", n.name, err)
		}
		for i, c := range cmds {
			ms, err := c.Int64()
			if err != nil {
				return fmt.Errorf("cache %s: revoke lease: %w", n.name, err)
			}
			waitFor(recv, ms)
			n.m.revocations.Inc()
			n.log.Warn("near cache: an instance did not acknowledge an invalidation; lease revoked",
				zap.String("lease", toks[i]), zap.Duration("wait", time.Duration(ms)*time.Millisecond))
		}
	}
	if d := waitEnd - n.mono(); d > 0 {
		time.Sleep(time.Duration(d))
	}
	return nil
}

// own reports whether a lease token is one of this instance's.
func (n *Near) own(token string) bool {
	return strings.HasPrefix(token, n.id+".")
}

type nearLease struct {
	token string
	score int64 // expiry in Redis ms; negative: revoked, expiring at -score
}

type nearStatus struct {
	now, since int64
	leases     []nearLease
}

// status reads the registry (creating it if missing) and, with payload != "", publishes it on
// the invalidation channel in the same script: the registry is read at the instant of the
// publication.
func (n *Near) status(ctx context.Context, payload string) (nearStatus, error) {
	ch := ""
	if payload != "" {
		ch = n.invalCh
	}
	v, err := n.scripts.status.Run(ctx, n.client, []string{n.regKey}, n.leaseTTL.Milliseconds(), ch, payload).Slice()
	if err != nil {
		return nearStatus{}, fmt.Errorf("cache %s: lease registry: %w", n.name, err)
	}
	return parseNearStatus(v)
}

// progress reads the registry and the acknowledgements of msgID in one round trip.
func (n *Near) progress(ctx context.Context, msgID string) (nearStatus, map[string]bool, error) {
	var st *redis.Cmd
	var members *redis.StringSliceCmd
	_, err := n.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		st = n.scripts.status.Eval(ctx, p, []string{n.regKey}, n.leaseTTL.Milliseconds(), "", "")
		members = p.SMembers(ctx, n.ackSetPrefix+msgID)
		return nil
	})
	if err != nil {
		return nearStatus{}, nil, fmt.Errorf("cache %s: acknowledgements: %w", n.name, err)
	}
	v, err := st.Slice()
	if err != nil {
		return nearStatus{}, nil, fmt.Errorf("cache %s: lease registry: %w", n.name, err)
	}
	s, err := parseNearStatus(v)
	if err != nil {
		return nearStatus{}, nil, err
	}
	acked := map[string]bool{}
	for _, m := range members.Val() {
		acked[m] = true
	}
	return s, acked, nil
}

func parseNearStatus(v []any) (nearStatus, error) {
	bad := func(what string) (nearStatus, error) {
		return nearStatus{}, fmt.Errorf("cache: malformed lease registry reply (%s): %v", what, v)
	}
	if len(v) < 2 || len(v)%2 != 0 {
		return bad("length")
	}
	num := func(x any) (int64, bool) {
		switch x := x.(type) {
		case string:
			f, err := strconv.ParseFloat(x, 64)
			return int64(f), err == nil
		case int64:
			return x, true
		}
		return 0, false
	}
	var s nearStatus
	var ok bool
	if s.now, ok = num(v[0]); !ok {
		return bad("now")
	}
	if s.since, ok = num(v[1]); !ok {
		return bad("since")
	}
	for i := 2; i+1 < len(v); i += 2 {
		tok, _ := v[i].(string)
		score, ok := num(v[i+1])
		if !ok || tok == "" {
			return bad("lease")
		}
		if tok == nearSince {
			continue
		}
		s.leases = append(s.leases, nearLease{token: tok, score: score})
	}
	return s, nil
}

// subscribeLoop keeps a subscription to the invalidation channel and to this instance's
// acknowledgement channel. Any trouble ends the subscription, and with it the near cache and
// the lease; a new subscription gets a new lease. (go-redis would resubscribe by itself, but
// silently: messages published in between would be lost without anyone knowing.)
func (n *Near) subscribeLoop(ctx context.Context) {
	defer n.wg.Done()
	for ctx.Err() == nil {
		ps := n.client.Subscribe(ctx, n.invalCh, n.ackCh)
		n.mu.Lock()
		if n.closed {
			n.mu.Unlock()
			_ = ps.Close()
			return
		}
		n.ps = ps
		n.mu.Unlock()
		reason := n.receive(ctx, ps)
		n.mu.Lock()
		n.ps = nil
		n.mu.Unlock()
		_ = ps.Close()
		n.lose("subscription", reason)
		t := time.NewTimer(n.heartbeat)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// receive handles one subscription until it fails; it returns why.
func (n *Near) receive(ctx context.Context, ps *redis.PubSub) error {
	confirmed := map[string]bool{}
	last := n.mono()
	for {
		msg, err := ps.ReceiveTimeout(ctx, n.heartbeat)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Quiet: check that the connection is alive (a silently dead one would lose
				// every message). Writers revoke an instance that does not acknowledge, so this
				// is about recovering sooner, not about freshness.
				if n.mono()-last > 3*int64(n.heartbeat) {
					return errors.New("no answer to PING on the subscription")
				}
				if err := ps.Ping(ctx); err != nil {
					return fmt.Errorf("ping: %w", err)
				}
				continue
			}
			return err
		}
		last = n.mono()
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" {
				return fmt.Errorf("unexpected %s of %s", m.Kind, m.Channel)
			}
			confirmed[m.Channel] = true
			if confirmed[n.invalCh] && confirmed[n.ackCh] {
				n.subscribedNow()
			}
		case *redis.Message:
			switch m.Channel {
			case n.invalCh:
				n.handleInvalidation(ctx, m.Payload)
			case n.ackCh:
				n.mu.Lock()
				if w, ok := n.waiters[m.Payload]; ok {
					select {
					case w <- struct{}{}:
					default:
					}
				}
				n.mu.Unlock()
			}
		}
	}
}

// subscribedNow records a confirmed subscription: from now on every invalidation published
// reaches this instance, so it may take a lease (the heartbeat does, at once).
func (n *Near) subscribedNow() {
	n.mu.Lock()
	if n.closed || n.subscribed {
		n.mu.Unlock()
		return
	}
	n.subscribed = true
	n.token = n.id + "." + randomHex(8)
	n.joined = false
	n.mu.Unlock()
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// handleInvalidation drops the keys of a message, then acknowledges it under the current lease.
func (n *Near) handleInvalidation(ctx context.Context, payload string) {
	var msg nearMsg
	if err := json.Unmarshal([]byte(payload), &msg); err != nil {
		// Not ours, or damaged: drop everything, since it may have been an invalidation.
		n.log.Warn("near cache: malformed invalidation; flushing", zap.Error(err))
		n.flush("message")
		return
	}
	if msg.All {
		n.flush("message")
	} else {
		n.drop(msg.Keys)
	}
	if msg.From == n.id || msg.ID == "" {
		return // the writer dropped its own keys itself
	}
	n.mu.Lock()
	tok := n.token
	n.mu.Unlock()
	if tok == "" {
		return
	}
	actx, cancel := context.WithTimeout(ctx, max(n.ackTimeout, 100*time.Millisecond))
	defer cancel()
	set := n.ackSetPrefix + msg.ID
	_, err := n.client.Pipelined(actx, func(p redis.Pipeliner) error {
		p.SAdd(actx, set, tok)
		// The writer reads the set for at most AckTimeout: a few of those, and it is gone.
		p.PExpire(actx, set, 4*(n.ackTimeout+n.leaseTTL))
		p.Publish(actx, n.ackChPrefix+msg.From, msg.ID)
		return nil
	})
	if err != nil && ctx.Err() == nil {
		// The writer will revoke this lease; the heartbeat then finds out and starts over.
		n.log.Debug("near cache: acknowledgement failed", zap.Error(err))
	}
}

// lose turns the near cache off after the subscription ended, flushes it and gives the lease
// back (after the flush: a writer that sees the lease gone stops waiting for it).
func (n *Near) lose(what string, reason error) {
	n.mu.Lock()
	was := n.joined
	tok := n.token
	n.subscribed, n.joined, n.token = false, false, ""
	n.deadline.Store(0)
	n.m.usable.Set(0)
	n.flush(what)
	closed := n.closed
	n.mu.Unlock()
	if was && !closed {
		n.log.Info("near cache off", zap.String("lost", what), zap.NamedError("reason", reason))
	}
	n.release(tok)
}

// release removes a lease token from the registry. If that fails, the next join removes it;
// until then writers wait for it (or revoke it) as for any silent instance. Only tokens whose
// near cache has been flushed are released: a writer that sees a lease gone stops waiting.
func (n *Near) release(tok string) {
	if tok == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), max(n.ackTimeout, 100*time.Millisecond))
	defer cancel()
	if err := n.client.ZRem(ctx, n.regKey, tok).Err(); err != nil {
		n.mu.Lock()
		if len(n.unreleased) < 100 { // beyond, let them run out
			n.unreleased = append(n.unreleased, tok)
		}
		n.mu.Unlock()
	}
}

// heartbeatLoop takes and renews the lease, every Heartbeat and at once when kicked.
func (n *Near) heartbeatLoop(ctx context.Context) {
	defer n.wg.Done()
	t := time.NewTicker(n.heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-n.kick:
		}
		n.beat(ctx)
		if n.usable(n.mono()) {
			n.m.usable.Set(1)
		} else {
			n.m.usable.Set(0)
		}
	}
}

// beat takes the lease (after a new subscription) or renews it. The deadline counts from when
// the request was sent: Redis extended the lease after that, so the near cache stops before
// the lease runs out, by at least LeaseTTL−ServeFor.
func (n *Near) beat(ctx context.Context) {
	n.mu.Lock()
	sub, tok, joined := n.subscribed, n.token, n.joined
	old := n.unreleased
	n.mu.Unlock()
	if !sub || tok == "" {
		return
	}
	// A renewal that takes longer than ServeFor would extend nothing.
	cctx, cancel := context.WithTimeout(ctx, n.serveFor)
	defer cancel()
	sent := n.mono()
	ttl := n.leaseTTL.Milliseconds()
	if !joined {
		args := append([]any{tok, ttl}, toAny(old)...)
		ok, err := n.scripts.join.Run(cctx, n.client, []string{n.regKey}, args...).Bool()
		if err != nil {
			return // retried next beat, with the same token: the join may have happened
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		n.unreleased = n.unreleased[len(old):]
		if n.token != tok || !n.subscribed || n.closed {
			return
		}
		if !ok {
			// The token was revoked before this instance knew it had joined: a new one.
			n.token = n.id + "." + randomHex(8)
			select {
			case n.kick <- struct{}{}:
			default:
			}
			return
		}
		n.flush("join")
		n.joined = true
		n.deadline.Store(sent + int64(n.serveFor))
		n.log.Info("near cache on")
		return
	}
	ok, err := n.scripts.renew.Run(cctx, n.client, []string{n.regKey}, tok, ttl).Bool()
	if err != nil {
		return // the deadline runs out by itself if this goes on
	}
	if !ok {
		// Revoked (an invalidation went unacknowledged) or run out: off at once, and start
		// over with a new subscription, since the old one may be what lost the message.
		n.mu.Lock()
		ps := n.ps
		current := n.token == tok
		if current {
			n.deadline.Store(0)
			n.flush("lease")
		}
		n.mu.Unlock()
		if current && ps != nil {
			n.log.Info("near cache: lease lost; resubscribing")
			_ = ps.Close() // receive fails, and lose() gives the token back
		}
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.token != tok || !n.joined || n.closed {
		return
	}
	if n.mono() >= n.deadline.Load() {
		// The near cache was off for a while (renewals failed): start it empty.
		n.flush("lease")
	}
	n.deadline.Store(sent + int64(n.serveFor))
}

// Close stops the goroutines, empties the near cache and gives the lease back. Get and
// Invalidate keep working, through the Aside (Invalidate still broadcasts to the others).
func (n *Near) Close() {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.closed = true
	n.deadline.Store(0)
	ps := n.ps
	n.mu.Unlock()
	n.cancel()
	if ps != nil {
		_ = ps.Close()
	}
	n.wg.Wait()
	n.mu.Lock()
	tok := n.token
	n.token, n.joined, n.subscribed = "", false, false
	n.flush("close")
	n.m.usable.Set(0)
	n.mu.Unlock()
	n.release(tok)
}

// nearScripts are the lease registry's Lua scripts. The registry is one sorted set (one key:
// one Redis Cluster slot): member a lease token, score its expiry in Redis milliseconds, negated
// once revoked; the member "~since" says from when the set can be trusted (0: it can). Time is
// Redis's (TIME), so that every instance and writer compares expiries on one clock.
type nearScripts struct {
	join, renew, status, revoke *redis.Script
}

const nearLuaPrelude = `
if redis.replicate_commands then redis.replicate_commands() end
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- A registry created now may have lost leases that are still being served (Redis restarted
-- empty, the key was evicted): it becomes trustworthy one lease TTL later.
local function ensure(key, t, ttl)
  local s = redis.call('ZSCORE', key, '` + nearSince + `')
  if not s then
    redis.call('ZADD', key, t + ttl, '` + nearSince + `')
  elseif tonumber(s) > 0 and tonumber(s) <= t then
    redis.call('ZADD', key, 0, '` + nearSince + `')
  end
end
`

func newNearScripts() nearScripts {
	return nearScripts{
		// KEYS[1] registry; ARGV[1] token, ARGV[2] lease TTL ms, ARGV[3..] old tokens of this
		// instance to remove. 0: the token was revoked. Also prunes leases that ran out (never
		// "~since", whose score is then 0).
		join: redis.NewScript(nearLuaPrelude + `
local t = now()
local ttl = tonumber(ARGV[2])
ensure(KEYS[1], t, ttl)
for i = 3, #ARGV do redis.call('ZREM', KEYS[1], ARGV[i]) end
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if s and tonumber(s) < 0 then return 0 end
redis.call('ZADD', KEYS[1], t + ttl, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '(0', '(' .. t)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '(' .. -t, '(0')
return 1`),
		// KEYS[1] registry; ARGV[1] token, ARGV[2] lease TTL ms. 0: gone, run out or revoked.
		renew: redis.NewScript(nearLuaPrelude + `
local t = now()
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not s or tonumber(s) <= t then return 0 end
redis.call('ZADD', KEYS[1], t + tonumber(ARGV[2]), ARGV[1])
return 1`),
		// KEYS[1] registry; ARGV[1] lease TTL ms, ARGV[2] channel ('' : none), ARGV[3] message.
		// Returns now, since, then token, score pairs of the leases not run out (live and
		// revoked); publishes after reading, atomically with it.
		status: redis.NewScript(nearLuaPrelude + `
local t = now()
ensure(KEYS[1], t, tonumber(ARGV[1]))
local out = {string.format('%d', t), redis.call('ZSCORE', KEYS[1], '` + nearSince + `')}
local live = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. t, '+inf', 'WITHSCORES')
for i = 1, #live do out[#out + 1] = live[i] end
local revoked = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. -t, 'WITHSCORES')
for i = 1, #revoked do out[#out + 1] = revoked[i] end
if ARGV[2] ~= '' then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return out`),
		// KEYS[1] registry; ARGV[1] token. Revokes a live lease (it can no longer be renewed)
		// and returns the ms until it runs out; 0 if it is gone or has run out.
		revoke: redis.NewScript(nearLuaPrelude + `
local t = now()
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not s then return 0 end
s = tonumber(s)
if s > t then
  redis.call('ZADD', KEYS[1], -s, ARGV[1])
  return s - t
end
if s < 0 and -s > t then return -s - t end
return 0`),
	}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather)
	return hex.EncodeToString(b)
}

// nearMetrics are a Near's metrics, label values bound once.
type nearMetrics struct {
	hit, miss, bypass prometheus.Counter
	usable            prometheus.Gauge
	wait              prometheus.Observer
	revocations       prometheus.Counter
	flushes           *prometheus.CounterVec // curried with the cache label; by reason
}

func newNearMetrics(reg *prometheus.Registry, name string) nearMetrics {
	requests := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "partnerhub_cache_near_requests_total",
		Help: "Reads of the in-process near cache by result: hit, miss (read through the shared cache), bypass (the near cache is off: no lease, no subscription or the shared cache degraded).",
	}, []string{"cache", "result"}))
	usable := register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "partnerhub_cache_near_usable",
		Help: "1 while the near cache is in use (updated every heartbeat), else 0.",
	}, []string{"cache"}))
	wait := register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "partnerhub_cache_near_invalidate_wait_seconds",
		Help:    "Time an invalidation spent publishing and waiting for the other instances' acknowledgements (or their leases to run out).",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"cache"}))
	revocations := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "partnerhub_cache_near_revocations_total",
		Help: "Leases of other instances revoked because they did not acknowledge an invalidation in time; each cost the write up to a lease TTL.",
	}, []string{"cache"}))
	flushes := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "partnerhub_cache_near_flushes_total",
		Help: "Times the near cache was emptied, by reason: subscription, lease, join, degraded, message, close.",
	}, []string{"cache", "reason"}))
	return nearMetrics{
		hit:         requests.WithLabelValues(name, "hit"),
		miss:        requests.WithLabelValues(name, "miss"),
		bypass:      requests.WithLabelValues(name, "bypass"),
		usable:      usable.WithLabelValues(name),
		wait:        wait.WithLabelValues(name),
		revocations: revocations.WithLabelValues(name),
		flushes:     flushes.MustCurryWith(prometheus.Labels{"cache": name}),
	}
}
