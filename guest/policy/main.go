// Command policy is the built-in policy guest (ABI v1, embedded as internal/builtin.Policy): JSON schema,
// regex and GBNF grammar constraints, stop strings, banned words and a thinking budget, configured per request by a JSON
// object in the request's plugin config. The logic and its options are in guest/internal/policies; this command
// only wires it to the ctl_* exports (guest/sdk/policy) and the model_info, vocab, config, gbnf_mask and
// json_schema_mask imports.
package main

func main() {}
