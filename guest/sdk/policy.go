package sdk

// Policy is a policy guest's logic behind the ctl_* exports (register it with guest/sdk/policy.Register,
// or drive it natively with a Controller). Sequence ids are the host's; one instance may hold many
// sequences of one request at once (forks), each with its own state.
type Policy interface {
	// Open starts a sequence: parent -1 for a request's first sequence (read the request's config here,
	// with sdk.Config in a guest), else the sequence it forks from, whose state the new one copies. A
	// returned Status (or an error wrapping one) is the export's status; any other error is ErrInternal.
	Open(seq, parent int32) error
	// Step gets the tokens appended to seq since its last step (the prompt first, then the sampled token or
	// the spliced tokens; none after a fork) and says what to do next. ids is a view of memory the host
	// writes: copy what you keep.
	Step(seq int32, ids []int32) Action
	// Pick chooses one of the best candidates (best first) after a Step asked for it with Action.Pick: an
	// index into cands, or a negative status.
	Pick(seq int32, cands []Candidate) int
	// Close tells the policy a sequence has ended: free its state.
	Close(seq int32)
}

// Initializer is implemented by a Policy that sets itself up once per instance (in ctl_init, after the
// Controller has sized its buffers): read the vocabulary with sdk.Vocab here. An error fails ctl_init.
type Initializer interface {
	Init(info ModelInfo) error
}

// BufferSizer is implemented by a Policy that wants bias or splice buffers of other sizes than the
// defaults (DefaultBias pairs, DefaultSplice tokens; never more than the model_info limits).
type BufferSizer interface {
	BufferSizes(info ModelInfo) (biasPairs, spliceTokens int)
}

// Default sizes of the bias and splice buffers, capped by the model_info limits.
const (
	DefaultBias   = 4096
	DefaultSplice = 4096
)

// Candidate is one record of the candidates buffer (abi.CandidateSize bytes), best first.
type Candidate struct {
	ID      int32   // token id
	Logit   float32 // its logit after mask and bias
	Logprob float32 // its log-probability over the whole vocabulary (after mask and bias, temperature 1)
}

// BiasPair is one record of the bias buffer: Value is added to token ID's logit (-Inf bans it, +Inf
// forces it).
type BiasPair struct {
	ID    int32
	Value float32
}

// Buffers are the guest-owned regions a Controller registers with buf_register: the host reads the mask,
// bias and splice buffers and writes the candidates in place. Their addresses never change.
type Buffers struct {
	Mask   []uint32    // MaskWords(NLogits) words
	Bias   []BiasPair  // the most pairs one step may give
	Splice []int32     // the most tokens one splice may add
	Cands  []Candidate // abi.MaxPickK records
}
