package tenant

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// Published SHA-256 test vectors (FIPS 180-2, appendix B): "abc" and the empty string.
const (
	shaABC   = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	shaEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	shaAdmin = "8c6976e5b5410415bde908bd4dee15dfb167a9c873fc4bb8a81f6f2ab448a918" // sha256("admin"), by sha256sum
)

// The example configuration, as an operator writes it in the node's TOML file.
const exampleTOML = `
[admin]
key_sha256 = "` + shaAdmin + `"

[[tenants]]
name = "acme"
key_sha256 = ["` + shaABC + `"]
requests_per_minute = 600
tokens_per_minute = 200000
max_concurrent = 8
plugin_step_timeout = "100ms"
`

func exampleRegistry(t *testing.T) *Registry {
	t.Helper()
	var c Config
	md, err := toml.Decode(exampleTOML, &c)
	if err != nil {
		t.Fatal(err)
	}
	if u := md.Undecoded(); len(u) > 0 {
		t.Fatalf("undecoded keys %v", u)
	}
	r, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDecodeExample(t *testing.T) {
	got, ok := exampleRegistry(t).Get("acme")
	if !ok {
		t.Fatal("no tenant acme")
	}
	want := Limits{RequestsPerMinute: 600, TokensPerMinute: 200000, MaxConcurrent: 8, PluginStepTimeout: Duration(100 * time.Millisecond)}
	if got.Limits != want || len(got.KeySHA256) != 1 {
		t.Fatalf("acme = %+v", got)
	}
}

func TestAuthenticate(t *testing.T) {
	r := exampleRegistry(t)
	for _, c := range []struct {
		header string
		tenant string
		err    error
	}{
		{"Bearer abc", "acme", nil},
		{"bearer abc", "acme", nil},
		{"BEARER   abc  ", "acme", nil},
		{"Bearer abd", "", ErrUnknownKey},
		{"Bearer admin", "", ErrUnknownKey}, // the admin key is not a tenant's
		{"", "", ErrMissingKey},
		{"Bearer ", "", ErrMissingKey},
		{"Basic abc", "", ErrMissingKey},
		{"abc", "", ErrMissingKey},
	} {
		got, err := r.Authenticate([]byte(c.header))
		if !errors.Is(err, c.err) || (c.tenant == "") != (got == nil) || (got != nil && got.Name != c.tenant) {
			t.Errorf("Authenticate(%q) = %v, %v; want %q, %v", c.header, got, err, c.tenant, c.err)
		}
	}
	if !r.IsAdmin([]byte("Bearer admin")) || r.IsAdmin([]byte("Bearer abc")) || r.IsAdmin(nil) {
		t.Error("IsAdmin answers wrongly")
	}
}

// With no tenants the node stays open: every request passes, whatever it sends.
func TestOpenNode(t *testing.T) {
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Open() || r.HasAdmin() {
		t.Fatal("an empty registry is not open")
	}
	if ten, err := r.Authenticate([]byte("Bearer whatever")); ten != nil || err != nil {
		t.Fatalf("open node: %v, %v", ten, err)
	}
	if r.IsAdmin([]byte("Bearer ")) || r.IsAdmin([]byte("Bearer x")) {
		t.Fatal("a node without an admin key has an admin")
	}
}

func TestValidate(t *testing.T) {
	ok := Tenant{Name: "acme", KeySHA256: []string{shaABC}}
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"bad name", Config{Tenants: []Tenant{{Name: "Acme!", KeySHA256: []string{shaABC}}}}, `tenant "Acme!": name: use 1 to 63`},
		{"empty name", Config{Tenants: []Tenant{{KeySHA256: []string{shaABC}}}}, `tenant "": name:`},
		{"no key", Config{Tenants: []Tenant{{Name: "a"}}}, "key_sha256: lists no key"},
		{"short hash", Config{Tenants: []Tenant{{Name: "a", KeySHA256: []string{"abc"}}}}, "key_sha256[0]: want 64 hex digits"},
		{"not hex", Config{Tenants: []Tenant{{Name: "a", KeySHA256: []string{strings.Repeat("g", 64)}}}}, "key_sha256[0]: not hexadecimal"},
		{"negative", Config{Tenants: []Tenant{{Name: "a", KeySHA256: []string{shaABC}, Limits: Limits{MaxConcurrent: -1}}}}, "max_concurrent: must not be negative"},
		{"memory", Config{Tenants: []Tenant{{Name: "a", KeySHA256: []string{shaABC}, Limits: Limits{PluginMemoryMB: 5000}}}}, "plugin_memory_mb"},
		{"twice", Config{Tenants: []Tenant{ok, ok}}, "name: is defined twice"},
		{"shared key", Config{Tenants: []Tenant{ok, {Name: "b", KeySHA256: []string{shaABC}}}}, `tenant "b": key_sha256[0]: tenant "acme" has this key too`},
		{"admin key", Config{Admin: Admin{KeySHA256: shaABC}, Tenants: []Tenant{ok}}, "key_sha256[0]: is the admin key's hash"},
		{"admin hash", Config{Admin: Admin{KeySHA256: "x"}}, "admin.key_sha256: want 64 hex digits"},
	} {
		_, err := New(c.cfg)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an ErrInvalid naming %q", c.name, err, c.want)
		}
	}
}

