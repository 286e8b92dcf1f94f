package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/host/model"
	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/host/wasm"
	"github.com/wasmoe/wasmoe/internal/kernels"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// buildGuest builds a Go guest package (a path relative to dir) for wasip1 and returns its bytes.
func buildGuest(dir, pkg string) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "wasmoe-guest")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "guest.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build %s: %v\n%s", pkg, err, msg)
	}
	return os.ReadFile(out)
}

// speculativeWasm is guest/examples/speculative, built once per test binary.
var speculativeWasm = sync.OnceValues(func() ([]byte, error) {
	return buildGuest(testutil.Root(), "./guest/examples/speculative")
})

// needGo skips a test that builds a guest when the go command is missing.
func needGo(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command to build a guest")
	}
}

// writeTiny writes a tiny model with the qwen2 test vocabulary and returns its path.
func writeTiny(t *testing.T, o modelgen.Options) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), fmt.Sprintf("tiny-%s-%d-%d.gguf", o.Type, o.Layers, o.Seed))
	if err := modelgen.WriteFile(o, testutil.Vocab(t, "ggml-vocab-qwen2.gguf"), path); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadDeepSeek loads a tiny F32 deepseek2 model of a modelgen style.
func loadDeepSeek(t *testing.T, style string, edit func(*modelgen.Options)) *model.Model {
	t.Helper()
	o, err := modelgen.DeepSeekTiny(style, kernels.F32)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&o)
	}
	path := filepath.Join(t.TempDir(), "deepseek.gguf")
	if err := modelgen.WriteFile(o, testutil.Vocab(t, "ggml-vocab-deepseek-coder.gguf"), path); err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// f32s reads an F32 tensor of the file.
func f32s(t *testing.T, f *gguf.File, name string) []float64 {
	t.Helper()
	tn, ok := f.Tensor(name)
	if !ok || tn.Type != kernels.F32 {
		t.Fatalf("tensor %s missing or not F32", name)
	}
	v := make([]float64, len(tn.Data)/4)
	for i := range v {
		v[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(tn.Data[4*i:])))
	}
	return v
}

// TestTensorNames checks model.Model.Tensor against the GGUF file: every 2-D tensor is found with the
// file's type, shape and bytes; vectors and stacked 3-D tensors are not.
func TestTensorNames(t *testing.T) {
	qwen, err := model.Load(writeTiny(t, modelgen.Tiny("qwen2", kernels.Q8_0)))
	if err != nil {
		t.Fatal(err)
	}
	defer qwen.Close()
	ds := loadDeepSeek(t, "v3", func(o *modelgen.Options) { o.DeepSeek.MTP = 1 })
	for _, m := range []*model.Model{qwen, ds} {
		found := 0
		for _, tn := range m.File.Tensors {
			w, ok := m.Tensor(tn.Name)
			if len(tn.Dims) != 2 {
				if ok {
					t.Errorf("%s: %d-D tensor %s found as a matrix", m.Arch, len(tn.Dims), tn.Name)
				}
				continue
			}
			found++
			switch {
			case !ok:
				t.Errorf("%s: tensor %s not found", m.Arch, tn.Name)
			case w.Type != tn.Type || w.Rows != int(tn.Dims[1]) || w.Cols != int(tn.Dims[0]) || !bytes.Equal(w.Data, tn.Data):
				t.Errorf("%s: tensor %s is %s %dx%d, the file's %s %v", m.Arch, tn.Name, w.Type, w.Rows, w.Cols, tn.Type, tn.Dims)
			}
		}
		if found < 10 {
			t.Errorf("%s: only %d matrices in the file", m.Arch, found)
		}
		for _, name := range []string{"", "blk.", "blk.0", "blk.0.attn_q", "blk.00.attn_q.weight", "blk.-1.attn_q.weight",
			"blk.99.attn_q.weight", "blk.0.attn_norm.weight", "blk.1.ffn_gate_exps.weight", "output_norm.weight"} {
			if _, ok := m.Tensor(name); ok {
				t.Errorf("%s: tensor %q found", m.Arch, name)
			}
		}
	}
	if ds.MoEBlock(0) != nil || ds.MoEBlock(1) == nil || ds.MoEBlock(3) == nil || ds.MoEBlock(4) != nil || qwen.MoEBlock(0) != nil {
		t.Error("MoEBlock: want MoE in blocks 1, 2 and the MTP block 3 only")
	}
}

// TestKernelHost runs the engine-level kernel tests on one engine (opening one is slow).
func TestKernelHost(t *testing.T) {
	e := speculativeEngine(t)
	t.Run("matmul", func(t *testing.T) { testKernelMatMul(t, e) })
	t.Run("status", func(t *testing.T) { testKernelStatus(t, e) })
	t.Run("forward_all", func(t *testing.T) { testKernelForwardAll(t, e) })
	t.Run("deadline", func(t *testing.T) { testKernelDeadline(t, e) })
	t.Run("imports", func(t *testing.T) { testKernelImports(t, e) })
	t.Run("speculative", func(t *testing.T) { testSpeculative(t, e) })
}

