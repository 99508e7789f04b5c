package kafka_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/cairnlog/cairn/cairntest"
	"github.com/cairnlog/cairn/kafka"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A server on two listeners tells each one's clients its own address, as
// Kafka advertises each listener's endpoint. The address of the listener
// served last went to every client: once it closed, clients of the other
// could not produce.
func TestEachListenerAdvertisesItself(t *testing.T) {
	b := cairntest.NewBroker(t)
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	s := kafka.NewServer(b, nil)
	var lns []net.Listener
	var dones []chan error
	metadataBroker := func(addr string) int32 {
		r := dialRaw(t, addr)
		req := kmsg.NewPtrMetadataRequest()
		req.SetVersion(9)
		resp := kmsg.NewPtrMetadataResponse()
		resp.SetVersion(9)
		r.roundTrip(req, resp, true)
		require.Len(t, resp.Brokers, 1)
		return resp.Brokers[0].Port
	}
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		done := make(chan error, 1)
		go func() { done <- s.Serve(ln) }()
		metadataBroker(ln.Addr().String()) // served: its Serve has begun
		lns, dones = append(lns, ln), append(dones, done)
	}
	t.Cleanup(func() {
		require.NoError(t, s.Close())
		require.NoError(t, <-dones[0])
	})
	for _, ln := range lns {
		require.Equal(t, int32(ln.Addr().(*net.TCPAddr).Port), metadataBroker(ln.Addr().String()))
	}

	lns[1].Close()
	require.Error(t, <-dones[1])
	cl := client(t, lns[0].Addr().String())
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	require.NoError(t, cl.ProduceSync(c, &kgo.Record{Topic: "t", Value: []byte("v")}).FirstErr())
}

// A listener on every interface advertises the address each client
// reached, and Validate refuses a wildcard AdvertisedAddr, as Kafka
// refuses 0.0.0.0 in advertised.listeners: a client on another host was
// told 0.0.0.0 (or ::) and dialled itself.
func TestWildcardNotAdvertised(t *testing.T) {
	for _, a := range []string{"0.0.0.0:9092", "[::]:9092", ":9092"} {
		o := kafka.Options{AdvertisedAddr: a}
		require.Error(t, o.Validate(), a)
	}
	b := cairntest.NewBroker(t)
	ln, err := net.Listen("tcp4", "0.0.0.0:0")
	require.NoError(t, err)
	s := kafka.NewServer(b, nil)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		require.NoError(t, s.Close())
		require.NoError(t, <-done)
	})
	port := ln.Addr().(*net.TCPAddr).Port
	r := dialRaw(t, net.JoinHostPort("127.0.0.1", fmt.Sprint(port)))
	req := kmsg.NewPtrMetadataRequest()
	req.SetVersion(9)
	resp := kmsg.NewPtrMetadataResponse()
	resp.SetVersion(9)
	r.roundTrip(req, resp, true)
	require.Len(t, resp.Brokers, 1)
	require.Equal(t, "127.0.0.1", resp.Brokers[0].Host)
	require.Equal(t, int32(port), resp.Brokers[0].Port)
}