func TestPutDelete(t *testing.T) {
	r := exampleRegistry(t)
	if created, err := r.Put(Tenant{Name: "beta", KeySHA256: []string{shaEmpty}}); err != nil || !created {
		t.Fatalf("Put beta: %v %v", created, err)
	}
	if ten, err := r.Authenticate([]byte("Bearer abc")); err != nil || ten.Name != "acme" {
		t.Fatalf("acme after Put: %v %v", ten, err)
	}
	// Replacing acme's keys revokes the old key at once.
	if created, err := r.Put(Tenant{Name: "acme", KeySHA256: []string{strings.Repeat("0", 63) + "1"}}); err != nil || created {
		t.Fatalf("Put acme: %v %v", created, err)
	}
	if _, err := r.Authenticate([]byte("Bearer abc")); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("revoked key still works: %v", err)
	}
	// A change that would break the configuration is refused, and nothing changes.
	if _, err := r.Put(Tenant{Name: "gamma", KeySHA256: []string{shaAdmin}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("tenant with the admin key: %v", err)
	}
	if _, ok := r.Get("gamma"); ok {
		t.Fatal("refused tenant was kept")
	}
	if err := r.Delete("beta"); err != nil {
		t.Fatal(err)
	}
	if err := r.Delete("beta"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete twice: %v", err)
	}
	if len(r.Config().Tenants) != 1 {
		t.Fatalf("tenants left: %+v", r.Config().Tenants)
	}
}

// Readers never see a half-applied change (run with -race in make test's race pass, if any).
func TestConcurrentReadsDuringChanges(t *testing.T) {
	r := exampleRegistry(t)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if ten, err := r.Authenticate([]byte("Bearer abc")); err != nil || ten.Name != "acme" {
					t.Errorf("acme lost during changes: %v %v", ten, err)
					return
				}
			}
		}()
	}
	for i := range 200 {
		name := []string{"x", "y"}[i%2]
		if _, err := r.Put(Tenant{Name: name, KeySHA256: []string{shaEmpty}}); err != nil {
			t.Fatal(err)
		}
		if err := r.Delete(name); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}

// A change the store cannot save does not take effect; one it saves does, and the store gets the new tenancy.
func TestPersist(t *testing.T) {
	r := exampleRegistry(t)
	var saved []Config
	fail := errors.New("disk full")
	r.Persist(func(c Config) error {
		if len(c.Tenants) > 2 {
			return fail
		}
		saved = append(saved, c)
		return nil
	})
	if _, err := r.Put(Tenant{Name: "beta", KeySHA256: []string{shaEmpty}}); err != nil {
		t.Fatal(err)
	}
	if len(saved) != 1 || len(saved[0].Tenants) != 2 || saved[0].Tenants[1].Name != "beta" {
		t.Fatalf("saved %+v", saved)
	}
	if _, err := r.Put(Tenant{Name: "gamma", KeySHA256: []string{strings.Repeat("1", 64)}}); !errors.Is(err, fail) {
		t.Fatalf("unsaved change: %v", err)
	}
	if _, ok := r.Get("gamma"); ok {
		t.Fatal("a change the store refused took effect")
	}
}