// testKernelMatMul checks matmul through the host against Pool.MatMul on the model's own matrix (bit for
// bit) and against a float64 product of the dequantized weights.
func testKernelMatMul(t *testing.T, e *Engine) {
	k := newKernelHost(e, context.Background(), wasm.Limits{})
	defer k.release()
	name := "blk.1.ffn_down.weight"
	h := k.Tensor(name)
	if h < 0 || k.Tensor(name) != h {
		t.Fatalf("tensor %s: handle %d, then %d", name, h, k.Tensor(name))
	}
	W := e.Model().Layers[1].Wdown
	dt, rows, cols, st := k.TensorInfo(h)
	if st != abi.OK || kernels.DType(dt) != W.Type || int(rows) != W.Rows || int(cols) != W.Cols {
		t.Fatalf("tensor_info: %d %d %d status %d, want %s %dx%d", dt, rows, cols, st, W.Type, W.Rows, W.Cols)
	}
	const n = 3
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, n*W.Cols)
	for i := range x {
		x[i] = r.Float32()*2 - 1
	}
	y, want := make([]float32, n*W.Rows), make([]float32, n*W.Rows)
	if st := k.MatMul(h, x, n, y, time.Time{}); st != abi.OK {
		t.Fatalf("matmul: status %d", st)
	}
	e.Pool().MatMul(want, W, x, n)
	if !slices.Equal(y, want) {
		t.Fatal("matmul through the host differs from Pool.MatMul")
	}
	row := make([]float32, W.Cols)
	rb := len(W.Data) / W.Rows
	var maxRef, maxDiff float64
	for i := range W.Rows {
		if err := kernels.DequantizeRow(W.Type, row, W.Data[i*rb:(i+1)*rb]); err != nil {
			t.Fatal(err)
		}
		for j := range n {
			var s float64
			for c, w := range row {
				s += float64(w) * float64(x[j*W.Cols+c])
			}
			maxRef, maxDiff = max(maxRef, math.Abs(s)), max(maxDiff, math.Abs(s-float64(y[j*W.Rows+i])))
		}
	}
	if maxDiff > 0.01*maxRef { // Q8_0 rounds the activations too
		t.Errorf("matmul differs from the float64 product by %g (largest value %g)", maxDiff, maxRef)
	}
}

// refRoute is DeepSeek's gate in float64 (spec §3.3): scores, optional group limiting on the biased
// scores, the K best by biased score, weighed by their scores, normalized and scaled.
func refRoute(c model.MoEConfig, logits, bias []float64) ([]int32, []float64) {
	E := len(logits)
	scores, choice := make([]float64, E), make([]float64, E)
	if c.Sigmoid {
		for i, z := range logits {
			scores[i] = 1 / (1 + math.Exp(-z))
		}
	} else {
		m, sum := slices.Max(logits), 0.0
		for i, z := range logits {
			scores[i] = math.Exp(z - m)
			sum += scores[i]
		}
		for i := range scores {
			scores[i] /= sum
		}
	}
	for i := range choice {
		choice[i] = scores[i]
		if bias != nil {
			choice[i] += bias[i]
		}
	}
	if c.Groups > 1 {
		per := E / c.Groups
		type group struct {
			g     int
			score float64
		}
		gs := make([]group, c.Groups)
		for g := range gs {
			v := slices.Clone(choice[g*per : (g+1)*per])
			sort.Sort(sort.Reverse(sort.Float64Slice(v)))
			gs[g] = group{g, v[0]}
			if bias != nil && per > 1 {
				gs[g].score += v[1]
			}
		}
		sort.SliceStable(gs, func(i, j int) bool { return gs[i].score > gs[j].score })
		for _, g := range gs[c.GroupsUsed:] {
			for i := g.g * per; i < (g.g+1)*per; i++ {
				choice[i] = math.Inf(-1)
			}
		}
	}
	order := make([]int32, E)
	for i := range order {
		order[i] = int32(i)
	}
	sort.SliceStable(order, func(i, j int) bool { return choice[order[i]] > choice[order[j]] })
	ids, w := order[:c.Used], make([]float64, c.Used)
	sum := 0.0
	for j, id := range ids {
		w[j] = scores[id]
		sum += w[j]
	}
	for j := range w {
		if c.Norm {
			w[j] /= sum
		}
		if c.Scale != 0 {
			w[j] *= float64(c.Scale)
		}
	}
	return ids, w
}

