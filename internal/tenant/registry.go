package tenant

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Errors of Authenticate. Both are answered with 401; the messages are safe to show to clients.
var (
	ErrMissingKey = errors.New("missing API key: send Authorization: Bearer KEY")
	ErrUnknownKey = errors.New("invalid API key")
)

// ErrNotFound is Delete's and Replace's error for a tenant that does not exist.
var ErrNotFound = errors.New("tenant: no such tenant")

// Registry is the node's current tenancy. Reads (Authenticate, IsAdmin, Get) take no lock; changes are
// serialized among themselves and publish a new snapshot.
type Registry struct {
	mu   sync.Mutex // serializes changes
	snap atomic.Pointer[snapshot]
	// persist, when set, saves each changed tenancy before it is published; its error refuses the change.
	persist func(Config) error
}

// snapshot is one immutable state of the registry.
type snapshot struct {
	cfg    Config
	byKey  map[[32]byte]*Tenant
	byName map[string]*Tenant
	admin  [32]byte
}

// New returns a registry holding cfg, after validating it.
func New(cfg Config) (*Registry, error) {
	s, err := newSnapshot(cfg, nil)
	if err != nil {
		return nil, err
	}
	r := &Registry{}
	r.snap.Store(s)
	return r, nil
}

// incarnations numbers the tenants a process has made.
var incarnations atomic.Uint64

// newSnapshot validates cfg and indexes a copy of it. A tenant that prev (nil: none) has under its name
// keeps its incarnation; any other is a new tenant.
func newSnapshot(cfg Config, prev *snapshot) (*snapshot, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = clone(cfg)
	for i := range cfg.Tenants {
		t := &cfg.Tenants[i]
		if old := prev.tenant(t.Name); old != nil {
			t.incarnation = old.incarnation
		} else {
			t.incarnation = incarnations.Add(1)
		}
	}
	s := &snapshot{cfg: cfg, byKey: map[[32]byte]*Tenant{}, byName: map[string]*Tenant{}}
	if cfg.Admin.KeySHA256 != "" {
		s.admin, _ = parseHash(cfg.Admin.KeySHA256)
	}
	for i := range s.cfg.Tenants {
		t := &s.cfg.Tenants[i]
		s.byName[t.Name] = t
		for _, k := range t.KeySHA256 {
			h, _ := parseHash(k)
			s.byKey[h] = t
		}
	}
	return s, nil
}

// tenant returns the snapshot's tenant called name, or nil (also for a nil snapshot).
func (s *snapshot) tenant(name string) *Tenant {
	if s == nil {
		return nil
	}
	return s.byName[name]
}

// clone copies cfg deeply enough that the caller's slices are not shared.
func clone(cfg Config) Config {
	cfg.Tenants = slices.Clone(cfg.Tenants)
	for i := range cfg.Tenants {
		cfg.Tenants[i].KeySHA256 = slices.Clone(cfg.Tenants[i].KeySHA256)
	}
	return cfg
}

// Persist makes every later change be saved by save (e.g. into the node's store) before it takes effect; a
// change that cannot be saved is refused with save's error.
func (r *Registry) Persist(save func(Config) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.persist = save
}

// Open reports whether the node has no tenants and no admin key: then anyone who reaches it may generate,
// as before tenancy existed.
func (r *Registry) Open() bool { return r.snap.Load().open() }

// open reports whether the snapshot leaves the node open: no tenants and no admin key. A node with an
// admin key stays closed when its last tenant is deleted (only the admin may then use it): deleting
// tenants must never open a node to anyone who reaches it.
func (s *snapshot) open() bool { return len(s.byName) == 0 && s.cfg.Admin.KeySHA256 == "" }

// HasAdmin reports whether an admin key is configured (without one the admin API is off).
func (r *Registry) HasAdmin() bool { return r.snap.Load().cfg.Admin.KeySHA256 != "" }

// Authenticate returns the tenant whose key the Authorization header value carries ("Bearer KEY"). On an
// open node it returns nil and no error whatever the header says.
func (r *Registry) Authenticate(authorization []byte) (*Tenant, error) {
	s := r.snap.Load()
	if s.open() {
		return nil, nil
	}
	key, ok := bearer(authorization)
	if !ok {
		return nil, ErrMissingKey
	}
	t := s.byKey[sha256.Sum256(key)]
	if t == nil {
		return nil, ErrUnknownKey
	}
	return t, nil
}

// IsAdmin reports whether the Authorization header value carries the admin key.
func (r *Registry) IsAdmin(authorization []byte) bool {
	s := r.snap.Load()
	key, ok := bearer(authorization)
	if !ok || s.cfg.Admin.KeySHA256 == "" {
		return false
	}
	h := sha256.Sum256(key)
	return subtle.ConstantTimeCompare(h[:], s.admin[:]) == 1
}

// bearer extracts KEY from "Bearer KEY" (the scheme in any case, spaces around the key ignored).
func bearer(v []byte) ([]byte, bool) {
	const scheme = "bearer "
	if len(v) <= len(scheme) || !strings.EqualFold(string(v[:len(scheme)]), scheme) {
		return nil, false
	}
	key := bytes.TrimSpace(v[len(scheme):])
	return key, len(key) > 0
}

// Get returns a copy of the tenant called name.
func (r *Registry) Get(name string) (Tenant, bool) {
	t := r.snap.Load().byName[name]
	if t == nil {
		return Tenant{}, false
	}
	return clone(Config{Tenants: []Tenant{*t}}).Tenants[0], true
}

// Config returns a copy of the whole tenancy, tenants in the order they were added.
func (r *Registry) Config() Config { return clone(r.snap.Load().cfg) }

// Put adds the tenant, or replaces the one with its name, and reports whether it was new.
func (r *Registry) Put(t Tenant) (created bool, err error) {
	err = r.change(func(c *Config) error {
		i := slices.IndexFunc(c.Tenants, func(x Tenant) bool { return x.Name == t.Name })
		if i < 0 {
			c.Tenants = append(c.Tenants, t)
			created = true
		} else {
			c.Tenants[i] = t
		}
		return nil
	})
	return created, err
}

// Delete removes the tenant called name.
func (r *Registry) Delete(name string) error {
	return r.change(func(c *Config) error {
		i := slices.IndexFunc(c.Tenants, func(x Tenant) bool { return x.Name == name })
		if i < 0 {
			return fmt.Errorf("%w: %q", ErrNotFound, name)
		}
		c.Tenants = slices.Delete(c.Tenants, i, i+1)
		return nil
	})
}

// Replace swaps in a whole new tenancy (a reloaded configuration file, or the store's copy at start).
func (r *Registry) Replace(cfg Config) error {
	return r.change(func(c *Config) error { *c = clone(cfg); return nil })
}

// change applies edit to a copy of the current tenancy and publishes it if it validates.
func (r *Registry) change(edit func(*Config) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	prev := r.snap.Load()
	cfg := clone(prev.cfg)
	if err := edit(&cfg); err != nil {
		return err
	}
	s, err := newSnapshot(cfg, prev)
	if err != nil {
		return err
	}
	if r.persist != nil {
		if err := r.persist(clone(cfg)); err != nil {
			return err
		}
	}
	r.snap.Store(s)
	return nil
}
