// Package benchmarks holds Cairn's throughput benchmarks against a peer: raw
// Pebble storing one key per record, the design Cairn's one key per batch
// replaces. It is a module of its own so that whatever the benchmarks pull in
// never reaches Cairn's users.
//
// # Usage
//
// Run from this directory (the README quotes measured figures):
//
//	go test -run '^$' -bench . -benchtime 4x -count 5 -timeout 30m
//
// Each benchmark runs Cairn and the peer in the same process, interleaved,
// and reports Cairn's rate as records/s, the peer's as pebble-records/s and
// their ratio as x-vs-pebble-per-record. Add -peer-defaults to give the peer
// Pebble's default options instead of Cairn's.
package benchmarks