// refMoE is a MoE block's feed-forward for one token x in float64 from the file's tensors: the routed
// experts ids weighed by w, plus the shared experts.
func refMoE(t *testing.T, f *gguf.File, c model.MoEConfig, layer, D int, x []float64, ids []int32, w []float32) []float64 {
	p := fmt.Sprintf("blk.%d.", layer)
	Ie := c.FFN
	ffn := func(gate, up, down []float64, I int) []float64 { // down·(silu(gate·x) ⊙ up·x)
		h := make([]float64, I)
		for i := range I {
			var g, u float64
			for d := range D {
				g += gate[i*D+d] * x[d]
				u += up[i*D+d] * x[d]
			}
			h[i] = g / (1 + math.Exp(-g)) * u
		}
		out := make([]float64, D)
		for d := range D {
			for i := range I {
				out[d] += down[d*I+i] * h[i]
			}
		}
		return out
	}
	gate, up, down := f32s(t, f, p+"ffn_gate_exps.weight"), f32s(t, f, p+"ffn_up_exps.weight"), f32s(t, f, p+"ffn_down_exps.weight")
	y := make([]float64, D)
	for j, id := range ids {
		e := int(id) * Ie * D
		o := ffn(gate[e:e+Ie*D], up[e:e+Ie*D], down[e:e+Ie*D], Ie)
		for d := range D {
			y[d] += float64(w[j]) * o[d]
		}
	}
	if c.Shared > 0 {
		o := ffn(f32s(t, f, p+"ffn_gate_shexp.weight"), f32s(t, f, p+"ffn_up_shexp.weight"), f32s(t, f, p+"ffn_down_shexp.weight"), c.Shared*Ie)
		for d := range D {
			y[d] += o[d]
		}
	}
	return y
}

// TestKernelMoE checks moe_route against a float64 gate and moe, with the model's own routing and with a
// routing of the guest's, against a float64 DeepSeekMoE from the file's weights.
func TestKernelMoE(t *testing.T) {
	for _, style := range []string{"v3", "v2-lite"} {
		t.Run(style, func(t *testing.T) {
			m := loadDeepSeek(t, style, func(o *modelgen.Options) { o.Layers = 3 })
			pool := kernels.NewPool(2)
			defer pool.Close()
			k := newKernels(context.Background(), pool, m, nil, wasm.Limits{})
			defer k.release()
			c := m.MoE
			if _, _, _, st := k.MoEShape(0); st != abi.ErrNotFound {
				t.Errorf("moe shape of the dense block 0: status %d", st)
			}
			if _, _, _, st := k.MoEShape(int32(m.Blocks)); st != abi.ErrNotFound {
				t.Errorf("moe shape past the blocks: status %d", st)
			}
			const layer, n = 2, 4
			dim, experts, K, st := k.MoEShape(layer)
			if st != abi.OK || int(dim) != m.Dim || int(experts) != c.Experts || int(K) != c.Used {
				t.Fatalf("moe shape: %d %d %d status %d", dim, experts, K, st)
			}
			D := m.Dim
			r := rand.New(rand.NewPCG(3, 4))
			x := make([]float32, n*D)
			for i := range x {
				x[i] = r.Float32()*4 - 2
			}
			ids, weights := make([]int32, n*c.Used), make([]float32, n*c.Used)
			if st := k.Route(layer, x, n, ids, weights, time.Time{}); st != abi.OK {
				t.Fatalf("moe_route: status %d", st)
			}
			p := fmt.Sprintf("blk.%d.", layer)
			gate := f32s(t, m.File, p+"ffn_gate_inp.weight")
			var bias []float64
			if _, ok := m.File.Tensor(p + "exp_probs_b.bias"); ok {
				bias = f32s(t, m.File, p+"exp_probs_b.bias")
			}
			xs := make([][]float64, n)
			for i := range n {
				xs[i] = make([]float64, D)
				for d := range D {
					xs[i][d] = float64(x[i*D+d])
				}
				logits := make([]float64, c.Experts)
				for e := range logits {
					for d := range D {
						logits[e] += gate[e*D+d] * xs[i][d]
					}
				}
				wantIDs, wantW := refRoute(c, logits, bias)
				gotIDs, gotW := ids[i*c.Used:(i+1)*c.Used], weights[i*c.Used:(i+1)*c.Used]
				if !slices.Equal(gotIDs, wantIDs) {
					t.Fatalf("token %d: routed to %v, float64 gate %v", i, gotIDs, wantIDs)
				}
				for j := range wantW {
					if math.Abs(float64(gotW[j])-wantW[j]) > 1e-5*math.Max(1, math.Abs(wantW[j])) {
						t.Errorf("token %d: weights %v, float64 gate %v", i, gotW, wantW)
						break
					}
				}
			}

			// The model's routing, then the guest's own: the experts in reverse order with other weights, two
			// per token.
			custom, customW := make([]int32, n*2), make([]float32, n*2)
			for i := range n {
				custom[2*i], custom[2*i+1] = int32((i+1)%c.Experts), int32((3*i+2)%c.Experts)
				customW[2*i], customW[2*i+1] = 0.25, -0.5
			}
			for _, rt := range []struct {
				name    string
				ids     []int32
				weights []float32
				k       int
			}{{"model", ids, weights, c.Used}, {"guest", custom, customW, 2}} {
				y := make([]float32, n*D)
				if st := k.MoE(layer, x, n, rt.ids, rt.weights, rt.k, y, time.Time{}); st != abi.OK {
					t.Fatalf("%s routing: moe status %d", rt.name, st)
				}
				var maxRef, maxDiff float64
				for i := range n {
					want := refMoE(t, m.File, c, layer, D, xs[i], rt.ids[i*rt.k:(i+1)*rt.k], rt.weights[i*rt.k:(i+1)*rt.k])
					for d, v := range want {
						maxRef, maxDiff = max(maxRef, math.Abs(v)), max(maxDiff, math.Abs(v-float64(y[i*D+d])))
					}
				}
				if maxRef == 0 || maxDiff > 1e-5*maxRef {
					t.Errorf("%s routing: moe differs from float64 DeepSeekMoE by %g (largest value %g)", rt.name, maxDiff, maxRef)
				}
				// In place (y = x), as a guest that reuses its buffer calls it.
				inPlace := slices.Clone(x)
				if st := k.MoE(layer, inPlace, n, rt.ids, rt.weights, rt.k, inPlace, time.Time{}); st != abi.OK || !slices.Equal(inPlace, y) {
					t.Errorf("%s routing: moe in place (status %d) differs", rt.name, st)
				}
			}
			bad := slices.Clone(ids)
			bad[1] = int32(c.Experts)
			for _, st := range []int32{
				k.MoE(layer, x, n, bad, weights, c.Used, make([]float32, n*D), time.Time{}),
				k.MoE(layer, x, n, ids, weights, c.Experts+1, make([]float32, n*D), time.Time{}),
				k.MoE(layer, x, n, ids, weights, c.Used, make([]float32, n*D-1), time.Time{}),
				k.MoE(layer, x, n, ids, []float32{float32(math.NaN())}, 1, make([]float32, n*D), time.Time{}),
				k.Route(layer, x, n, ids[:1], weights, time.Time{}),
			} {
				if st != abi.ErrBadInput {
					t.Errorf("bad moe input: status %d, want %d", st, abi.ErrBadInput)
				}
			}
		})
	}
}

