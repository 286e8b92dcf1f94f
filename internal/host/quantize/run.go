package quantize

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// QuantizationVersion is general.quantization_version, ggml's GGML_QNT_VERSION.
const QuantizationVersion = 2

// chunkElems bounds the float32 elements held per chunk of rows (16 MiB): memory stays near this plus the
// chunk's quantized bytes whatever the model's size.
const chunkElems = 4 << 20

// Options configure Run.
type Options struct {
	Input   string // GGUF file or Hugging Face directory
	Output  string // GGUF file, written as Output+".tmp" and renamed when complete
	Preset  Preset
	Threads int       // goroutines quantizing rows; 0: GOMAXPROCS
	Log     io.Writer // progress; nil: none
	// Terminal makes the progress a bar redrawn in place; otherwise one plain line per tensor.
	Terminal bool
}

// Planned is one output tensor: where it comes from and the type it is written in.
type Planned struct {
	TensorInfo
	Out kernels.DType
}

// Run quantizes o.Input into o.Output. Tensors are streamed one at a time, in chunks of rows spread over
// o.Threads goroutines. Nothing is left at o.Output unless the whole file was written; ctx cancels.
func Run(ctx context.Context, o Options) (err error) {
	in, err := openInput(o.Input)
	if err != nil {
		return err
	}
	defer in.close()
	plan, w, err := build(in, o.Preset)
	if err != nil {
		return err
	}
	if err := checkWritable(in.path, plan); err != nil {
		return err
	}
	if dir := filepath.Dir(o.Output); dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return fmt.Errorf("output %s: directory %s does not exist", o.Output, dir)
		}
	}
	tmp := o.Output + ".tmp"
	fd, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("output: %w", err)
	}
	defer func() {
		if err != nil {
			fd.Close()
			os.Remove(tmp)
		}
	}()
	threads := o.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	prog := newProgress(o.Log, o.Terminal, plan)
	q := &quantizer{ctx: ctx, threads: threads}
	for i := range plan {
		s, p := &in.tensors[i], plan[i]
		err := w.AddTensorStream(p.Name, p.Out, p.Dims, func(out io.Writer) error {
			prog.start(i)
			if err := q.write(out, s, p.Out, func(rows int) { prog.rows(i, rows) }); err != nil {
				return fmt.Errorf("%s: %w", in.path, err)
			}
			prog.done(i)
			return nil
		})
		if err != nil {
			return fmt.Errorf("%s: %w", in.path, err)
		}
	}
	if _, err = w.WriteTo(fd); err != nil {
		prog.fail()
		return err
	}
	if err = fd.Sync(); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	if err = fd.Close(); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	if err = os.Rename(tmp, o.Output); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("output: %w", err)
	}
	prog.finish()
	return nil
}

// PlanFile returns the output tensors of quantizing the model at path with p, in file order, without
// quantizing anything.
func PlanFile(path string, p Preset) ([]Planned, error) {
	in, err := openInput(path)
	if err != nil {
		return nil, err
	}
	defer in.close()
	plan, _, err := build(in, p)
	return plan, err
}

// build orders the input's tensors as llama-quantize does, chooses their types, and prepares the output
// metadata: the input's, with general.quantization_version and general.file_type set.
func build(in *input, p Preset) ([]Planned, *gguf.Writer, error) {
	hp, err := HParamsOf(gguf.Meta(in.kv))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", in.path, err)
	}
	infos := make([]TensorInfo, len(in.tensors))
	byName := make(map[string]source, len(in.tensors))
	for i, s := range in.tensors {
		infos[i] = s.TensorInfo
		byName[s.Name] = s
	}
	Order(infos)
	for i, t := range infos {
		in.tensors[i] = byName[t.Name]
	}
	types, err := Plan(p, hp, infos)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", in.path, err)
	}
	plan := make([]Planned, len(infos))
	for i := range infos {
		plan[i] = Planned{infos[i], types[i]}
	}
	// gguf_set_val_* removes a key it replaces and appends it, so the two keys llama-quantize sets come last.
	w := gguf.NewWriter()
	for _, kv := range in.kv {
		if kv.Key != "general.quantization_version" && kv.Key != "general.file_type" {
			w.SetValue(kv.Key, kv.Value)
		}
	}
	w.Set("general.quantization_version", uint32(QuantizationVersion))
	w.Set("general.file_type", uint32(p.FileType))
	return plan, w, nil
}

// checkWritable fails, naming the tensor, where a tensor must change type and wasmoe cannot read its type
// or write the new one.
func checkWritable(path string, plan []Planned) error {
	for _, p := range plan {
		if p.Out == p.Type {
			continue
		}
		if !kernels.Writable(p.Out) {
			return fmt.Errorf("%s: tensor %s: wasmoe cannot write %s yet", path, p.Name, p.Out)
		}
		if !kernels.Supported(p.Type) {
			return fmt.Errorf("%s: tensor %s: wasmoe cannot read %s", path, p.Name, p.Type)
		}
	}
	return nil
}

// quantizer converts tensors chunk by chunk, reusing its buffers.
type quantizer struct {
	ctx     context.Context
	threads int
	f32     []float32
	out     []byte
}

// write sends tensor s in type t to out: its bytes as they are when t is its type and they can be copied,
// otherwise chunks of rows dequantized and quantized by q.threads goroutines. done reports rows finished.
func (q *quantizer) write(out io.Writer, s *source, t kernels.DType, done func(rows int)) error {
	if t == s.Type && s.raw != nil {
		if err := s.raw(out); err != nil {
			return fmt.Errorf("tensor %s: %w", s.Name, err)
		}
		done(s.nrows())
		return nil
	}
	cols, nrows := int(s.Dims[0]), s.nrows()
	rowBytes, err := t.RowBytes(cols)
	if err != nil {
		return fmt.Errorf("tensor %s: %w", s.Name, err)
	}
	chunk := max(1, min(nrows, chunkElems/cols))
	if len(q.f32) < chunk*cols {
		q.f32 = make([]float32, chunk*cols)
	}
	if len(q.out) < chunk*rowBytes {
		q.out = make([]byte, chunk*rowBytes)
	}
	for lo := 0; lo < nrows; lo += chunk {
		if err := q.ctx.Err(); err != nil {
			return err
		}
		hi := min(nrows, lo+chunk)
		if err := q.convert(s, t, lo, hi, cols, rowBytes); err != nil {
			return fmt.Errorf("tensor %s: %w", s.Name, err)
		}
		if _, err := out.Write(q.out[:(hi-lo)*rowBytes]); err != nil {
			return err
		}
		done(hi - lo)
	}
	return nil
}

// convert reads rows [lo, hi) of s and quantizes them into q.out, the rows split among the goroutines.
func (q *quantizer) convert(s *source, t kernels.DType, lo, hi, cols, rowBytes int) error {
	n := hi - lo
	workers := min(q.threads, n)
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for g := range workers {
		a, b := lo+n*g/workers, lo+n*(g+1)/workers
		wg.Go(func() {
			f := q.f32[(a-lo)*cols : (b-lo)*cols]
			if err := s.rows(f, a, b); err != nil {
				errs[g] = fmt.Errorf("rows %d..%d: %w", a, b, err)
				return
			}
			for r := a; r < b; r++ {
				dst := q.out[(r-lo)*rowBytes : (r-lo+1)*rowBytes]
				if err := kernels.QuantizeRow(t, dst, q.f32[(r-lo)*cols:(r-lo+1)*cols]); err != nil {
					errs[g] = fmt.Errorf("row %d: %w", r, err)
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
