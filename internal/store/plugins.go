package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/golang/snappy"
	bolt "go.etcd.io/bbolt"
)

// Version is one uploaded module of a plugin, with what it was uploaded with. IDs count up from 1 per
// plugin and are never reused.
type Version struct {
	ID       uint64    `json:"id"`
	SHA256   string    `json:"sha256"` // of the module, hex
	Size     int       `json:"size"`   // of the module, bytes
	Tag      string    `json:"tag,omitempty"`
	Message  string    `json:"message,omitempty"`
	Created  time.Time `json:"created"`
	Manifest Manifest  `json:"manifest"`
}

// Share is one version's part of a deployment's traffic.
type Share struct {
	Version    uint64 `json:"version_id"`
	Percentage int    `json:"percentage"`
}

// Deployment routes a plugin's requests: one version with 100%, or two that split the traffic (Cloudflare's
// gradual deployments). Empty: nothing is deployed.
type Deployment struct {
	Versions []Share `json:"versions"`
}

// Plugin is a plugin's record.
type Plugin struct {
	Name       string      `json:"name"`
	Deployment Deployment  `json:"deployment"`
	Previous   *Deployment `json:"previous,omitempty"` // what rollback without a version returns to
	NextID     uint64      `json:"next_version_id"`
	Created    time.Time   `json:"created"`
	Updated    time.Time   `json:"updated"`
}

// uses reports whether a deployment (current or previous) of p routes to version id.
func (p *Plugin) uses(id uint64) bool {
	in := func(d *Deployment) bool {
		return d != nil && slices.ContainsFunc(d.Versions, func(s Share) bool { return s.Version == id })
	}
	return in(&p.Deployment) || in(p.Previous)
}

// main is the version with the largest share of the deployment (the first of equals), 0 when none.
func (d Deployment) main() uint64 {
	var best Share
	for _, s := range d.Versions {
		if s.Percentage > best.Percentage {
			best = s
		}
	}
	return best.Version
}

// moduleRef is a tenant's entry for a module: how many of its versions use it, and the limits of the
// latest version that did (a sha256: reference runs under them).
type moduleRef struct {
	Versions int          `json:"versions"`
	Limits   PluginLimits `json:"limits,omitzero"`
}

