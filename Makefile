# Shortcuts; the README and docs/performance.md give the plain go commands they run.
.PHONY: run test bench fuzz load ci

run:   ## the echo demo server on :8999
	go run ./examples/echo/server

test:  ## the whole suite with the race detector
	go test -race -count=1 ./...

bench: ## packing, unpacking and routing benchmarks
	go test -run '^$$' -bench . -benchmem ./znet

fuzz:  ## fuzz the frame decoder for a minute
	go test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime 60s ./znet

load:  ## framework vs bare echo, 100 and 1000 connections
	go run ./tests/load -conns 100 -inflight 8 -duration 8s -runs 5 -workers 10
	go run ./tests/load -conns 1000 -inflight 4 -duration 8s -runs 5 -workers 10

ci:
	bash .ci/run
