package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
)

// A client configured with SASL against a listener without it fails at
// once with ILLEGAL_SASL_STATE, as against Kafka's PLAINTEXT listener,
// not with EOF (a retriable connection error).
func TestSASLClientFailsClearly(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	cl := client(t, addr, kgo.SASL(plain.Auth{User: "u", Pass: "p"}.AsMechanism()))
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := kmsg.NewPtrMetadataRequest().RequestWith(c, cl)
	// Before: franz-go, not seeing SaslHandshake advertised, sent its
	// credentials unframed, read EOF and retried until the deadline.
	require.ErrorIs(t, err, kerr.IllegalSaslState)
}
