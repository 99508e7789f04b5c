package kafka_test

import (
	"errors"
	"net"
	"testing"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/cairntest"
	"github.com/cairnlog/cairn/kafka"
	"github.com/stretchr/testify/require"
)

// An advertised address clients could not use is refused by Validate and
// by Serve, which closes its listener then, as it does after Close. A
// port out of range went to clients as garbage (70000 as an int32 port)
// and Serve left the listener open.
func TestAdvertisedAddrChecked(t *testing.T) {
	for _, a := range []string{"foo", "foo:bar", "foo:0", "foo:70000", "foo:-1", ":99999", "0.0.0.0:9092", "[::]:9092", ":9092"} {
		o := kafka.Options{AdvertisedAddr: a}
		require.ErrorIs(t, o.Validate(), cairn.ErrInvalidOptions, a)

		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		srv := kafka.NewServer(cairntest.NewBroker(t), &o)
		require.ErrorIs(t, srv.Serve(ln), cairn.ErrInvalidOptions, a)
		_, err = ln.Accept()
		require.True(t, errors.Is(err, net.ErrClosed), "%s: the listener is still open: %v", a, err)
		require.NoError(t, srv.Close())
	}
	for _, a := range []string{"", "localhost:9092", "[::1]:1", "kafka.example:65535"} {
		o := kafka.Options{AdvertisedAddr: a}
		require.NoError(t, o.Validate(), a)
	}
}
