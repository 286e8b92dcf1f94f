// Command loadgen is a streaming load generator for OpenAI-compatible completion servers (wasmoe serve,
// llama.cpp's llama-server). N workers send M streaming POST /v1/completions requests in all, each with a
// slightly different prompt of about P tokens, and loadgen prints one JSON line: throughput (generated tokens
// per wall second), time to first token and inter-token latency percentiles.
//
//	loadgen -url http://127.0.0.1:8080 -clients 8 -requests 16 -prompt-tokens 64 -max-tokens 32 -label wasmoe
//
// With -summary it reads such JSON lines instead and prints a table comparing one label with the best of
// others (see summary.go). Only loopback servers are allowed as targets.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// maxLineBytes bounds one SSE line; a longer one is an error, not an unbounded buffer.
const maxLineBytes = 1 << 20

func main() {
	var cfg config
	flag.StringVar(&cfg.baseURL, "url", "http://127.0.0.1:8080", "server base URL (loopback only)")
	flag.StringVar(&cfg.model, "model", "", "model name to send (default: the first one /v1/models lists)")
	flag.IntVar(&cfg.clients, "clients", 1, "concurrent workers")
	flag.IntVar(&cfg.requests, "requests", 0, "total requests (default: max(2 × clients, 4))")
	flag.IntVar(&cfg.promptTokens, "prompt-tokens", 64, "rough prompt length in tokens")
	flag.IntVar(&cfg.maxTokens, "max-tokens", 32, "tokens to generate per request (sent with ignore_eos)")
	flag.DurationVar(&cfg.timeout, "timeout", 5*time.Minute, "limit on each request, including its whole stream")
	flag.StringVar(&cfg.label, "label", "", "label copied into the JSON line")
	flag.IntVar(&cfg.round, "round", 0, "round number copied into the JSON line")
	utf8Only := flag.String("utf8-only", "", "a GGUF file: ban its tokens that are not valid UTF-8 alone, so outputs are valid UTF-8 (see vocab.go)")
	summaryFile := flag.String("summary", "", "summarize this file of JSON lines instead of generating load")
	ours := flag.String("ours", "wasmoe", "with -summary: the label to compare")
	theirs := flag.String("theirs", "", "with -summary: comma-separated labels to compare with; the best one per client count is used")
	flag.Parse()
	if *summaryFile != "" {
		if err := summarize(os.Stdout, *summaryFile, *ours, strings.Split(*theirs, ",")); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		return
	}
	if *utf8Only != "" {
		var err error
		if cfg.logitBias, err = invalidUTF8Bias(*utf8Only); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
	}
	res, err := run(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	line, err := json.Marshal(res)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	fmt.Println(string(line))
}

// config is one load run's settings.
type config struct {
	baseURL      string
	model        string
	clients      int
	requests     int
	promptTokens int
	maxTokens    int
	timeout      time.Duration
	label        string
	round        int
	logitBias    map[string]float64 // sent with every request; nil sends none
}

// Result is the JSON line a run prints. Latencies are in milliseconds and cover the requests that succeeded.
type Result struct {
	Label           string  `json:"label"`
	Round           int     `json:"round"`
	Clients         int     `json:"clients"`
	Requests        int     `json:"requests"`
	Errors          int     `json:"errors"`
	WallSeconds     float64 `json:"wall_s"`
	PromptTokens    int     `json:"prompt_tokens"` // total, from the usage chunks (0 where no server sent one)
	GeneratedTokens int     `json:"generated_tokens"`
	GenTokPerSec    float64 `json:"gen_tok_s"` // generated tokens of all requests / wall seconds
	TTFTp50         float64 `json:"ttft_p50_ms"`
	TTFTp99         float64 `json:"ttft_p99_ms"`
	ITLp50          float64 `json:"itl_p50_ms"`
	ITLp99          float64 `json:"itl_p99_ms"`
	FirstError      string  `json:"first_error,omitempty"`
}

// outcome is what one request measured.
type outcome struct {
	err          error
	ttft         time.Duration
	gaps         []time.Duration // between consecutive chunks with text
	generated    int
	promptTokens int
}

// run checks the configuration, sends the requests from cfg.clients workers and aggregates the outcomes.
func run(cfg config) (*Result, error) {
	if cfg.clients < 1 || cfg.promptTokens < 1 || cfg.maxTokens < 1 || cfg.timeout <= 0 {
		return nil, errors.New("-clients, -prompt-tokens, -max-tokens and -timeout must be positive")
	}
	if cfg.requests <= 0 {
		cfg.requests = max(2*cfg.clients, 4)
	}
	base, err := loopbackURL(cfg.baseURL)
	if err != nil {
		return nil, err
	}
	client := newLoopbackClient()
	if cfg.model == "" {
		if cfg.model, err = firstModel(client, base, cfg.timeout); err != nil {
			return nil, err
		}
	}
	endpoint := base + "/v1/completions"

	jobs := make(chan int, cfg.requests)
	for i := range cfg.requests {
		jobs <- i
	}
	close(jobs)
	outcomes := make([]outcome, cfg.requests)
	start := time.Now()
	var wg sync.WaitGroup
	for range min(cfg.clients, cfg.requests) {
		wg.Go(func() {
			for i := range jobs {
				outcomes[i] = stream(client, endpoint, cfg, i)
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)

	res := &Result{Label: cfg.label, Round: cfg.round, Clients: cfg.clients, Requests: cfg.requests,
		WallSeconds: round3(wall.Seconds())}
	var ttfts, gaps []time.Duration
	for _, o := range outcomes {
		if o.err != nil {
			res.Errors++
			if res.FirstError == "" {
				res.FirstError = o.err.Error()
			}
			continue
		}
		res.GeneratedTokens += o.generated
		res.PromptTokens += o.promptTokens
		ttfts = append(ttfts, o.ttft)
		gaps = append(gaps, o.gaps...)
	}
	res.GenTokPerSec = round3(float64(res.GeneratedTokens) / wall.Seconds())
	res.TTFTp50, res.TTFTp99 = percentileMS(ttfts, 50), percentileMS(ttfts, 99)
	res.ITLp50, res.ITLp99 = percentileMS(gaps, 50), percentileMS(gaps, 99)
	return res, nil
}

// loopbackURL checks that raw is an http URL of a loopback host and returns it without a trailing slash.
func loopbackURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("-url: %w", err)
	}
	if u.Scheme != "http" {
		return "", fmt.Errorf("-url %q: only http:// is supported", raw)
	}
	switch u.Hostname() {
	case "127.0.0.1", "localhost", "::1":
	default:
		return "", fmt.Errorf("-url %q: only loopback hosts (127.0.0.1, localhost, [::1]) are allowed", raw)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// newLoopbackClient returns an HTTP client that connects only to loopback addresses (checked after name
// resolution), uses no proxy and follows no redirects.
func newLoopbackClient() *http.Client {
	dialer := &net.Dialer{
		Timeout: 10 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				return fmt.Errorf("refusing to connect to non-loopback address %s", address)
			}
			return nil
		},
	}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:       nil,
			DialContext: dialer.DialContext,
			// A new connection per request: a server may close an idle keep-alive connection just as a
			// POST is sent on it (llama-server did), and a POST is not retried. On loopback it costs µs.
			DisableKeepAlives:  true,
			DisableCompression: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// firstModel asks GET /v1/models for the first model's id.
func firstModel(client *http.Client, base string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/models", nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET /v1/models: %w", err)
	}
	defer resp.Body.Close()
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxLineBytes)).Decode(&list); err != nil {
		return "", fmt.Errorf("GET /v1/models: %s: %w", resp.Status, err)
	}
	if len(list.Data) == 0 || list.Data[0].ID == "" {
		return "", errors.New("GET /v1/models lists no model; pass -model")
	}
	return list.Data[0].ID, nil
}

