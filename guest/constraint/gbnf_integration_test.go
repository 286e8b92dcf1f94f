package constraint

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"
)

// TestGBNFLlamaIntegrationFile runs every case of llama.cpp's tests/test-grammar-integration.cpp at
// commit 80fb11ac73e66d89eae2c6a91d8a77428fa733ed that has no token references
// (testdata/gbnf/integration.jsonl; its JSON-schema cases as the grammars llama.cpp made of them).
func TestGBNFLlamaIntegrationFile(t *testing.T) {
	f, err := os.Open("testdata/gbnf/integration.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		var c struct {
			Name, Grammar string
			Pass, Fail    []string
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		n++
		checkGBNF(t, c.Name, c.Grammar, c.Pass, c.Fail)
	}
	if n < 45 {
		t.Errorf("only %d cases", n)
	}
}
