package main

import (
	"strconv"

	"github.com/cairnlog/cairn"
)

// recordFormat appends a record's text to buf.
type recordFormat func(buf []byte, r *cairn.Record) []byte

// compileFormat turns a kcat-style format (%t %p %o %k %v %T %h %%, \n \t
// \\) into a recordFormat. Unknown directives are printed as they are.
func compileFormat(f string) recordFormat {
	var parts []recordFormat
	lit := []byte{}
	flush := func() {
		if len(lit) > 0 {
			s := lit
			parts = append(parts, func(b []byte, _ *cairn.Record) []byte { return append(b, s...) })
			lit = []byte{}
		}
	}
	for i := 0; i < len(f); i++ {
		if i+1 == len(f) || f[i] != '%' && f[i] != '\\' {
			lit = append(lit, f[i])
			continue
		}
		i++
		if esc, ok := escapes[[2]byte{f[i-1], f[i]}]; ok {
			lit = append(lit, esc...)
			continue
		}
		if d, ok := directives[f[i]]; ok && f[i-1] == '%' {
			flush()
			parts = append(parts, d)
			continue
		}
		lit = append(lit, f[i-1], f[i])
	}
	flush()
	return func(b []byte, r *cairn.Record) []byte {
		for _, p := range parts {
			b = p(b, r)
		}
		return b
	}
}

var escapes = map[[2]byte]string{
	{'%', '%'}: "%", {'\\', 'n'}: "\n", {'\\', 't'}: "\t", {'\\', '\\'}: "\\",
}

var directives = map[byte]recordFormat{
	't': func(b []byte, r *cairn.Record) []byte { return append(b, r.Topic...) },
	'p': func(b []byte, r *cairn.Record) []byte { return strconv.AppendInt(b, int64(r.Partition), 10) },
	'o': func(b []byte, r *cairn.Record) []byte { return strconv.AppendInt(b, r.Offset, 10) },
	'k': func(b []byte, r *cairn.Record) []byte { return append(b, r.Key...) },
	'v': func(b []byte, r *cairn.Record) []byte { return append(b, r.Value...) },
	'T': func(b []byte, r *cairn.Record) []byte { return strconv.AppendInt(b, r.Timestamp.UnixMilli(), 10) },
	'h': appendHeaders,
}

func appendHeaders(b []byte, r *cairn.Record) []byte {
	for i, h := range r.Headers {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(append(append(b, h.Key...), '='), h.Value...)
	}
	return b
}