// testKernelStatus checks the statuses of bad handles, limits and releases, and that sequences compute
// what model.Forward does.
func testKernelStatus(t *testing.T, e *Engine) {
	ctx, cancel := context.WithCancel(context.Background())
	k := newKernelHost(e, ctx, wasm.Limits{MaxSeqs: 2, MaxSeqTokens: 8})
	h := k.Tensor("output.weight")
	dt, _, _, _ := k.TensorInfo(h)
	check := func(what string, got, want int32) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %d, want %d", what, got, want)
		}
	}
	check("tensor_info dtype", dt, int32(e.Model().Output.Type))
	check("tensor nope", k.Tensor("nope"), abi.ErrNotFound)
	_, _, _, st := k.TensorInfo(h + 1)
	check("tensor_info of a bad handle", st, abi.ErrHandle)
	_, _, _, st = k.TensorInfo(-1)
	check("tensor_info -1", st, abi.ErrHandle)
	check("matmul of a bad handle", k.MatMul(7, make([]float32, 64), 1, make([]float32, 1<<20), time.Time{}), abi.ErrHandle)
	check("matmul short x", k.MatMul(h, make([]float32, 63), 1, make([]float32, e.Model().Vocab), time.Time{}), abi.ErrBadInput)
	check("matmul short y", k.MatMul(h, make([]float32, 64), 1, make([]float32, 5), time.Time{}), abi.ErrBadInput)
	_, _, _, st = k.MoEShape(1)
	check("moe shape of a dense model", st, abi.ErrNotFound)
	check("moe of a dense model", k.MoE(1, nil, 1, nil, nil, 1, nil, time.Time{}), abi.ErrNotFound)
	check("moe_route of a dense model", k.Route(1, nil, 1, nil, nil, time.Time{}), abi.ErrNotFound)
	check("model nope", k.Model("nope"), abi.ErrNotFound)
	check("model \"\"", k.Model(""), 0)
	check("model same", k.Model("same"), 1)
	check("model same again", k.Model("same"), 1)
	check("seq_new of a bad model", k.SeqNew(2), abi.ErrHandle)

	s0, s1 := k.SeqNew(0), k.SeqNew(1)
	check("seq_new past MaxSeqs", k.SeqNew(0), abi.ErrLimit)
	toks := []int32{11, 22, 33, 44, 55}
	logits, st := k.SeqForward(s1, toks, time.Time{})
	check("seq_forward", st, abi.OK)
	want, _ := e.Model().Forward(e.Pool(), e.Model().NewState(0), toks, false)
	if !slices.Equal(logits, want) {
		t.Error("seq_forward on a copy of the model differs from the request's model's Forward")
	}
	_, st = k.SeqForward(s0, toks[:3], time.Time{})
	check("seq_forward", st, abi.OK)
	check("seq_trim", k.SeqTrim(s0, 1), abi.OK)
	check("seq_trim past the end", k.SeqTrim(s0, 100), abi.OK)
	check("seq_len after trim", k.SeqLen(s0), 1)
	if logits, st = k.SeqForward(s0, toks[1:], time.Time{}); st != abi.OK || !slices.Equal(logits, want) {
		t.Errorf("seq_forward after seq_trim (status %d) differs from a fresh Forward", st)
	}
	_, st = k.SeqForward(s0, []int32{1, 2, 3, 4}, time.Time{})
	check("seq_forward past MaxSeqTokens", st, abi.ErrLimit)
	check("seq_len after a refused forward", k.SeqLen(s0), 5)
	_, st = k.SeqForward(s0, []int32{int32(e.Model().Vocab)}, time.Time{})
	check("seq_forward of a token out of range", st, abi.ErrBadInput)
	_, st = k.SeqForward(s0, nil, time.Time{})
	check("seq_forward of no tokens", st, abi.ErrBadInput)
	_, st = k.SeqForward(9, toks, time.Time{})
	check("seq_forward of a bad handle", st, abi.ErrHandle)
	check("seq_trim of a bad handle", k.SeqTrim(-1, 0), abi.ErrHandle)
	check("seq_trim to a negative length", k.SeqTrim(s0, -1), abi.ErrBadInput)
	check("seq_len of a bad handle", k.SeqLen(9), abi.ErrHandle)

	check("seq_free", k.SeqFree(s1), abi.OK)
	check("seq_free twice", k.SeqFree(s1), abi.ErrHandle)
	check("seq_len of a freed sequence", k.SeqLen(s1), abi.ErrHandle)
	s2 := k.SeqNew(0)
	check("seq_new after a free", s2, 2) // handles are not reused
	cancel()
	_, st = k.SeqForward(s2, toks[:1], time.Time{})
	check("seq_forward after the request is cancelled", st, abi.ErrLimit)

	k.release()
	_, _, _, st = k.TensorInfo(h)
	check("tensor_info after release", st, abi.ErrHandle)
	check("seq_len after release", k.SeqLen(s0), abi.ErrHandle)
	check("model after release", k.Model(""), abi.ErrHandle)
	check("tensor after release", k.Tensor("output.weight"), abi.ErrHandle)
	check("seq_new after release", k.SeqNew(0), abi.ErrHandle)
}

