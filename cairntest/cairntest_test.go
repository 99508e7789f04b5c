package cairntest_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/cairntest"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ctx = context.Background()

func TestNewBroker(t *testing.T) {
	var b *cairn.Broker
	t.Run("use", func(t *testing.T) {
		b = cairntest.NewBroker(t, cairntest.Options{Topics: map[string]int{"orders": 2}})
		info, err := b.DescribeTopic(ctx, "orders")
		require.NoError(t, err)
		require.Len(t, info.Partitions, 2)
		off, err := b.Append(ctx, "orders", 1, cairn.Record{Value: []byte("v")})
		require.NoError(t, err)
		require.Zero(t, off)
	})
	_, err := b.Topics(ctx)
	require.ErrorIs(t, err, cairn.ErrClosed, "the subtest's cleanup closes the broker")
}

func TestNewBrokersAreSeparate(t *testing.T) {
	a, b := cairntest.NewBroker(t), cairntest.NewBroker(t)
	require.NoError(t, a.CreateTopic(ctx, "t", 1, nil))
	names, err := b.Topics(ctx)
	require.NoError(t, err)
	require.Empty(t, names)
}

func TestNewKafka(t *testing.T) {
	var k *cairntest.Kafka
	t.Run("use", func(t *testing.T) {
		k = cairntest.NewKafka(t)
		host, _, err := net.SplitHostPort(k.Addr)
		require.NoError(t, err)
		require.Equal(t, "127.0.0.1", host)
		c, err := net.DialTimeout("tcp", k.Addr, 5*time.Second)
		require.NoError(t, err)
		require.NoError(t, c.Close())
		require.NoError(t, k.Broker.CreateTopic(ctx, "t", 1, nil))
	})
	_, err := net.DialTimeout("tcp", k.Addr, 5*time.Second)
	require.Error(t, err, "the listener is closed after the test")
	_, err = k.Broker.Topics(ctx)
	require.ErrorIs(t, err, cairn.ErrClosed)
	require.NoError(t, k.Close(), "Close again returns the first result")
}

func TestNewKafkaClosesClientConnections(t *testing.T) {
	var c net.Conn
	t.Run("use", func(t *testing.T) {
		k := cairntest.NewKafka(t)
		var err error
		c, err = net.DialTimeout("tcp", k.Addr, 5*time.Second)
		require.NoError(t, err)
	})
	defer c.Close()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err := c.Read(make([]byte, 1))
	require.Error(t, err, "a connection still open at the end is closed by the server")
}
