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

	incarnation uint64 // set by the Registry: a tenant deleted and made again under its name is another one
}

// ID names this tenant apart from any earlier tenant of the same name (one deleted, then made again):
// what the engine keys a tenant's prefix cache, fair share and plugin instances by, so that a new tenant
// never inherits an old one's cached prompts or plugin memory. It is stable while the tenant exists in
// this process (replacing its keys or limits keeps it).
func (t *Tenant) ID() string { return fmt.Sprintf("%s#%d", t.Name, t.incarnation) }

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
		return fmt.Errorf("%q is not a duration; write one as Go does, e.g. \"100ms\" or \"1m30s\"", b)
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

// FieldError is a validation error about one field: the tenant it belongs to (or the [admin] table) and
// the field as the configuration spells it ("key_sha256[2]", "max_concurrent"), so a configuration file's
// error and the admin API's 400 can both name it. It wraps ErrInvalid.
type FieldError struct {
	Admin  bool   // the field is the [admin] table's, not a tenant's
	Tenant string // the tenant's name, as given
	Field  string
	Reason string
}

// Error names the tenant (or admin), the field and what is wrong with it.
func (e *FieldError) Error() string {
	if e.Admin {
		return fmt.Sprintf("%v: admin.%s: %s", ErrInvalid, e.Field, e.Reason)
	}
	return fmt.Sprintf("%v: tenant %q: %s: %s", ErrInvalid, e.Tenant, e.Field, e.Reason)
}

// Unwrap returns ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// invalid is the FieldError of tenant's field.
func invalid(tenant, field, format string, args ...any) *FieldError {
	return &FieldError{Tenant: tenant, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Validate checks one tenant on its own: its name, its keys' form and its limits.
func (t *Tenant) Validate() error {
	if !namePattern.MatchString(t.Name) {
		return invalid(t.Name, "name", "use 1 to 63 lowercase letters, digits, '_' and '-', starting with a letter or digit")
	}
	if len(t.KeySHA256) == 0 {
		return invalid(t.Name, "key_sha256", "lists no key")
	}
	for i, k := range t.KeySHA256 {
		if _, err := parseHash(k); err != nil {
			return invalid(t.Name, fmt.Sprintf("key_sha256[%d]", i), "%v", err)
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
			return invalid(t.Name, f.name, "must not be negative (0 means no limit)")
		}
	}
	if l.PluginMemoryMB > 4096 {
		return invalid(t.Name, "plugin_memory_mb", "%d is over 4096 (a wasm32 memory is at most 4 GiB)", l.PluginMemoryMB)
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
			return &FieldError{Admin: true, Field: "key_sha256", Reason: err.Error()}
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
			return invalid(t.Name, "name", "is defined twice")
		}
		names[t.Name] = true
		for j, k := range t.KeySHA256 {
			h, _ := parseHash(k)
			field := fmt.Sprintf("key_sha256[%d]", j)
			if c.Admin.KeySHA256 != "" && h == admin {
				return invalid(t.Name, field, "is the admin key's hash; a tenant needs a key of its own")
			}
			if o, ok := owner[h]; ok && o != t.Name {
				return invalid(t.Name, field, "tenant %q has this key too; each key belongs to one tenant", o)
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