// testKernelDeadline checks that a request's kernels run on a pool of their own with one thread, and that
// the computing kernels stop at their deadline with ErrLimit: at once when it has passed, and a long
// seq_forward soon after it passes, leaving the sequence as it was.
func testKernelDeadline(t *testing.T, e *Engine) {
	k := newKernelHost(e, context.Background(), wasm.Limits{})
	defer k.release()
	if k.pool == e.Pool() || k.pool.Threads() != 1 {
		t.Errorf("the kernels run on the engine's pool or on %d threads, want a pool of their own with one", k.pool.Threads())
	}
	past := time.Now().Add(-time.Millisecond)
	h := k.Tensor("output.weight")
	if st := k.MatMul(h, make([]float32, 64), 1, make([]float32, e.Model().Vocab), past); st != abi.ErrLimit {
		t.Errorf("matmul past its deadline: status %d, want %d", st, abi.ErrLimit)
	}
	s := k.SeqNew(0)
	toks := make([]int32, 500)
	for i := range toks {
		toks[i] = int32(i + 1)
	}
	if _, st := k.SeqForward(s, toks[:2], past); st != abi.ErrLimit || k.SeqLen(s) != 0 {
		t.Errorf("seq_forward past its deadline: status %d, length %d, want %d and 0", st, k.SeqLen(s), abi.ErrLimit)
	}
	start := time.Now()
	want, st := k.SeqForward(s, toks, time.Time{})
	full := time.Since(start)
	if st != abi.OK {
		t.Fatalf("seq_forward of %d tokens: status %d", len(toks), st)
	}
	want = slices.Clone(want)
	if full < 20*pieceTime {
		t.Skipf("seq_forward of %d tokens takes only %v: too little to stop it half way", len(toks), full)
	}
	k.SeqTrim(s, 1)
	start = time.Now()
	_, st = k.SeqForward(s, toks[1:], start.Add(full/4))
	if d := time.Since(start); st != abi.ErrLimit || d > full/4+5*pieceTime || k.SeqLen(s) != 1 {
		t.Errorf("seq_forward with a deadline %v away, of a forward that takes %v: status %d after %v, length %d; want %d soon after the deadline, length 1",
			full/4, full, st, d, k.SeqLen(s), abi.ErrLimit)
	}
	if logits, st := k.SeqForward(s, toks[1:], time.Now().Add(time.Hour)); st != abi.OK || !slices.Equal(logits, want) {
		t.Errorf("seq_forward after a stopped one (status %d) differs from the same forward in one go", st)
	}
}