// tagPattern is a version tag: it starts with a letter, so NAME@12 is always version 12.
var tagPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.+-]{0,63}$`)

// maxMessage bounds a version's message.
const maxMessage = 1024

// DeployRequest is one upload: a module for a tenant's plugin, and how much traffic it gets.
type DeployRequest struct {
	Tenant   string // "" on an open node
	Manifest Manifest
	Module   []byte
	Tag      string
	Message  string
	// Percentage of the plugin's traffic the new version gets: 100 makes it the whole deployment; 1 to 99
	// splits with the current deployment's main version, which keeps the rest; 0 uploads without deploying.
	Percentage int
}

// Check checks everything about a deploy that needs no transaction (Deploy checks it too): a caller
// checks before it spends time on the module.
func (s *Store) Check(d DeployRequest) error {
	if err := d.Manifest.Validate(); err != nil {
		return err
	}
	switch {
	case d.Tag != "" && !tagPattern.MatchString(d.Tag):
		return fmt.Errorf("%w: tag %q: use up to 64 letters, digits, '.', '_', '+' and '-', starting with a letter", ErrInvalid, d.Tag)
	case len(d.Message) > maxMessage || !utf8.ValidString(d.Message):
		return fmt.Errorf("%w: message: at most %d bytes of UTF-8", ErrInvalid, maxMessage)
	case d.Percentage < 0 || d.Percentage > 100:
		return fmt.Errorf("%w: percentage %d: want 0 to 100", ErrInvalid, d.Percentage)
	case int64(len(d.Module)) > s.lim.MaxModuleBytes:
		return fmt.Errorf("%w: module of %d bytes (at most %d)", ErrTooLarge, len(d.Module), s.lim.MaxModuleBytes)
	}
	return nil
}

// Deploy stores a new version of the plugin d.Manifest.Name (creating the plugin) and deploys it as
// d.Percentage says, in one transaction; versions past MaxVersions that no deployment uses are pruned, the
// oldest first.
func (s *Store) Deploy(d DeployRequest) (Version, Plugin, error) {
	if err := s.Check(d); err != nil {
		return Version{}, Plugin{}, err
	}
	sum := sha256.Sum256(d.Module)
	v := Version{SHA256: hex.EncodeToString(sum[:]), Size: len(d.Module), Tag: d.Tag, Message: d.Message,
		Created: s.now().UTC(), Manifest: d.Manifest}
	var p Plugin
	err := s.db.Update(func(tx *bolt.Tx) error {
		tb, err := tenantBucket(tx, d.Tenant, true)
		if err != nil {
			return err
		}
		pb, created, err := s.pluginBucket(tb, d.Manifest.Name)
		if err != nil {
			return err
		}
		if p, err = readPlugin(pb); err != nil {
			return err
		}
		if created {
			p = Plugin{Name: d.Manifest.Name, NextID: 1, Created: v.Created}
		}
		if d.Percentage > 0 && d.Percentage < 100 && p.Deployment.main() == 0 {
			return fmt.Errorf("%w: plugin %q has no deployed version to split traffic with: deploy with 100%% first", ErrConflict, p.Name)
		}
		if err := s.addModule(tx, tb, sum, d.Module, d.Manifest.Limits); err != nil {
			return err
		}
		v.ID = p.NextID
		p.NextID++
		if err := putJSON(pb.Bucket(bucketVers), idKey(v.ID), v); err != nil {
			return err
		}
		switch {
		case d.Percentage == 100:
			p.deploy(Deployment{Versions: []Share{{v.ID, 100}}})
		case d.Percentage > 0:
			p.deploy(Deployment{Versions: []Share{{p.Deployment.main(), 100 - d.Percentage}, {v.ID, d.Percentage}}})
		}
		p.Updated = v.Created
		if err := s.prune(tx, tb, pb, &p); err != nil {
			return err
		}
		return putJSON(pb, keyPlugin, p)
	})
	return v, p, err
}

// deploy makes next the deployment, keeping the current one as the previous.
func (p *Plugin) deploy(next Deployment) {
	if len(p.Deployment.Versions) > 0 {
		prev := p.Deployment
		p.Previous = &prev
	}
	p.Deployment = next
}

// pluginBucket returns the plugin's bucket in the tenant's, creating it if the tenant may have one more
// plugin.
func (s *Store) pluginBucket(tb *bolt.Bucket, name string) (_ *bolt.Bucket, created bool, err error) {
	plugins := tb.Bucket(bucketPlugins)
	if pb := plugins.Bucket([]byte(name)); pb != nil {
		return pb, false, nil
	}
	if n := countKeys(plugins); n >= s.lim.MaxPlugins {
		return nil, false, fmt.Errorf("%w: the tenant has %d plugins, as many as it may (delete one first)", ErrLimit, n)
	}
	pb, err := plugins.CreateBucket([]byte(name))
	if err == nil {
		_, err = pb.CreateBucket(bucketVers)
	}
	return pb, true, err
}

// addModule counts one more version of the tenant using the module, storing the module if it is new to
// the store and checking the tenant's module limit if it is new to the tenant.
func (s *Store) addModule(tx *bolt.Tx, tb *bolt.Bucket, sum [32]byte, module []byte, lim PluginLimits) error {
	mods := tb.Bucket(bucketModules)
	var ref moduleRef
	if raw := mods.Get(sum[:]); raw != nil {
		if err := json.Unmarshal(raw, &ref); err != nil {
			return fmt.Errorf("%w: module entry %x: %v", ErrCorrupt, sum[:4], err)
		}
	} else if n := countKeys(mods); n >= s.lim.MaxModules {
		return fmt.Errorf("%w: the tenant has %d modules, as many as it may (delete plugins or versions first)", ErrLimit, n)
	}
	ref.Versions++
	ref.Limits = lim
	if err := putJSON(mods, sum[:], ref); err != nil {
		return err
	}
	all := tx.Bucket(bucketModules)
	if all.Get(sum[:]) == nil {
		return all.Put(sum[:], snappy.Encode(nil, module))
	}
	return nil
}

// dropModule counts one version fewer of the tenant using the module, and deletes the module when no
// version of any tenant uses it any more.
func dropModule(tx *bolt.Tx, tb *bolt.Bucket, sum []byte) error {
	mods := tb.Bucket(bucketModules)
	var ref moduleRef
	if err := json.Unmarshal(mods.Get(sum), &ref); err != nil {
		return fmt.Errorf("%w: module entry %x: %v", ErrCorrupt, sum[:4], err)
	}
	if ref.Versions--; ref.Versions > 0 {
		return putJSON(mods, sum, ref)
	}
	if err := mods.Delete(sum); err != nil {
		return err
	}
	c := tx.Bucket(bucketTenants).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v != nil {
			continue
		}
		if other := tx.Bucket(bucketTenants).Bucket(k).Bucket(bucketModules); other != nil && other.Get(sum) != nil {
			return nil
		}
	}
	return tx.Bucket(bucketModules).Delete(sum)
}

// prune deletes the oldest versions no deployment uses until the plugin has at most MaxVersions.
func (s *Store) prune(tx *bolt.Tx, tb, pb *bolt.Bucket, p *Plugin) error {
	vers := pb.Bucket(bucketVers)
	excess := countKeys(vers) - s.lim.MaxVersions
	var old [][]byte
	c := vers.Cursor()
	for k, _ := c.First(); k != nil && len(old) < excess; k, _ = c.Next() {
		if !p.uses(binary.BigEndian.Uint64(k)) {
			old = append(old, slices.Clone(k))
		}
	}
	for _, k := range old {
		if err := deleteVersion(tx, tb, vers, k); err != nil {
			return err
		}
	}
	return nil
}

// deleteVersion deletes one version (key k) and its use of its module.
func deleteVersion(tx *bolt.Tx, tb, vers *bolt.Bucket, k []byte) error {
	var v Version
	if err := json.Unmarshal(vers.Get(k), &v); err != nil {
		return fmt.Errorf("%w: version %x: %v", ErrCorrupt, k, err)
	}
	sum, err := hex.DecodeString(v.SHA256)
	if err != nil || len(sum) != sha256.Size {
		return fmt.Errorf("%w: version %d: bad sha256", ErrCorrupt, v.ID)
	}
	if err := vers.Delete(k); err != nil {
		return err
	}
	return dropModule(tx, tb, sum)
}

// idKey is a version's key: its id, big-endian, so keys sort as ids.
func idKey(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

// putJSON stores v as JSON under key.
func putJSON(b *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}

// readPlugin reads a plugin's record; a new bucket has none (a zero Plugin).
func readPlugin(pb *bolt.Bucket) (Plugin, error) {
	var p Plugin
	raw := pb.Get(keyPlugin)
	if raw == nil {
		return p, nil
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, fmt.Errorf("%w: plugin record: %v", ErrCorrupt, err)
	}
	return p, nil
}

// countKeys counts a bucket's entries.
func countKeys(b *bolt.Bucket) int {
	n := 0
	b.ForEach(func(_, _ []byte) error { n++; return nil })
	return n
}
