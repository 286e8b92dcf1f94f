// gbnf oracle: llama.cpp's own grammar code judges strings (guest/constraint/testdata/gbnf/README.md).
// usage: oracle GRAMMAR_FILE < strings (one per line, hex-encoded bytes) > verdicts (1 accepted, 0 not; "E" if the grammar fails)
#include "llama-grammar.h"
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
int main(int argc, char ** argv) {
    std::ifstream f(argv[1]);
    std::stringstream ss; ss << f.rdbuf();
    std::string src = ss.str();
    llama_grammar * g = llama_grammar_init_impl(nullptr, src.c_str(), "root", false, nullptr, 0, nullptr, 0);
    if (!g) { printf("E\n"); return 0; }
    std::string line;
    while (std::getline(std::cin, line)) {
        std::string s;
        for (size_t i = 0; i + 1 < line.size(); i += 2) s.push_back((char) std::stoi(line.substr(i, 2), nullptr, 16));
        llama_grammar * c = llama_grammar_clone_impl(*g);
        bool ok = true;
        try { llama_grammar_accept_str(*c, s); } catch (...) { ok = false; }
        bool acc = false;
        if (ok && c->partial_utf8.n_remain == 0) for (auto & st : c->stacks) if (st.empty()) acc = true;
        printf("%d\n", acc ? 1 : 0);
        llama_grammar_free_impl(c);
    }
}