// probeGuest is a policy guest that calls the kernel imports with good and bad pointers and handles in its
// first ctl_step and splices their results, each as two tokens (low and high 16 bits).
const probeGuest = `package main

import "unsafe"

//go:wasmimport wasmoe_v1 buf_register
func bufRegister(kind int32, ptr, n uint32) int32

//go:wasmimport wasmoe_v1 tensor
func tensor(name, n uint32) int32

//go:wasmimport wasmoe_v1 tensor_info
func tensorInfo(h int32, ptr uint32) int32

//go:wasmimport wasmoe_v1 matmul
func matmul(w int32, x, n, y uint32) int32

//go:wasmimport wasmoe_v1 moe
func moe(layer int32, x, n, ids, weights, k, y uint32) int32

//go:wasmimport wasmoe_v1 moe_route
func route(layer int32, x, n, ids, weights uint32) int32

//go:wasmimport wasmoe_v1 model
func model(name, n uint32) int32

//go:wasmimport wasmoe_v1 seq_new
func seqNew(m int32) int32

//go:wasmimport wasmoe_v1 seq_forward
func seqForward(s int32, ids, n, logits, capacity uint32) int32

//go:wasmimport wasmoe_v1 seq_trim
func seqTrim(s int32, keep uint32) int32

//go:wasmimport wasmoe_v1 seq_len
func seqLen(s int32) int32

//go:wasmimport wasmoe_v1 seq_free
func seqFree(s int32) int32

var (
	splice [128]int32
	x      [64]float32
	y      [1 << 18]float32
	ids    [4]int32
	info   [4]int32
	name   = []byte("output.weight")
)

//go:wasmexport ctl_init
func ctlInit() int32 { return bufRegister(3, ptr(splice[:]), 4*uint32(len(splice))) }

//go:wasmexport ctl_open
func ctlOpen(seq, parent int32) int32 { return 0 }

//go:wasmexport ctl_close
func ctlClose(seq int32) int32 { return 0 }

//go:wasmexport ctl_step
func ctlStep(seq int32, p, n uint32) int64 {
	const bad = 0xfffffff0
	h := tensor(ptr(name), uint32(len(name)))
	r := []int32{
		tensor(bad, 4), h, tensorInfo(h, bad), tensorInfo(h, ptr(info[:])+1), tensorInfo(h+1, ptr(info[:])),
		tensorInfo(h, ptr(info[:])), info[2],
		matmul(h, bad, 1, ptr(y[:])), matmul(h, ptr(x[:]), 0, ptr(y[:])), matmul(h+1, ptr(x[:]), 1, ptr(y[:])),
		matmul(h, ptr(x[:]), 1, ptr(y[:])),
		moe(1, ptr(x[:]), 1, ptr(ids[:]), ptr(x[:]), 1, ptr(y[:])), route(1, ptr(x[:]), 1, ptr(ids[:]), ptr(y[:])),
		model(bad, 1), model(ptr(name), 3), model(0, 0), seqNew(5),
	}
	s := seqNew(0)
	ids[0] = 1
	r = append(r, s,
		seqForward(s, bad, 1, ptr(y[:]), uint32(len(y))), seqForward(s, ptr(ids[:]), 0, ptr(y[:]), uint32(len(y))),
		seqForward(s, ptr(ids[:]), 1, bad, 1<<20), seqTrim(s, 0),
		seqForward(s, ptr(ids[:]), 1, 0, 0), seqForward(s, ptr(ids[:]), 1, ptr(y[:]), uint32(len(y))), seqLen(s),
		seqTrim(9, 0), seqFree(s), seqFree(s), seqLen(s))
	for i, v := range r {
		splice[2*i], splice[2*i+1] = int32(uint32(v)&0xffff), int32(uint32(v)>>16)
	}
	return 1 | int64(2*len(r))<<16
}
`

// probeWasm is probeGuest, built once per test binary.
var probeWasm = sync.OnceValues(func() ([]byte, error) { return buildTestGuest("probe", probeGuest) })

// testKernelImports checks what the kernel imports return to a guest for good and bad pointers, sizes and
// handles (the wasm glue and kernelHost together), and ErrNotReady for a request without kernels.
func testKernelImports(t *testing.T, e *Engine) {
	needGo(t)
	bin, err := probeWasm()
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.LoadPolicy(bin)
	if err != nil {
		t.Fatal(err)
	}
	V := int32(e.Model().Vocab)
	want := []int32{
		abi.ErrBadInput, 0, abi.ErrBadInput, abi.ErrBadInput, abi.ErrHandle, // tensor, tensor_info
		abi.OK, 64, // tensor_info of output.weight: 64 columns
		abi.ErrBadInput, abi.ErrBadInput, abi.ErrHandle, abi.OK, // matmul
		abi.ErrNotFound, abi.ErrNotFound, // moe, moe_route of a dense model
		abi.ErrBadInput, abi.ErrNotFound, 0, abi.ErrHandle, // model, seq_new
		0,                                                 // seq_new
		abi.ErrBadInput, abi.ErrBadInput, abi.ErrBadInput, // seq_forward: bad ids, no ids, bad logits
		abi.OK, V, V, 2, // seq_trim, seq_forward with cap 0 and with room, seq_len
		abi.ErrHandle, abi.OK, abi.ErrHandle, abi.ErrHandle, // seq_trim, seq_free, seq_free, seq_len
	}
	for _, kern := range []bool{true, false} {
		ctx := context.Background()
		var k wasm.Kernels
		if kern {
			kh := newKernelHost(e, ctx, p.Limits())
			defer kh.release()
			k = kh
		}
		s, err := p.Acquire(ctx, nil, k)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Open(0, -1); err != nil {
			t.Fatal(err)
		}
		st, err := s.Step(0, []int32{1})
		if err != nil {
			t.Fatal(err)
		}
		var got []int32
		for i := 0; i+1 < len(st.Splice); i += 2 {
			got = append(got, int32(uint32(st.Splice[i])|uint32(st.Splice[i+1])<<16))
		}
		s.Release()
		if !kern {
			for i, v := range got {
				if v != abi.ErrNotReady && i != 6 { // 6 is tensor_info's output, never written
					t.Errorf("without kernels: result %d is %d, want %d", i, v, abi.ErrNotReady)
				}
			}
			continue
		}
		if !slices.Equal(got, want) {
			t.Errorf("import results\n got %v\nwant %v", got, want)
		}
	}
}

