package store

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// crashEnv names the store file the helper process deploys into; without it TestHelperProcess does
// nothing.
const crashEnv = "WASMOE_STORE_CRASH_HELPER"

// TestHelperProcess is the process TestKillDuringDeploy kills: it deploys versions of 256 KiB random
// modules in a loop (whole deployments, splits, uploads), and prints each version's id once its
// transaction has committed.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("the helper process of TestKillDuringDeploy")
	}
	s, err := Open(path, Limits{MaxVersions: 5})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	rng := rand.New(rand.NewPCG(uint64(os.Getpid()), 1))
	for {
		mod := make([]byte, 256<<10)
		for i := range mod {
			mod[i] = byte(rng.Uint32())
		}
		copy(mod, "\x00asm\x01\x00\x00\x00")
		pct := []int{100, 10, 0}[rng.IntN(3)]
		v, _, err := s.Deploy(DeployRequest{Manifest: Manifest{Name: "p"}, Module: mod, Percentage: pct})
		if errors.Is(err, ErrConflict) { // a split before anything is deployed
			v, _, err = s.Deploy(DeployRequest{Manifest: Manifest{Name: "p"}, Module: mod, Percentage: 100})
		}
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(v.ID)
	}
}

// kill -9 during deploys loses nothing committed and leaves nothing half-written: after each kill the
// store opens, every version's module decodes and hashes to its sha256, the deployment names stored
// versions, and every version the process reported committed is there.
func TestKillDuringDeploy(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	path := filepath.Join(t.TempDir(), "wasmoe.db")
	rng := rand.New(rand.NewPCG(1, 2))
	var committed uint64
	for round := range 6 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		kill := time.After(time.Duration(50+rng.IntN(300)) * time.Millisecond)
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("round %d: the helper ended: %v", round, cmd.Wait())
				}
				id, err := strconv.ParseUint(l, 10, 64)
				if err != nil {
					t.Fatalf("round %d: the helper says %q", round, l)
				}
				committed = max(committed, id)
			case <-kill:
				cmd.Process.Signal(syscall.SIGKILL)
				break read
			}
		}
		for l := range lines { // versions reported before the kill committed too
			if id, err := strconv.ParseUint(l, 10, 64); err == nil {
				committed = max(committed, id)
			}
		}
		cmd.Wait()
		s, err := Open(path, Limits{MaxVersions: 5})
		if err != nil {
			t.Fatalf("round %d: the store does not open after kill -9: %v", round, err)
		}
		if err := verify(s); err != nil {
			t.Errorf("round %d: %v", round, err)
		}
		p, vs, err := s.Plugin("", "p")
		if err != nil || len(vs) == 0 || vs[0].ID < committed {
			t.Errorf("round %d: newest stored version %v, but %d was committed: %v", round, vs, committed, err)
		}
		if p.Deployment.main() != 0 {
			if _, err := s.Resolve("", "p", rng.IntN(100)); err != nil {
				t.Errorf("round %d: the deployment does not resolve: %v", round, err)
			}
		}
		s.Close()
		t.Logf("round %d: %d versions committed so far", round, committed)
	}
}
