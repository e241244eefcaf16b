//go:build tools

// Package tools pins etcdctl beside the server.
package tools

import _ "go.etcd.io/etcd/etcdctl/v3"
