// Package deploy holds what an operator deploys zinxgame with: the
// container image (Dockerfile), the compose stack, Prometheus's scrape
// configuration and alert rules, Grafana's dashboards, the Kubernetes
// manifests and the load scenarios' thresholds. It has no code of its own:
// its tests check each artifact without a Docker engine or a cluster, by
// loading it the way its consumer would (the servers' strict config
// loading, promtool, the Kubernetes API types) and against a live server's
// metrics, so an artifact cannot drift from the code it deploys.
package deploy