// greedyRun is plain greedy generation of n tokens through the engine: the independent truth.
func greedyRun(t *testing.T, e *Engine, prompt []int32, n int) []int32 {
	t.Helper()
	sp := DefaultSampling()
	sp.Temperature = 0
	ids, _, _ := collect(t, e, Request{Prompt: prompt, MaxTokens: n, Sampling: sp, IgnoreEOS: true})
	if len(ids) != n {
		t.Fatalf("greedy generated %d tokens, want %d", len(ids), n)
	}
	return ids
}

// testKernelForwardAll: seq_forward_all's rows are bit for bit the logits seq_forward gives token by token
// (and so model.Forward's); an output too short for every row runs nothing and leaves the sequence as it
// was; ids past the sequence's capacity, out of the vocabulary or on a bad handle are refused.
func testKernelForwardAll(t *testing.T, e *Engine) {
	k := newKernelHost(e, context.Background(), wasm.Limits{MaxSeqs: 2, MaxSeqTokens: 8})
	defer k.release()
	V := e.Model().Vocab
	toks := []int32{11, 22, 33, 44, 55}
	one, all := k.SeqNew(0), k.SeqNew(0)
	if _, st := k.SeqForward(all, toks[:2], time.Time{}); st != abi.OK {
		t.Fatalf("seq_forward: %d", st)
	}
	var want []float32
	for i := range toks {
		l, st := k.SeqForward(one, toks[i:i+1], time.Time{})
		if st != abi.OK {
			t.Fatalf("seq_forward: %d", st)
		}
		if i >= 2 {
			want = append(want, l...)
		}
	}
	out := make([]float32, 3*V)
	if st := k.SeqForwardAll(all, toks[2:], out[:3*V-1], time.Time{}); st != int32(3*V) || k.SeqLen(all) != 2 {
		t.Fatalf("seq_forward_all into a short buffer: %d, sequence length %d; want %d and 2", st, k.SeqLen(all), 3*V)
	}
	if st := k.SeqForwardAll(all, toks[2:], out, time.Time{}); st != int32(3*V) || k.SeqLen(all) != 5 {
		t.Fatalf("seq_forward_all: %d, sequence length %d; want %d and 5", st, k.SeqLen(all), 3*V)
	}
	if !slices.Equal(out, want) {
		t.Error("seq_forward_all's rows differ from seq_forward's logits token by token")
	}
	for _, c := range []struct {
		what string
		h    int32
		ids  []int32
		want int32
	}{
		{"past MaxSeqTokens", all, []int32{1, 2, 3, 4}, abi.ErrLimit},
		{"a token out of range", all, []int32{int32(V)}, abi.ErrBadInput},
		{"no tokens", all, nil, abi.ErrBadInput},
		{"a bad handle", 9, toks[:1], abi.ErrHandle},
	} {
		if st := k.SeqForwardAll(c.h, c.ids, make([]float32, 4*V), time.Time{}); st != c.want {
			t.Errorf("seq_forward_all of %s: %d, want %d", c.what, st, c.want)
		}
	}
	if k.SeqLen(all) != 5 {
		t.Errorf("refused calls changed the sequence: length %d", k.SeqLen(all))
	}
}

// countingKernels counts the forward calls (seq_forward and seq_forward_all) that ran the request's model
// (model handle 0) on a guest's sequences.
type countingKernels struct {
	*kernelHost
	model  map[int32]int32 // sequence handle → model handle
	target int
}

func (c *countingKernels) SeqNew(m int32) int32 {
	h := c.kernelHost.SeqNew(m)
	c.model[h] = m
	return h
}

func (c *countingKernels) SeqForward(h int32, ids []int32, deadline time.Time) ([]float32, int32) {
	if c.model[h] == 0 {
		c.target++
	}
	return c.kernelHost.SeqForward(h, ids, deadline)
}

func (c *countingKernels) SeqForwardAll(h int32, ids []int32, out []float32, deadline time.Time) int32 {
	if c.model[h] == 0 {
		c.target++
	}
	return c.kernelHost.SeqForwardAll(h, ids, out, deadline)
}