// completionRequest is the body of every request.
type completionRequest struct {
	Model         string  `json:"model"`
	Prompt        string  `json:"prompt"`
	MaxTokens     int     `json:"max_tokens"`
	Temperature   float64 `json:"temperature"`
	IgnoreEOS     bool    `json:"ignore_eos"`
	Stream        bool    `json:"stream"`
	StreamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	CachePrompt bool               `json:"cache_prompt"`
	LogitBias   map[string]float64 `json:"logit_bias,omitempty"`
}

// chunk is the part of a streamed completion chunk (or error event) that loadgen reads.
type chunk struct {
	Choices []struct {
		Text string `json:"text"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	Error json.RawMessage `json:"error"`
}

// stream sends request i and reads its event stream to the end, timing the chunks that carry text.
func stream(client *http.Client, endpoint string, cfg config, i int) outcome {
	body := completionRequest{Model: cfg.model, Prompt: buildPrompt(i, cfg.promptTokens), MaxTokens: cfg.maxTokens,
		IgnoreEOS: true, Stream: true, LogitBias: cfg.logitBias}
	body.StreamOptions.IncludeUsage = true
	payload, err := json.Marshal(body)
	if err != nil {
		return outcome{err: err}
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(payload))
	if err != nil {
		return outcome{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	sent := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return outcome{err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return outcome{err: fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))}
	}

	var o outcome
	var last time.Time
	textChunks, usageTokens := 0, -1
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), maxLineBytes)
	for sc.Scan() { // bounded by the server closing the stream, or by the request's timeout
		data, ok := strings.CutPrefix(sc.Text(), "data:")
		if !ok {
			continue // comments, event names, blank separators
		}
		data = strings.TrimSpace(data)
		if data == "[DONE]" {
			break
		}
		var c chunk
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			return outcome{err: fmt.Errorf("bad chunk %.80q: %w", data, err)}
		}
		if len(c.Error) > 0 && string(c.Error) != "null" {
			return outcome{err: fmt.Errorf("stream error: %.200s", c.Error)}
		}
		if c.Usage != nil {
			usageTokens, o.promptTokens = c.Usage.CompletionTokens, c.Usage.PromptTokens
		}
		if len(c.Choices) == 0 || c.Choices[0].Text == "" {
			continue
		}
		now := time.Now()
		if textChunks == 0 {
			o.ttft = now.Sub(sent)
		} else {
			o.gaps = append(o.gaps, now.Sub(last))
		}
		last = now
		textChunks++
	}
	if err := sc.Err(); err != nil {
		return outcome{err: err}
	}
	if textChunks == 0 {
		return outcome{err: errors.New("the stream carried no text")}
	}
	o.generated = textChunks
	if usageTokens >= 0 {
		o.generated = usageTokens
	}
	return o
}

// words is the vocabulary prompts are drawn from: common English words, most of them one token in BPE
// vocabularies, so a prompt of n words is roughly n tokens.
var words = strings.Fields(`the of and to in is was for on that with as by at from it his an were are which be this
has had not have or their one but they its new all after first two been who other when there more time
year she into only than most over some between during three would under world city used known state river
water house music school people team game war life film book part since about many while then early high
small large family church place life light north south east west long area group number word power line
order country history name before each later found great work series season left based form village body
main county national back still well second public system field death began often called early local land
under march april june july river mountain island road station album song band party court army law`)

// buildPrompt returns request i's prompt: its number first, so no two requests share a prefix past a token or
// two, then pseudo-random words (seeded by i, so runs repeat) up to about n tokens.
func buildPrompt(i, n int) string {
	rng := rand.New(rand.NewPCG(uint64(i)+1, 0x5eed))
	var b strings.Builder
	fmt.Fprintf(&b, "Request %d:", i)
	for range max(n-4, 1) {
		b.WriteByte(' ')
		b.WriteString(words[rng.IntN(len(words))])
	}
	return b.String()
}

// percentileMS is the p-th percentile (nearest rank) of ds in milliseconds; 0 for none.
func percentileMS(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(a, b int) bool { return s[a] < s[b] })
	k := min(max(int(math.Ceil(p/100*float64(len(s))))-1, 0), len(s)-1)
	return round3(float64(s[k]) / float64(time.Millisecond))
}

// round3 rounds x to three decimals for a readable JSON line.
func round3(x float64) float64 {
	return float64(int64(x*1000+0.5)) / 1000
}
