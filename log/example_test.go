package log_test

import (
	"fmt"
	"time"

	"github.com/cairnlog/cairn/log"
)

func ExampleEncode() {
	raw, err := log.Encode(nil, []log.Record{{Key: []byte("k"), Value: []byte("v")}}, log.Zstd, nil, time.Now())
	if err != nil {
		panic(err)
	}
	b, err := log.Parse(raw) // header, length and CRC
	if err != nil {
		panic(err)
	}
	recs, err := b.Records(nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(b.Codec(), len(recs), string(recs[0].Key), string(recs[0].Value))
	// Output: zstd 1 k v
}

func ExampleBuilder() {
	var bl log.Builder
	now := time.UnixMilli(1_700_000_000_000)
	for i := range 3 {
		if err := bl.Add(&log.Record{Value: fmt.Appendf(nil, "event %d", i)}, now); err != nil {
			panic(err)
		}
	}
	b, err := bl.Finish(log.None, nil) // shares bl's buffer until the next Add, Reset or Finish
	if err != nil {
		panic(err)
	}
	fmt.Println(b.NumRecords(), b.Validate()) // checked as it was built
	recs, _ := b.Records(nil)
	fmt.Println(string(recs[2].Value), recs[2].Timestamp.Equal(now))
	bl.Reset() // the buffer is reused for the next batch
	// Output:
	// 3 <nil>
	// event 2 true
}