// speculativeEngine opens the tiny model with three drafts: "same" (the same weights), "f16" (the same
// weights in F16, so that it mostly agrees) and "other" (other weights).
func speculativeEngine(t *testing.T) *Engine {
	t.Helper()
	f16 := modelgen.Tiny("qwen2", kernels.F16)
	other := modelgen.Tiny("qwen2", kernels.Q8_0)
	other.Seed = 7
	return openTiny(t, Config{Models: map[string]string{
		"same":  writeTiny(t, modelgen.Tiny("qwen2", kernels.Q8_0)),
		"f16":   writeTiny(t, f16),
		"other": writeTiny(t, other),
	}})
}

// testSpeculative runs the speculative guest and checks its output against plain greedy generation:
// through a PolicySession on kernelHost, applying its actions as the engine does with greedy sampling
// (the splice lengths show which drafts were accepted), and through Generate.
func testSpeculative(t *testing.T, e *Engine) {
	needGo(t)
	bin, err := speculativeWasm()
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.LoadPolicy(bin)
	if err != nil {
		t.Fatal(err)
	}
	prompt := []int32{785, 6722, 315, 9625, 374}
	const n = 24
	want := greedyRun(t, e, prompt, n)
	for _, draft := range []string{"same", "f16", "other"} {
		t.Run("session/"+draft, func(t *testing.T) { speculativeSession(t, e, p, draft, prompt, want) })
	}
	for _, draft := range []string{"same", "other"} {
		t.Run("generate/"+draft, func(t *testing.T) {
			sp := DefaultSampling()
			sp.Temperature = 0
			var got []int32
			res, err := e.Generate(context.Background(), Request{Prompt: prompt, MaxTokens: n, Sampling: sp, IgnoreEOS: true,
				Policy: p, PolicyConfig: []byte(fmt.Sprintf(`{"draft": %q, "k": 4}`, draft))}, func(pc Piece) error {
				if pc.Token >= 0 {
					got = append(got, pc.Token)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) || res.CompletionTokens != n {
				t.Errorf("speculative %v (%d tokens)\ngreedy      %v", got, res.CompletionTokens, want)
			}
		})
	}
}

// speculativeSession drives the speculative guest with draft k = 3 through a PolicySession on kernelHost
// until it has generated len(want) tokens, applying its actions as the engine does with greedy sampling.
func speculativeSession(t *testing.T, e *Engine, p *wasm.Policy, draft string, prompt, want []int32) {
	const k = 3
	n := len(want)
	m, pool := e.Model(), e.Pool()
	ctx := context.Background()
	kh := newKernelHost(e, ctx, p.Limits())
	defer kh.release()
	ck := &countingKernels{kernelHost: kh, model: map[int32]int32{}}
	s, err := p.Acquire(ctx, []byte(fmt.Sprintf(`{"draft": %q, "k": %d}`, draft, k)), ck)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	if err := s.Open(0, -1); err != nil {
		t.Fatal(err)
	}
	state := m.NewState(0)
	logits, err := m.Forward(pool, state, prompt, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []int32
	var splices []int
	report := prompt
	for len(got) < n {
		st, err := s.Step(0, report)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case st.Kind == abi.ActSplice && st.Arg == 0 && st.Count > 0:
			report = slices.Clone(st.Splice)
			splices = append(splices, len(report))
		case st.Kind == abi.ActSample && st.Flags == 0:
			report = []int32{int32(slices.Index(logits, slices.Max(logits)))}
			splices = append(splices, 0)
		default:
			t.Fatalf("unexpected action %+v", st.Action)
		}
		got = append(got, report...)
		if logits, err = m.Forward(pool, state, report, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(0); err != nil {
		t.Fatal(err)
	}
	if kh.live != 0 {
		t.Errorf("the guest left %d sequences open", kh.live)
	}
	if !slices.Equal(got[:n], want) {
		t.Fatalf("speculative %v\ngreedy      %v", got[:n], want)
	}
	full, short := 0, 0
	for i, c := range splices {
		switch {
		case c == k+1:
			full++
		case i+1 < len(splices):
			short++
		}
	}
	t.Logf("draft %s: actions %v; the request's model ran %d times", draft, splices, ck.target)
	// Plain decoding runs the request's model once a token; the guest, once a step (one seq_forward_all
	// verifying every draft) and once for the prompt, so fewer times whenever it accepts drafts.
	if ck.target != len(splices)+1 {
		t.Errorf("the request's model ran %d times for %d steps, want %d", ck.target, len(splices), len(splices)+1)
	}
	if draft != "other" && ck.target >= len(got) {
		t.Errorf("the request's model ran %d times for %d tokens: no fewer than plain decoding", ck.target, len(got))
	}
	switch {
	case draft == "same" && short > 0:
		t.Errorf("the same model as draft was rejected: %v", splices)
	case draft != "same" && short == 0:
		t.Errorf("draft %s was never rejected: %v", draft, splices)
	case draft == "f16" && full == 0:
		t.Errorf("draft %s was never accepted in full: %v", draft, splices)
	}
}
