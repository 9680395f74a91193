package zconf

import (
	"io"
	"log/slog"
)

// NewLogger returns a logger with the configured level and format, writing
// to w, tagged with the server's name.
func (c Config) NewLogger(w io.Writer) *slog.Logger {
	c = c.WithDefaults() // Config{} logs as "zinxgame" at info, in text
	var level slog.Level
	switch c.LogLevel {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if c.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(h).With("server", c.Name)
}
