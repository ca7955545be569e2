//go:build tools

// Package tools records that this wrapper module exists to build
// github.com/tikv/pd/cmd/pd-server (see ../build.sh, which runs
// `go build -tags without_dashboard github.com/tikv/pd/cmd/pd-server` inside
// this module); the blank import keeps `go mod` from dropping the requirement.
package tools

import _ "github.com/tikv/pd/cmd/pd-server"
