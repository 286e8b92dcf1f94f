package hub

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// defaultQuants are tried in order when a reference names no quantization, as llama.cpp's -hf does
// (common/download.cpp, find_best_model); then the first GGUF model file.
var defaultQuants = []string{"Q4_K_M", "Q8_0"}

// Choice is what a reference pulls from a repository: the files, and the one to give --model.
type Choice struct {
	Files []File
	Main  string // the first GGUF part, or "" for a Hugging Face directory (its root)
	Quant string // the GGUF's quantization tag (from its name), or "hf"
}

// splitName matches a split GGUF's name without ".gguf": PREFIX-00001-of-00003, as llama-gguf-split names
// the parts.
var splitName = regexp.MustCompile(`(?i)^(.+)-([0-9]{5})-of-([0-9]{5})$`)

// quantTag matches the tag at the end of a GGUF's name (without .gguf and split suffix): -Q4_K_M, .BF16.
var quantTag = regexp.MustCompile(`(?i)[-.]([A-Z0-9_]+)$`)

// ggufName is a GGUF file name's parts: prefix (split suffix removed), tag, and split index and count (1,
// 1 for a whole file).
type ggufName struct {
	prefix       string
	tag          string
	index, count int
}

// parseGGUFName reads p's name as llama.cpp's get_gguf_split_info does; ok is false for a non-GGUF.
func parseGGUFName(p string) (g ggufName, ok bool) {
	prefix, ok := strings.CutSuffix(p, ".gguf")
	if !ok {
		return g, false
	}
	g = ggufName{prefix: prefix, index: 1, count: 1}
	if m := splitName.FindStringSubmatch(prefix); m != nil {
		g.prefix = m[1]
		g.index, _ = strconv.Atoi(m[2])
		g.count, _ = strconv.Atoi(m[3])
	}
	if m := quantTag.FindStringSubmatch(g.prefix); m != nil {
		g.tag = strings.ToUpper(m[1])
	}
	return g, true
}

// isModelGGUF reports whether p is a model's GGUF, not a projector, importance matrix or draft head
// (llama.cpp's gguf_filename_is_model).
func isModelGGUF(p string) bool {
	if !strings.HasSuffix(p, ".gguf") {
		return false
	}
	name := path.Base(p)
	for _, not := range []string{"mmproj", "imatrix", "mtp-", "eagle3-", "dflash-", "dspark-"} {
		if strings.Contains(name, not) {
			return false
		}
	}
	return true
}

// hasTag reports whether p contains tag followed by '.' or '-', ignoring case (llama.cpp matches the
// regex TAG[.-]).
func hasTag(p, tag string) bool {
	p, tag = strings.ToUpper(p), strings.ToUpper(tag)
	for i := 0; ; {
		j := strings.Index(p[i:], tag)
		if j < 0 {
			return false
		}
		if k := i + j + len(tag); k < len(p) && (p[k] == '.' || p[k] == '-') {
			return true
		}
		i += j + 1
	}
}

// Choose picks what to download of a repository's files for quant ("" for the default): the GGUF whose
// name holds the tag, with every part of a split one; or, in a repository without GGUF models, the
// Hugging Face directory (config.json, the tokenizer's files, *.safetensors and their index).
func Choose(repo string, files []File, quant string) (*Choice, error) {
	first, ok := chooseGGUF(files, quant)
	if ok {
		return ggufChoice(repo, files, first)
	}
	if quants := availableQuants(files); len(quants) > 0 || quant != "" {
		if len(quants) == 0 {
			return nil, fmt.Errorf("repository %s has no GGUF files (it is a Hugging Face directory): pull it without :%s", repo, quant)
		}
		return nil, fmt.Errorf("repository %s has no GGUF file for quantization %q; available: %s", repo, quant,
			strings.Join(quants, ", "))
	}
	return hfChoice(repo, files)
}

// chooseGGUF is llama.cpp's find_best_model: the first model GGUF (or a split's first part) holding the
// tag, or holding a default tag; without a tag, the first model GGUF as the last resort.
func chooseGGUF(files []File, quant string) (File, bool) {
	tags := defaultQuants
	if quant != "" {
		tags = []string{quant}
	}
	firstPart := func(f File) bool {
		g, ok := parseGGUFName(f.Path)
		return ok && isModelGGUF(f.Path) && (g.count <= 1 || g.index == 1)
	}
	for _, t := range tags {
		for _, f := range files {
			if firstPart(f) && hasTag(f.Path, t) {
				return f, true
			}
		}
	}
	if quant == "" {
		for _, f := range files {
			if firstPart(f) {
				return f, true
			}
		}
	}
	return File{}, false
}

// ggufChoice is first with its split's other parts, all of which the repository must hold.
func ggufChoice(repo string, files []File, first File) (*Choice, error) {
	g, _ := parseGGUFName(first.Path)
	c := &Choice{Main: first.Path, Quant: g.tag}
	if g.count <= 1 {
		c.Files = []File{first}
		return c, nil
	}
	for i := 1; i <= g.count; i++ {
		want := fmt.Sprintf("%s-%05d-of-%05d.gguf", g.prefix, i, g.count)
		j := slices.IndexFunc(files, func(f File) bool { return f.Path == want })
		if j < 0 {
			return nil, fmt.Errorf("repository %s: split GGUF %s lacks part %d of %d (%s)", repo, first.Path, i, g.count, want)
		}
		c.Files = append(c.Files, files[j])
	}
	return c, nil
}

// availableQuants lists the tags of the repository's model GGUFs, sorted, once each.
func availableQuants(files []File) []string {
	var tags []string
	for _, f := range files {
		if g, ok := parseGGUFName(f.Path); ok && isModelGGUF(f.Path) && g.tag != "" && !slices.Contains(tags, g.tag) {
			tags = append(tags, g.tag)
		}
	}
	slices.Sort(tags)
	return tags
}

// hfFiles are the names, at a repository's root, of a Hugging Face directory's files besides the weights.
var hfFiles = []string{"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
	"special_tokens_map.json", "tokenizer.model", "vocab.json", "merges.txt", "chat_template.jinja",
	"model.safetensors.index.json"}

// hfChoice is a Hugging Face directory's files at the repository's root, small ones first (so that a
// directory whose weights are all present is complete): config.json and the weights are required.
func hfChoice(repo string, files []File) (*Choice, error) {
	c := &Choice{Quant: "hf"}
	var weights []File
	for _, f := range files {
		switch {
		case strings.Contains(f.Path, "/"):
		case slices.Contains(hfFiles, f.Path):
			c.Files = append(c.Files, f)
		case strings.HasSuffix(f.Path, ".safetensors"):
			weights = append(weights, f)
		}
	}
	if !slices.ContainsFunc(c.Files, func(f File) bool { return f.Path == "config.json" }) || len(weights) == 0 {
		var names []string
		for _, f := range files {
			names = append(names, f.Path)
		}
		return nil, fmt.Errorf("repository %s holds neither GGUF files nor a Hugging Face model (config.json and *.safetensors); its files: %s",
			repo, strings.Join(names, ", "))
	}
	c.Files = append(c.Files, weights...)
	return c, nil
}
