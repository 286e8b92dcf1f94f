package edge

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// pieceModel is a fakeModel that detokenizes: each id becomes its text in pieces ("?" for the others).
type pieceModel struct {
	*fakeModel
	pieces map[int32]string
}

// Detokenize joins the ids' texts.
func (p *pieceModel) Detokenize(_ context.Context, ids []int32) (string, error) {
	var b strings.Builder
	for _, id := range ids {
		t, ok := p.pieces[id]
		if !ok {
			t = "?"
		}
		b.WriteString(t)
	}
	return b.String(), nil
}

// TestTokenizeShapes checks /tokenize and /detokenize against llama-server's README: bare ids, or
// {"id","piece"} objects whose piece is a string, or its bytes when they are not valid UTF-8; BOS only
// with add_special on a model that adds one; and OpenAI-shaped errors for bad input.
func TestTokenizeShapes(t *testing.T) {
	fake := &fakeModel{info: engine.ModelInfo{AddBOS: true}}
	s := newTestServer(&pieceModel{fake, map[int32]string{1: "<s>", 7: "\xc3"}}) // 7: half of "é"
	for _, c := range []struct{ path, body, want string }{
		{"/tokenize", `{"content":"a b"}`, `{"tokens":[7,7]}`},
		{"/tokenize", `{"content":""}`, `{"tokens":[]}`},
		{"/tokenize", `{"content":"a b","add_special":true}`, `{"tokens":[1,7,7]}`},
		{"/tokenize", `{"model":"fake","content":"a","add_special":true,"with_pieces":true}`,
			`{"tokens":[{"id":1,"piece":"\u003cs\u003e"},{"id":7,"piece":[195]}]}`},
		{"/detokenize", `{"tokens":[1,7,8]}`, `{"content":"\u003cs\u003e\ufffd?"}`},
		{"/detokenize", `{"tokens":[]}`, `{"content":""}`},
		{"/detokenize", `{}`, `{"content":""}`},
	} {
		r := post(s, c.path, c.body)
		if r.status != 200 || string(r.body) != c.want {
			t.Errorf("%s %s: %d %s, want %s", c.path, c.body, r.status, r.body, c.want)
		}
	}
	// add_special prepends BOS only on a model that adds one, as llama-server does.
	plain := newTestServer(&pieceModel{&fakeModel{}, nil})
	if r := post(plain, "/tokenize", `{"content":"a","add_special":true}`); string(r.body) != `{"tokens":[7]}` {
		t.Errorf("add_special on a model without BOS: %s", r.body)
	}

	for _, c := range []struct {
		path, body   string
		status       int
		param, inMsg string
	}{
		{"/tokenize", `{}`, 400, "content", "required"},
		{"/tokenize", `{"content":["a",7]}`, 400, "content", "string"},
		{"/tokenize", `{"content":"a","with_pieces":"yes"}`, 400, "with_pieces", "boolean"},
		{"/tokenize", `{"content":"a","model":"other"}`, 404, "model", "other"},
		{"/tokenize", `[1]`, 400, "", "JSON object"},
		{"/detokenize", `{"tokens":"1 2"}`, 400, "tokens", "array"},
		{"/detokenize", `{"tokens":["a"]}`, 400, "tokens", "integer"},
		{"/detokenize", `{"tokens":[1,-1]}`, 400, "tokens", "tokens[1] = -1"},
		{"/detokenize", `{"tokens":[1000]}`, 400, "tokens", "[0, 1000)"},
		{"/detokenize", `{"tokens":[4294967296]}`, 400, "tokens", "integer"},
	} {
		e := post(s, c.path, c.body).apiErr(t, c.status)
		if param := ""; e.Param != nil {
			param = *e.Param
			if param != c.param || !strings.Contains(e.Message, c.inMsg) {
				t.Errorf("%s %s: %+v param %q", c.path, c.body, e, param)
			}
		} else if c.param != "" {
			t.Errorf("%s %s: no param in %+v", c.path, c.body, e)
		}
	}
	if e := call(s, "GET", "/tokenize", "").apiErr(t, 405); !strings.Contains(e.Message, "POST") {
		t.Errorf("GET /tokenize: %+v", e)
	}
	// A model that cannot detokenize says so, and still tokenizes.
	bare := newTestServer(&fakeModel{})
	post(bare, "/detokenize", `{"tokens":[1]}`).apiErr(t, 501)
	post(bare, "/tokenize", `{"content":"a","with_pieces":true}`).apiErr(t, 501)
	if r := post(bare, "/tokenize", `{"content":"a"}`); r.status != 200 {
		t.Errorf("tokenize on a model without Detokenize: %d %s", r.status, r.body)
	}
	// They take a tenant's key, like the other model endpoints.
	ts, _ := tenantServer(t)
	for _, path := range []string{"/tokenize", "/detokenize"} {
		if r := callAs(ts, "", "POST", path, `{"content":"a","tokens":[1]}`); r.status != 401 {
			t.Errorf("%s without a key: %d %s", path, r.status, r.body)
		}
		if r := callAs(ts, "Bearer acme-key", "POST", path, `{"content":"a","tokens":[1]}`); r.status == 401 || r.status == 403 {
			t.Errorf("%s with a tenant key: %d %s", path, r.status, r.body)
		}
	}
}

