package modelgen

import (
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/kernels"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// TestDeepSeekOptions checks that the tiny styles and the real V2-Lite shape generate (tensor bytes are
// only made when a file is written, so the 16 GB shape costs nothing here) and that impossible
// deepseek2 options are refused.
func TestDeepSeekOptions(t *testing.T) {
	vocab, err := gguf.Open(testutil.Vocab(t, "ggml-vocab-deepseek-llm.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer vocab.Close()
	good := []Options{Tiny("deepseek2", kernels.Q8_0)}
	if o, err := DeepSeekTiny("v2-lite", kernels.F32); err != nil || o.Layers != 27 || o.DeepSeek.QLoRA != 0 {
		t.Errorf("v2-lite style: %+v, %v", o, err)
	} else {
		good = append(good, o)
	}
	shape, err := Shape("deepseek-v2-lite", kernels.Q8_0)
	if err != nil {
		t.Fatal(err)
	}
	good = append(good, shape)
	for _, o := range good {
		if _, err := Generate(o, vocab); err != nil {
			t.Errorf("%s %d layers: %v", o.Arch, o.Layers, err)
		}
	}
	if _, err := DeepSeekTiny("v4", kernels.F32); err == nil {
		t.Error("unknown style accepted")
	}
	for _, c := range []struct {
		edit func(*Options)
		want string
	}{
		{func(o *Options) { o.DeepSeek.GroupsUsed = 4 }, "groups"},
		{func(o *Options) { o.DeepSeek.KVLoRA = 48 }, "block size"},
		{func(o *Options) { o.DeepSeek.RopeDim = 15 }, "rope dims even"},
		{func(o *Options) { o.DeepSeek.ExpertsUsed = 17 }, "experts used"},
		{func(o *Options) { o.DeepSeek = nil }, "needs DeepSeek options"},
	} {
		o, _ := DeepSeekTiny("v3", kernels.Q8_0)
		d := *o.DeepSeek
		o.DeepSeek = &d
		c.edit(&o)
		if _, err := Generate(o, vocab); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one about %q", err, c.want)
		}
	}
}