// A validation error names its field as the configuration spells it, for the admin API's param.
func TestFieldError(t *testing.T) {
	for _, c := range []struct {
		cfg           Config
		tenant, field string
		admin         bool
	}{
		{Config{Tenants: []Tenant{{Name: "a", KeySHA256: []string{shaABC, "x"}}}}, "a", "key_sha256[1]", false},
		{Config{Tenants: []Tenant{{Name: "a", KeySHA256: []string{shaABC}, Limits: Limits{TokensPerMinute: -5}}}}, "a", "tokens_per_minute", false},
		{Config{Tenants: []Tenant{{Name: "-a", KeySHA256: []string{shaABC}}}}, "-a", "name", false},
		{Config{Admin: Admin{KeySHA256: shaEmpty}, Tenants: []Tenant{{Name: "a", KeySHA256: []string{shaABC, shaEmpty}}}}, "a", "key_sha256[1]", false},
		{Config{Admin: Admin{KeySHA256: "zz"}}, "", "key_sha256", true},
	} {
		err := c.cfg.Validate()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Tenant != c.tenant || fe.Field != c.field || fe.Admin != c.admin {
			t.Errorf("%+v: %v, want a FieldError for %q's %s", c.cfg, err, c.tenant, c.field)
		}
	}
}

// Deleting the last tenant of a node with an admin key leaves it closed: nobody but the admin gets in.
// Only a node with neither tenants nor an admin key is open.
func TestDeletingLastTenantKeepsNodeClosed(t *testing.T) {
	r := exampleRegistry(t)
	if err := r.Delete("acme"); err != nil {
		t.Fatal(err)
	}
	if r.Open() {
		t.Fatal("deleting the last tenant opened the node")
	}
	if ten, err := r.Authenticate(nil); ten != nil || !errors.Is(err, ErrMissingKey) {
		t.Fatalf("no key after the last tenant went: %v, %v", ten, err)
	}
	if ten, err := r.Authenticate([]byte("Bearer abc")); ten != nil || !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("the deleted tenant's key: %v, %v", ten, err)
	}
	if !r.IsAdmin([]byte("Bearer admin")) {
		t.Fatal("the admin lost access")
	}
	adminOnly, err := New(Config{Admin: Admin{KeySHA256: shaAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	if adminOnly.Open() {
		t.Fatal("a node with an admin key and no tenants is open")
	}
}

// A tenant keeps its ID while its keys or limits change; deleted and made again under its name, it is
// another tenant with another ID (so it inherits none of the old one's cache or plugin instances).
func TestIDSurvivesReplaceNotDelete(t *testing.T) {
	r := exampleRegistry(t)
	first, _ := r.Get("acme")
	if _, err := r.Put(Tenant{Name: "acme", KeySHA256: []string{shaEmpty}, Limits: Limits{MaxConcurrent: 1}}); err != nil {
		t.Fatal(err)
	}
	replaced, _ := r.Get("acme")
	if replaced.ID() != first.ID() || !strings.HasPrefix(first.ID(), "acme#") {
		t.Fatalf("replacing acme's keys changed its ID: %s → %s", first.ID(), replaced.ID())
	}
	if err := r.Delete("acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Put(Tenant{Name: "acme", KeySHA256: []string{shaABC}}); err != nil {
		t.Fatal(err)
	}
	again, _ := r.Get("acme")
	if again.ID() == first.ID() {
		t.Fatalf("a new tenant under a deleted one's name has its ID %s", again.ID())
	}
	other, err := New(Config{Tenants: []Tenant{{Name: "acme", KeySHA256: []string{shaABC}}}})
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := other.Get("acme"); o.ID() == again.ID() || o.ID() == first.ID() {
		t.Fatalf("two registries' tenants share an ID: %s", o.ID())
	}
}