// testTokenizeRealEngine checks /tokenize and /detokenize against the engine's own tokenizer: the ids
// are Tokenize's, /detokenize gives the text back, and the pieces (strings, or bytes where a character
// spans tokens) concatenate to the text.
func testTokenizeRealEngine(t *testing.T, e *engine.Engine) {
	s := newTestServer(e)
	ctx := context.Background()
	for _, text := range []string{"Hello, world!", " héllo\n\t你好 𝄞 🦙🦙", "<|im_start|>user\nHi<|im_end|>"} {
		for _, special := range []bool{true, false} {
			want, err := e.Tokenize(ctx, text, false, special)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := json.Marshal(map[string]any{"content": text, "parse_special": special})
			var ids struct{ Tokens []int32 }
			if err := json.Unmarshal(post(s, "/tokenize", string(body)).body, &ids); err != nil || !slices.Equal(ids.Tokens, want) {
				t.Errorf("%q special %v: /tokenize %v (%v), engine %v", text, special, ids.Tokens, err, want)
			}
			body, _ = json.Marshal(map[string]any{"tokens": want})
			var detok struct{ Content string }
			if err := json.Unmarshal(post(s, "/detokenize", string(body)).body, &detok); err != nil || detok.Content != text {
				t.Errorf("%q special %v: /detokenize %q (%v)", text, special, detok.Content, err)
			}
		}
		body, _ := json.Marshal(map[string]any{"content": text, "with_pieces": true})
		var out struct {
			Tokens []struct {
				ID    int32           `json:"id"`
				Piece json.RawMessage `json:"piece"`
			} `json:"tokens"`
		}
		if err := json.Unmarshal(post(s, "/tokenize", string(body)).body, &out); err != nil {
			t.Fatal(err)
		}
		var joined []byte
		var ids []int32
		split := 0 // pieces given as bytes: each must be no valid UTF-8
		for _, tok := range out.Tokens {
			ids = append(ids, tok.ID)
			var str string
			if json.Unmarshal(tok.Piece, &str) == nil {
				joined = append(joined, str...)
				continue
			}
			b := byteArray(t, tok.Piece)
			if utf8.Valid(b) {
				t.Errorf("%q: piece %s is valid UTF-8, sent as bytes", text, tok.Piece)
			}
			joined = append(joined, b...)
			split++
		}
		if strings.Contains(text, "🦙") && split == 0 {
			t.Errorf("%q: no piece came as bytes, though 🦙 is no token of its own in Qwen2's vocabulary", text)
		}
		want, _ := e.Tokenize(ctx, text, false, true)
		if string(joined) != text || !slices.Equal(ids, want) {
			t.Errorf("%q: pieces join to %q, ids %v, want %v", text, joined, ids, want)
		}
	}
}

// byteArray decodes a piece given as an array of byte values; each must be one.
func byteArray(t *testing.T, raw json.RawMessage) []byte {
	t.Helper()
	var vals []int
	if err := json.Unmarshal(raw, &vals); err != nil {
		t.Fatalf("piece %s is neither a string nor an array of bytes", raw)
	}
	out := make([]byte, len(vals))
	for i, v := range vals {
		if v < 0 || v > 255 {
			t.Fatalf("piece %s has %d, no byte", raw, v)
		}
		out[i] = byte(v)
	}
	return out
}
