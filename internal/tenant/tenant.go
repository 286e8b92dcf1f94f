// Package tenant holds who may use a node: the tenants, their API keys (kept only as SHA-256 hashes) and
// their limits, and the admin key. A Registry answers "whose key is this" with one map lookup on the key's
// hash, and changes while the node serves: each change swaps in a new immutable snapshot, so a request
// never waits on a writer.
package tenant

import (
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Limits bound what a tenant may use. A zero field means no limit of that kind (the node's own limits
// still apply).
type Limits struct {
	RequestsPerMinute int `toml:"requests_per_minute" json:"requests_per_minute,omitempty"`
	TokensPerMinute   int `toml:"tokens_per_minute" json:"tokens_per_minute,omitempty"` // prompt + generated
	MaxConcurrent     int `toml:"max_concurrent" json:"max_concurrent,omitempty"`       // requests in flight
	MaxTokens         int `toml:"max_tokens" json:"max_tokens,omitempty"`               // largest max_tokens a request may ask

	PluginMemoryMB    int      `toml:"plugin_memory_mb" json:"plugin_memory_mb,omitempty"`       // linear memory of one plugin instance
	PluginStepTimeout Duration `toml:"plugin_step_timeout" json:"plugin_step_timeout,omitempty"` // one policy step, e.g. "100ms"
	PluginCPUBudget   Duration `toml:"plugin_cpu_budget" json:"plugin_cpu_budget,omitempty"`     // all of a request's plugin calls, e.g. "10s"
}

// Tenant is one tenant: its name, the hashes of its API keys, and its limits.
type Tenant struct {
	Name      string   `toml:"name" json:"name"`
	KeySHA256 []string `toml:"key_sha256" json:"key_sha256"` // hex SHA-256 of each key; the keys themselves are never stored
	Limits
}

// Admin holds the hash of the key that may manage the node (tenants, every tenant's plugins).
type Admin struct {
	KeySHA256 string `toml:"key_sha256" json:"key_sha256"`
}

// Config is a node's tenancy: the [admin] table and the [[tenants]] array of its configuration file.
type Config struct {
	Admin   Admin    `toml:"admin" json:"admin"`
	Tenants []Tenant `toml:"tenants" json:"tenants"`
}

// Duration is a time.Duration written as Go writes one ("100ms", "1m30s") in TOML and JSON.
type Duration time.Duration

// UnmarshalText parses a duration string; a bare number is refused, as it would be nanoseconds.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration as time.Duration.String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// namePattern is what a tenant may be called: it appears in URLs, metrics labels and logs.
var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ErrInvalid wraps every validation error of a Config or Tenant.
var ErrInvalid = errors.New("tenant: invalid")

// Validate checks one tenant on its own: its name, its keys' form and its limits.
func (t *Tenant) Validate() error {
	if !namePattern.MatchString(t.Name) {
		return fmt.Errorf("%w: tenant name %q: use 1 to 63 lowercase letters, digits, '_' and '-', starting with a letter or digit", ErrInvalid, t.Name)
	}
	if len(t.KeySHA256) == 0 {
		return fmt.Errorf("%w: tenant %q: key_sha256 lists no key", ErrInvalid, t.Name)
	}
	for i, k := range t.KeySHA256 {
		if _, err := parseHash(k); err != nil {
			return fmt.Errorf("%w: tenant %q: key_sha256[%d]: %v", ErrInvalid, t.Name, i, err)
		}
	}
	l := &t.Limits
	for _, f := range []struct {
		name string
		v    int64
	}{{"requests_per_minute", int64(l.RequestsPerMinute)}, {"tokens_per_minute", int64(l.TokensPerMinute)},
		{"max_concurrent", int64(l.MaxConcurrent)}, {"max_tokens", int64(l.MaxTokens)},
		{"plugin_memory_mb", int64(l.PluginMemoryMB)}, {"plugin_step_timeout", int64(l.PluginStepTimeout)},
		{"plugin_cpu_budget", int64(l.PluginCPUBudget)}} {
		if f.v < 0 {
			return fmt.Errorf("%w: tenant %q: %s is negative", ErrInvalid, t.Name, f.name)
		}
	}
	if l.PluginMemoryMB > 4096 {
		return fmt.Errorf("%w: tenant %q: plugin_memory_mb %d is over 4096 (a wasm32 memory is at most 4 GiB)", ErrInvalid, t.Name, l.PluginMemoryMB)
	}
	return nil
}

// Validate checks the whole configuration: every tenant, unique names, and every key hash belonging to one
// tenant only and not to the admin.
func (c *Config) Validate() error {
	var admin [32]byte
	if c.Admin.KeySHA256 != "" {
		h, err := parseHash(c.Admin.KeySHA256)
		if err != nil {
			return fmt.Errorf("%w: admin.key_sha256: %v", ErrInvalid, err)
		}
		admin = h
	}
	names := map[string]bool{}
	owner := map[[32]byte]string{}
	for i := range c.Tenants {
		t := &c.Tenants[i]
		if err := t.Validate(); err != nil {
			return err
		}
		if names[t.Name] {
			return fmt.Errorf("%w: tenant %q is defined twice", ErrInvalid, t.Name)
		}
		names[t.Name] = true
		for _, k := range t.KeySHA256 {
			h, _ := parseHash(k)
			if c.Admin.KeySHA256 != "" && h == admin {
				return fmt.Errorf("%w: tenant %q has the admin key", ErrInvalid, t.Name)
			}
			if o, ok := owner[h]; ok && o != t.Name {
				return fmt.Errorf("%w: tenants %q and %q share a key", ErrInvalid, o, t.Name)
			}
			owner[h] = t.Name
		}
	}
	return nil
}

// parseHash reads a hex SHA-256 (64 hex digits, either case).
func parseHash(s string) ([32]byte, error) {
	var h [32]byte
	if len(s) != 64 {
		return h, fmt.Errorf("want 64 hex digits (a SHA-256), got %d characters", len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, errors.New("not hexadecimal")
	}
	return h, nil
}
