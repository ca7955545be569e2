// Command unistore-server runs TiDB's unistore (a Go implementation of the
// TiKV gRPC KV API) as a single store process registered with a real PD.
//
// It is the store half of kube-acs' TiKV-protocol test cluster (see
// e2e/README.md): one pd-server plus this process give the TiKV backend a
// real PD and a store speaking the TiKV wire protocol.
//
//	unistore-server --pd 127.0.0.1:2379 --addr 127.0.0.1:20160 --data-dir /tmp/store
//
// On first start the store allocates its ids from PD, bootstraps the cluster
// and saves its store meta in the data dir; later starts with the same data
// dir reload it and re-register the (possibly new) address with PD.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	deadlockpb "github.com/pingcap/kvproto/pkg/deadlock"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	"github.com/pingcap/tidb/pkg/store/mockstore/unistore/config"
	"github.com/pingcap/tidb/pkg/store/mockstore/unistore/pd"
	"github.com/pingcap/tidb/pkg/store/mockstore/unistore/server"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

func main() {
	pdAddrs := flag.String("pd", "127.0.0.1:2379", "comma-separated PD client addresses (host:port or URLs)")
	addr := flag.String("addr", "127.0.0.1:20160", "gRPC listen address, also advertised to PD")
	dataDir := flag.String("data-dir", "", "directory for the store's data (required)")
	flag.Parse()

	if *dataDir == "" {
		fatalf("--data-dir is required")
	}
	var addrs []string
	for _, a := range strings.Split(*pdAddrs, ",") {
		if a = strings.TrimSpace(a); a != "" {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		fatalf("--pd needs at least one address")
	}
	if err := os.MkdirAll(*dataDir, 0o755); err != nil {
		fatalf("create data dir: %v", err)
	}

	// Copy the defaults: DefaultConf is a package-level value.
	conf := config.DefaultConf
	conf.Engine.Compression = append([]string(nil), config.DefaultConf.Engine.Compression...)
	conf.Server.Raft = false
	conf.Server.PDAddr = strings.Join(addrs, ",")
	conf.Server.StoreAddr = *addr
	conf.Engine.DBPath = *dataDir

	pdClient, err := pd.NewClient(addrs, "unistore-server")
	if err != nil {
		fatalf("connect to PD %v: %v", addrs, err)
	}
	// server.New bootstraps the cluster (first start) or reloads the store
	// meta from the data dir, then puts the store into PD.
	svr, err := server.New(&conf, pdClient)
	if err != nil {
		fatalf("create unistore server: %v", err)
	}

	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		fatalf("listen on %s: %v", *addr, err)
	}
	grpcServer := grpc.NewServer(
		grpc.MaxRecvMsgSize(64*1024*1024),
		grpc.MaxSendMsgSize(64*1024*1024),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             5 * time.Second,
			PermitWithoutStream: true,
		}),
	)
	tikvpb.RegisterTikvServer(grpcServer, svr)
	deadlockpb.RegisterDeadlockServer(grpcServer, svr)

	serveErr := make(chan error, 1)
	go func() { serveErr <- grpcServer.Serve(lis) }()
	fmt.Printf("unistore-server: serving TiKV gRPC on %s (pd %s, data %s)\n", *addr, conf.Server.PDAddr, *dataDir)

	// PD lists a store as Down until its first heartbeat, which unistore
	// only sends after 3 s: send one now that the store serves, so that
	// "Up in PD" means "ready" right away.
	if storeID, err := svr.GetStoreIDByAddr(*addr); err != nil {
		fmt.Fprintf(os.Stderr, "unistore-server: no store id: %v\n", err)
	} else if err := pdClient.StoreHeartbeat(context.Background(), &pdpb.StoreStats{
		StoreId:   storeID,
		Capacity:  2048 * 1024 * 1024,
		Available: 1024 * 1024 * 1024,
	}); err != nil {
		fmt.Fprintf(os.Stderr, "unistore-server: first store heartbeat failed: %v\n", err)
	} else {
		fmt.Printf("unistore-server: store %d registered with PD\n", storeID)
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	exitCode := 0
	select {
	case sig := <-sigs:
		fmt.Printf("unistore-server: got %v, stopping\n", sig)
	case err := <-serveErr:
		fmt.Fprintf(os.Stderr, "unistore-server: gRPC server failed: %v\n", err)
		exitCode = 1
	}

	// Stop accepting requests (graceful for up to 3 s), then close the store
	// so badger flushes and releases its directory lock.
	done := make(chan struct{})
	go func() { grpcServer.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		grpcServer.Stop()
	}
	svr.Stop()
	pdClient.Close()
	fmt.Println("unistore-server: stopped")
	os.Exit(exitCode)
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "unistore-server: "+format+"\n", args...)
	os.Exit(1)
}
